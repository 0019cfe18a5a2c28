//! Supervision of the containers once started: waiting for one to be running or healthy (woken
//! by the engine's events, never on sleeps), watching for a die or an unhealthy turn while the
//! later steps run, and the last look after readiness. A failure carries the container's last
//! log lines and a diagnosis.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::BoxStream;

use super::{Event, EventSink, StepError};
use crate::engine::diagnose::{Failure, diagnose, is_fatal_line};
use crate::engine::{Container, ContainerEvent, Engine, EventAction, Health, State};
use crate::error::{Error, Result};

/// How many log lines a failure shows.
pub const FAILURE_LOG_LINES: usize = 50;

/// A container the later steps keep an eye on: a die or an unhealthy turn is a failure.
#[derive(Debug, Clone)]
pub(crate) struct Watched {
    pub(crate) service: String,
    pub(crate) id: String,
    /// Restarts counted when we last started it: more means it crashed since.
    pub(crate) restarts: i64,
    /// When its process started, as we left it: another start time means it died since. Events
    /// of our own restarts arrive later too; this tells them from crashes.
    pub(crate) started_at: Option<String>,
}

impl Watched {
    /// How `c` (a fresh look at this container) has failed since we left it, if it has.
    fn failed(&self, c: &Container) -> Option<Failure> {
        match judge(c, Target::Running, self.restarts) {
            Err(why) => Some(why),
            Ok(_) if c.started_at != self.started_at => Some(Failure::Exited(c.exit_code)),
            Ok(_) => None,
        }
    }
}

/// The last log lines, a fresh look at the container and a diagnosis, as a step failure.
pub(crate) async fn failure(engine: &dyn Engine, service: &str, id: &str, why: Failure) -> StepError {
    let logs = engine.logs(id, FAILURE_LOG_LINES).await.unwrap_or_default();
    let fresh = engine.inspect_container(id).await.ok().flatten();
    let why = match (&why, &fresh) {
        (Failure::Exited(_) | Failure::Unhealthy, Some(c)) if c.restart_count >= 2 => {
            Failure::RestartLoop(c.restart_count)
        }
        _ => why,
    };
    let hint =
        diagnose(service, &logs, fresh.as_ref()).unwrap_or_else(|| msg!("engine.diag.unknown").arg("service", service));
    let error = Error::failed(
        msg!("engine.start.failed")
            .arg("service", service)
            .nested("reason", why.msg()),
    )
    .hint(hint);
    StepError { error, logs }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Running,
    Healthy,
}

/// Where a container stands against `target`: reached, not yet, or failed.
pub(crate) fn judge(c: &Container, target: Target, baseline_restarts: i64) -> std::result::Result<bool, Failure> {
    match c.state {
        State::Exited | State::Dead => return Err(Failure::Exited(c.exit_code)),
        State::Restarting => return Err(Failure::RestartLoop(c.restart_count.max(1))),
        _ => {}
    }
    if c.restart_count > baseline_restarts {
        return Err(Failure::RestartLoop(c.restart_count));
    }
    match (target, c.state, c.health) {
        (_, State::Running, Health::Unhealthy) => Err(Failure::Unhealthy),
        (Target::Running, State::Running, _) => Ok(true),
        (Target::Healthy, State::Running, Health::Healthy | Health::None) => Ok(true),
        _ => Ok(false),
    }
}

/// Waits for a container to be running (or healthy), woken by the engine's events; the deadline
/// is its healthcheck's own (start period + interval × retries + timeout).
/// How often a dependency's own healthcheck is asked directly while Docker's health status
/// still says "starting" (Docker runs it only every `interval`, 2 s and more).
const HEALTH_PROBE_EVERY: Duration = Duration::from_millis(250);

/// Waits until `w` reaches `target`. For `Healthy`, `probe` is the service's healthcheck
/// command: it is also run directly, so the dependent starts as soon as the check passes
/// rather than at Docker's next interval. Same check, same verdict, less waiting.
pub(crate) async fn wait_for(
    engine: &dyn Engine,
    events: &mut BoxStream<'static, Result<ContainerEvent>>,
    w: &Watched,
    target: Target,
    probe: Option<&str>,
    deadline_s: u32,
    on_first_wait: impl FnOnce(),
) -> std::result::Result<(), StepError> {
    let deadline = Instant::now() + Duration::from_secs(u64::from(deadline_s));
    let mut on_first_wait = Some(on_first_wait);
    let probe_cmd: Option<Vec<String>> = probe.map(|p| vec!["sh".into(), "-c".into(), p.into()]);
    loop {
        let Some(c) = engine.inspect_container(&w.id).await? else {
            return Err(failure(engine, &w.service, &w.id, Failure::Exited(None)).await);
        };
        match judge(&c, target, w.restarts) {
            Ok(true) => return Ok(()),
            Ok(false) => {
                if let Some(f) = on_first_wait.take() {
                    f();
                }
                if let (Target::Healthy, Some(cmd), State::Running) = (target, &probe_cmd, c.state) {
                    // An exec that fails (the container is between states) is only a "not yet";
                    // one that hangs is bounded by the step's own deadline.
                    let left = deadline.saturating_duration_since(Instant::now());
                    if let Ok(Ok(Some(0))) = tokio::time::timeout(left, engine.exec(&w.id, cmd)).await {
                        return Ok(());
                    }
                }
            }
            Err(why) => return Err(failure(engine, &w.service, &w.id, why).await),
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(failure(engine, &w.service, &w.id, Failure::Timeout(deadline_s)).await);
        }
        let wait = match (target, &probe_cmd) {
            (Target::Healthy, Some(_)) => left.min(HEALTH_PROBE_EVERY),
            _ => left,
        };
        // Any event of the project wakes us to look again; the deadline bounds the wait.
        match tokio::time::timeout(wait, events.next()).await {
            Err(_) => {}
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(e))) => return Err(e.into()),
            Ok(None) => return Err(Error::failed(msg!("engine.events.ended")).into()),
        }
    }
}

/// Ends only on a failure of a watched container: it died, restarted or turned unhealthy.
pub(crate) async fn watch(
    engine: &dyn Engine,
    events: &mut BoxStream<'static, Result<ContainerEvent>>,
    watched: &mut [Watched],
) -> StepError {
    // Something may have happened between the start step and now: look once first.
    for w in watched.iter() {
        if let Ok(Some(c)) = engine.inspect_container(&w.id).await {
            if let Some(why) = w.failed(&c) {
                return failure(engine, &w.service, &w.id, why).await;
            }
        }
    }
    loop {
        let ev = match events.next().await {
            Some(Ok(ev)) => ev,
            Some(Err(e)) => return e.into(),
            None => return Error::failed(msg!("engine.events.ended")).into(),
        };
        let Some(w) = watched.iter().find(|w| w.id == ev.id) else {
            continue;
        };
        let exit_code = match ev.action {
            EventAction::Die { exit_code } => exit_code,
            EventAction::Oom | EventAction::Health(Health::Unhealthy) => None,
            _ => continue,
        };
        // The event may be stale (our own restart of it in step E): the container says.
        let c = match engine.inspect_container(&w.id).await {
            Ok(Some(c)) => c,
            Ok(None) => return failure(engine, &w.service, &w.id, Failure::Exited(exit_code)).await,
            Err(e) => return e.into(),
        };
        if let Some(why) = w.failed(&c) {
            let why = match (why, exit_code) {
                (Failure::RestartLoop(n), Some(_)) if n <= 1 => Failure::Exited(exit_code),
                (why, _) => why,
            };
            return failure(engine, &w.service, &w.id, why).await;
        }
    }
}

/// After readiness: every container still up (a restart since we started it is a failure).
pub(crate) async fn settle_check(engine: &dyn Engine, watched: &[Watched]) -> std::result::Result<(), StepError> {
    for w in watched {
        let c = engine.inspect_container(&w.id).await?;
        match c {
            Some(c) => {
                if let Some(why) = w.failed(&c) {
                    return Err(failure(engine, &w.service, &w.id, why).await);
                }
            }
            None => return Err(failure(engine, &w.service, &w.id, Failure::Exited(None)).await),
        }
    }
    Ok(())
}

/// After the gate: waits until Docker's own health status of each watched container with a
/// healthcheck reads "healthy", so `docker compose ps` agrees with the report the moment it is
/// printed (our probe passed before Docker's next scheduled check). `bounds` gives each
/// service's bound, its healthcheck's interval + timeout + 1 s: the next check must have run by
/// then. A container still "starting" at its bound is returned by name (a warning: the gate
/// passed); one that died or turned unhealthy is a failure.
pub(crate) async fn settle_health(
    engine: &dyn Engine,
    events: &mut BoxStream<'static, Result<ContainerEvent>>,
    watched: &[Watched],
    bounds: &[(&str, Duration)],
) -> std::result::Result<Vec<String>, StepError> {
    let started = Instant::now();
    let mut starting = Vec::new();
    for w in watched {
        let Some((_, bound)) = bounds.iter().find(|(s, _)| *s == w.service) else {
            continue;
        };
        let left = bound.saturating_sub(started.elapsed());
        // The inner deadline is past the outer one: only a failure ends it early.
        let inner_s = u32::try_from(left.as_secs()).unwrap_or(u32::MAX).saturating_add(60);
        match tokio::time::timeout(left, wait_for(engine, events, w, Target::Healthy, None, inner_s, || {})).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => starting.push(w.service.clone()),
        }
    }
    Ok(starting)
}

/// Forwards the new log lines of a container as `Event::Log` (secrets masked) until its stream
/// ends, then waits forever: a branch of the `select!` that supervises the later steps. It
/// decides their outcome only when a line settles it (the database refused LiteLLM's login):
/// then the failure is said at once, not after the image's own wait for the database.
pub(crate) async fn forward_logs(
    engine: &dyn Engine,
    service: &str,
    id: Option<String>,
    secrets: &[String],
    sink: &dyn EventSink,
) -> StepError {
    if let Some(id) = id {
        let mut lines = engine.follow_logs(&id, 0);
        while let Some(Ok(line)) = lines.next().await {
            let fatal = is_fatal_line(service, &line);
            sink.emit(Event::Log {
                service: service.to_string(),
                line: crate::secrets::redact(&line, secrets),
            });
            if fatal {
                return failure(engine, service, &id, Failure::FatalLog).await;
            }
        }
    }
    std::future::pending().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn running() -> Container {
        Container {
            id: "id-postgres".into(),
            name: "unit-postgres-1".into(),
            labels: Default::default(),
            state: State::Running,
            health: Health::Healthy,
            image: "postgres:16".into(),
            image_id: "sha256:img".into(),
            ports: vec![],
            restart_count: 0,
            exit_code: None,
            oom_killed: false,
            error: None,
            started_at: None,
            created: None,
        }
    }

    #[test]
    fn judging_a_container_sees_crashes_and_restarts() {
        let mut c = running();
        assert_eq!(judge(&c, Target::Healthy, 0), Ok(true));
        c.health = Health::Starting;
        assert_eq!(judge(&c, Target::Healthy, 0), Ok(false));
        assert_eq!(judge(&c, Target::Running, 0), Ok(true));
        c.restart_count = 1;
        assert_eq!(judge(&c, Target::Running, 0), Err(Failure::RestartLoop(1)));
        c.state = State::Exited;
        c.exit_code = Some(3);
        assert_eq!(judge(&c, Target::Running, 1), Err(Failure::Exited(Some(3))));
    }
}
