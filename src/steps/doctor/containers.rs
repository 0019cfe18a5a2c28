//! Every service's container: running, healthy, how often restarted, killed for memory. A
//! container that keeps restarting is named a restart loop (the SOP's "不斷重啟") and shown
//! with its last log lines, read for the known causes (`engine::diagnose`).

use std::time::{Duration, SystemTime};

use futures_util::future::join_all;

use super::{Containers, Context, Finding};
use crate::engine::diagnose::diagnose;
use crate::engine::spec::container_name;
use crate::engine::{Container, Engine, EngineResult, Health, State};
use crate::i18n::Msg;

/// The listing of the project's containers itself failed.
pub const LIST: &str = "containers.list";
/// Log lines shown with a container that fails.
const LOG_LINES: usize = 12;
/// Restarts by the restart policy within this long of the last start: a loop.
const LOOP_WINDOW: Duration = Duration::from_secs(180);
const LOOP_RESTARTS: i64 = 3;

pub fn id(service: &str) -> String {
    format!("container.{service}.running")
}

/// Each service's container, inspected (restart count, OOM, health).
pub async fn inspect(engine: &dyn Engine, ctx: &Context) -> EngineResult<Containers> {
    let existing = engine.containers(Some(&ctx.stack.project)).await?;
    let looks = ctx.stack.services.iter().map(|s| {
        let found = existing
            .iter()
            .find(|c| c.service() == Some(s.name) && c.name == container_name(&ctx.stack.project, s.name))
            .or_else(|| existing.iter().find(|c| c.service() == Some(s.name)));
        async move {
            let detail = match found {
                Some(c) => engine.inspect_container(&c.id).await?,
                None => None,
            };
            Ok((s.name.to_string(), detail))
        }
    });
    let by_service = join_all(looks).await.into_iter().collect::<EngineResult<Vec<_>>>()?;
    Ok(Containers { by_service })
}

/// What a container's state comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    Missing,
    Stopped {
        exit_code: Option<i64>,
        oom: bool,
    },
    Paused,
    RestartLoop {
        restarts: i64,
    },
    Unhealthy,
    Starting,
    /// Runs and is healthy, but the restart policy restarted it before (or memory ran out).
    RestartedBefore {
        restarts: i64,
        oom: bool,
    },
    Healthy {
        has_healthcheck: bool,
    },
}

impl Condition {
    fn needs_logs(&self) -> bool {
        matches!(
            self,
            Condition::Stopped { .. }
                | Condition::RestartLoop { .. }
                | Condition::Unhealthy
                | Condition::RestartedBefore { .. }
        )
    }
}

/// Seconds since 1970 of an RFC 3339 time as the engine writes it.
fn unix_time(s: &str) -> Option<i64> {
    let t = humantime::parse_rfc3339_weak(s.trim()).ok()?;
    Some(t.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_secs() as i64)
}

/// The condition of a container, at `now` (seconds since 1970).
pub fn condition(c: Option<&Container>, now: i64) -> Condition {
    let Some(c) = c else {
        return Condition::Missing;
    };
    let recent_start = c
        .started_at
        .as_deref()
        .and_then(unix_time)
        .is_some_and(|t| now - t < LOOP_WINDOW.as_secs() as i64);
    match c.state {
        State::Restarting => Condition::RestartLoop {
            restarts: c.restart_count,
        },
        State::Running if c.restart_count >= LOOP_RESTARTS && recent_start && c.health != Health::Healthy => {
            Condition::RestartLoop {
                restarts: c.restart_count,
            }
        }
        State::Running => match c.health {
            Health::Unhealthy => Condition::Unhealthy,
            Health::Starting => Condition::Starting,
            _ if c.restart_count > 0 || c.oom_killed => Condition::RestartedBefore {
                restarts: c.restart_count,
                oom: c.oom_killed,
            },
            h => Condition::Healthy {
                has_healthcheck: h != Health::None,
            },
        },
        State::Paused => Condition::Paused,
        _ => Condition::Stopped {
            exit_code: c.exit_code,
            oom: c.oom_killed,
        },
    }
}

/// The finding for one service, given its condition and (for a failing one) its last logs.
pub fn judge(ctx: &Context, service: &str, c: Option<&Container>, cond: &Condition, logs: &[String]) -> Finding {
    let name = c.map_or_else(|| container_name(&ctx.stack.project, service), |c| c.name.clone());
    let id = id(service);
    let logs_cmd = ctx.follow_up(&format!("logs {service}"));
    // The known causes in the logs say best what to do.
    let explained = || diagnose(service, logs, c);
    let or_logs = |m: Option<Msg>| m.unwrap_or_else(|| msg!("doctor.fix.see_logs").arg("cmd", &logs_cmd));
    let mut f = match cond {
        Condition::Missing => Finding::fail(
            id,
            msg!("doctor.container.missing").arg("service", service),
            msg!("doctor.fix.install").arg("cmd", ctx.follow_up("install")),
        ),
        Condition::Stopped { exit_code, oom } => {
            let summary = if *oom {
                msg!("doctor.container.oom").arg("name", &name)
            } else {
                msg!("doctor.container.stopped")
                    .arg("name", &name)
                    .arg("code", exit_code.map_or("?".into(), |c| c.to_string()))
            };
            let start = msg!("doctor.fix.start")
                .arg("name", &name)
                .arg("cmd", ctx.follow_up("install"));
            Finding::fail(id, summary, explained().unwrap_or(start))
        }
        Condition::Paused => Finding::fail(
            id,
            msg!("doctor.container.paused").arg("name", &name),
            msg!("doctor.fix.unpause").arg("name", &name),
        ),
        Condition::RestartLoop { restarts } => Finding::fail(
            id,
            msg!("doctor.container.restart_loop")
                .arg("name", &name)
                .arg("restarts", restarts),
            or_logs(explained()),
        ),
        Condition::Unhealthy => Finding::fail(
            id,
            msg!("doctor.container.unhealthy").arg("name", &name),
            or_logs(explained()),
        ),
        Condition::Starting => Finding::warn(
            id,
            msg!("doctor.container.starting").arg("name", &name),
            msg!("doctor.fix.wait").arg("cmd", ctx.follow_up("doctor")),
        ),
        Condition::RestartedBefore { restarts, oom } => {
            let summary = if *oom {
                msg!("doctor.container.oom_before").arg("name", &name)
            } else {
                msg!("doctor.container.restarted")
                    .arg("name", &name)
                    .arg("restarts", restarts)
            };
            Finding::warn(id, summary, or_logs(explained()))
        }
        Condition::Healthy { has_healthcheck } => {
            let key = if *has_healthcheck {
                key!("doctor.container.healthy")
            } else {
                key!("doctor.container.running")
            };
            Finding::pass(id, Msg::new(key).arg("name", &name))
        }
    };
    if let Some(c) = c {
        f = f.seen(format!(
            "{}: state {}, health {}, restarts {}, exit code {}, OOM killed {}",
            c.name,
            c.state.as_str(),
            c.health.as_str(),
            c.restart_count,
            c.exit_code.map_or("-".into(), |x| x.to_string()),
            c.oom_killed
        ));
        if let Some(e) = &c.error {
            f = f.seen(ctx.mask(e));
        }
    }
    f.evidence.extend(logs.iter().map(|l| format!("| {}", ctx.mask(l))));
    f
}

/// One finding per service of the stack.
pub async fn checks(engine: &dyn Engine, ctx: &Context, containers: &Containers) -> Vec<Finding> {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let each = ctx.stack.services.iter().map(|s| async move {
        let c = containers.get(s.name);
        let cond = condition(c, now);
        let logs = match c {
            Some(c) if cond.needs_logs() => engine.logs(&c.id, LOG_LINES).await.unwrap_or_default(),
            _ => Vec::new(),
        };
        judge(ctx, s.name, c, &cond, &logs)
    });
    join_all(each).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn container(state: State, health: Health, restarts: i64, started: &str) -> Container {
        Container {
            id: "abc".into(),
            name: "p-litellm-1".into(),
            labels: BTreeMap::new(),
            state,
            health,
            image: "img".into(),
            image_id: "sha256:1".into(),
            ports: vec![],
            restart_count: restarts,
            exit_code: Some(0),
            oom_killed: false,
            error: None,
            started_at: Some(started.into()),
            created: None,
        }
    }

    const NOW: i64 = 1_796_284_800; // 2026-12-03T08:00:00Z
    const JUST_NOW: &str = "2026-12-03T07:59:30.123456789Z";
    const LAST_WEEK: &str = "2026-11-26T08:00:00Z";

    #[test]
    fn a_container_restarting_over_and_over_is_a_restart_loop() {
        let c = container(State::Restarting, Health::Starting, 5, JUST_NOW);
        assert_eq!(condition(Some(&c), NOW), Condition::RestartLoop { restarts: 5 });
        // Between two crashes it runs for a while: restarted often, lately, not healthy.
        let c = container(State::Running, Health::Starting, 4, JUST_NOW);
        assert_eq!(condition(Some(&c), NOW), Condition::RestartLoop { restarts: 4 });
        // Restarted long ago and healthy since: worth knowing, not a loop.
        let c = container(State::Running, Health::Healthy, 4, LAST_WEEK);
        assert_eq!(
            condition(Some(&c), NOW),
            Condition::RestartedBefore {
                restarts: 4,
                oom: false
            }
        );
    }

    #[test]
    fn a_restart_loop_is_named_with_its_last_logs_and_the_cause_they_show() {
        let ctx = super::super::tests_support::context();
        let c = container(State::Restarting, Health::Starting, 7, JUST_NOW);
        let logs = vec![
            "Waiting for the database".to_string(),
            "FATAL: password authentication failed for user \"llmproxy\"".to_string(),
        ];
        let f = judge(&ctx, "litellm", Some(&c), &condition(Some(&c), NOW), &logs);
        assert_eq!(f.verdict, super::super::Verdict::Fail);
        assert_eq!(f.id, "container.litellm.running");
        assert!(
            f.summary.text(crate::i18n::Lang::En).contains("restart loop"),
            "{:?}",
            f.summary
        );
        assert_eq!(f.fix.as_ref().map(|m| m.key), Some("engine.diag.db_auth"));
        assert!(
            f.evidence
                .iter()
                .any(|e| e.contains("| FATAL: password authentication failed"))
        );
        assert!(f.evidence[0].contains("restarts 7"), "{:?}", f.evidence);
    }

    #[test]
    fn states_map_to_conditions() {
        assert_eq!(condition(None, NOW), Condition::Missing);
        let mut c = container(State::Exited, Health::None, 0, LAST_WEEK);
        c.exit_code = Some(137);
        c.oom_killed = true;
        assert_eq!(
            condition(Some(&c), NOW),
            Condition::Stopped {
                exit_code: Some(137),
                oom: true
            }
        );
        let c = container(State::Running, Health::Unhealthy, 0, LAST_WEEK);
        assert_eq!(condition(Some(&c), NOW), Condition::Unhealthy);
        let c = container(State::Running, Health::None, 0, LAST_WEEK);
        assert_eq!(condition(Some(&c), NOW), Condition::Healthy { has_healthcheck: false });
        assert!(unix_time(JUST_NOW).is_some_and(|t| NOW - t == 30));
    }
}
