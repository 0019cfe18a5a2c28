//! Prometheus scrapes LiteLLM: the litellm job's target `up`, as Prometheus's own API says
//! (its published port, else from inside its container, which has wget).

use std::time::Duration;

use super::{Containers, Context, Finding};
use crate::engine::Engine;
use crate::health::look::{PrometheusLook, litellm_target_in, litellm_target_once};
use crate::stack::PROMETHEUS_PORT;

pub const ID: &str = "prometheus.target";

const TIMEOUT: Duration = Duration::from_secs(3);

async fn look(engine: &dyn Engine, ctx: &Context, containers: &Containers) -> (String, PrometheusLook) {
    if let Some(url) = &ctx.endpoints.prometheus {
        let seen = match litellm_target_once(url, TIMEOUT).await {
            Ok(l) => l,
            Err(e) => PrometheusLook::Unreachable(crate::error::Error::from(e).render(crate::i18n::Lang::En)),
        };
        return (format!("{url}/api/v1/targets"), seen);
    }
    let at = format!("prometheus container → 127.0.0.1:{PROMETHEUS_PORT}/api/v1/targets");
    let Some(c) = containers.get("prometheus") else {
        return (at, PrometheusLook::Unreachable("no container".into()));
    };
    let cmd: Vec<String> = [
        "wget",
        "-q",
        "-O",
        "-",
        &format!("http://127.0.0.1:{PROMETHEUS_PORT}/api/v1/targets?state=active"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let seen = match engine.exec_output(&c.id, &cmd, &[]).await {
        Ok(out) if out.exit_code == Some(0) => litellm_target_in(&out.stdout),
        Ok(out) => PrometheusLook::Unreachable(out.stderr.trim().to_string()),
        Err(e) => PrometheusLook::Unreachable(e.to_string()),
    };
    (at, seen)
}

pub async fn check(engine: &dyn Engine, ctx: &Context, containers: &Containers) -> Finding {
    if !ctx.answers.services.prometheus {
        return Finding::skip(ID, msg!("doctor.skip.no_prometheus"));
    }
    // A stopped container is its own check's failure; a target down because LiteLLM is
    // stopped is that one's.
    for service in ["prometheus", "litellm"] {
        if !containers.running(service) {
            return Finding::skip(ID, msg!("doctor.skip.see").arg("id", super::containers::id(service)));
        }
    }
    let (at, seen) = look(engine, ctx, containers).await;
    judge(ctx, &at, &seen)
}

pub fn judge(ctx: &Context, at: &str, seen: &PrometheusLook) -> Finding {
    let logs = || msg!("doctor.fix.see_logs").arg("cmd", ctx.follow_up("logs prometheus"));
    match seen {
        PrometheusLook::Target(t) if t.health == "up" => {
            Finding::pass(ID, msg!("doctor.prometheus.up").arg("target", &t.scrape_url))
        }
        PrometheusLook::Target(t) if t.health == "unknown" => Finding::warn(
            ID,
            msg!("doctor.prometheus.unknown").arg("target", &t.scrape_url),
            msg!("doctor.fix.wait").arg("cmd", ctx.follow_up("doctor")),
        ),
        PrometheusLook::Target(t) => {
            let error = t.last_error.to_ascii_lowercase();
            let fix = if error.contains("401") || error.contains("403") {
                msg!("doctor.fix.metrics_key").arg("cmd", ctx.follow_up("install"))
            } else if error.contains("404") {
                msg!("doctor.fix.metrics_callback").arg("cmd", ctx.follow_up("plan"))
            } else {
                msg!("doctor.fix.see_logs").arg("cmd", ctx.follow_up("logs litellm"))
            };
            Finding::fail(
                ID,
                msg!("doctor.prometheus.down")
                    .arg("target", &t.scrape_url)
                    .arg("health", &t.health),
                fix,
            )
            .seen(format!(
                "{at}: health {}, lastError: {}",
                t.health,
                ctx.mask(&t.last_error)
            ))
        }
        PrometheusLook::NoTarget => Finding::fail(
            ID,
            msg!("doctor.prometheus.no_target"),
            msg!("doctor.fix.drift")
                .arg("plan", ctx.follow_up("plan"))
                .arg("install", ctx.follow_up("install")),
        )
        .seen(format!("{at}: no target of the litellm job")),
        PrometheusLook::Status(status) => {
            Finding::fail(ID, msg!("doctor.prometheus.no_answer"), logs()).seen(format!("{at}: HTTP {status}"))
        }
        PrometheusLook::Unreachable(detail) => {
            Finding::fail(ID, msg!("doctor.prometheus.no_answer"), logs()).seen(format!("{at}: {}", ctx.mask(detail)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Verdict;
    use super::super::tests_support::context;
    use super::*;
    use crate::health::look::TargetLook;

    fn target(health: &str, error: &str) -> PrometheusLook {
        PrometheusLook::Target(TargetLook {
            health: health.into(),
            last_error: error.into(),
            scrape_url: "http://litellm:4000/metrics/".into(),
        })
    }

    #[test]
    fn a_target_down_names_the_cause_its_error_shows() {
        let ctx = context();
        assert_eq!(judge(&ctx, "p", &target("up", "")).verdict, Verdict::Pass);
        assert_eq!(judge(&ctx, "p", &target("unknown", "")).verdict, Verdict::Warn);
        let f = judge(
            &ctx,
            "p",
            &target("down", "server returned HTTP status 401 Unauthorized"),
        );
        assert_eq!(f.verdict, Verdict::Fail);
        assert_eq!(f.fix.as_ref().map(|m| m.key), Some("doctor.fix.metrics_key"));
        let f = judge(&ctx, "p", &PrometheusLook::NoTarget);
        assert_eq!(f.verdict, Verdict::Fail);
    }
}
