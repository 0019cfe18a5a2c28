//! Prometheus scrapes LiteLLM: the litellm job's target `up`, as Prometheus's own API says
//! (its published port, else from inside its container, which has wget). And its credential
//! (`prometheus.key`): a key that is not the master key, opens `/metrics/` and is refused on
//! `/v1/models`.

use std::time::Duration;

use super::{Containers, Context, Finding};
use crate::engine::Engine;
use crate::health::MetricsKeyScope;
use crate::health::look::{PrometheusLook, litellm_target_in, litellm_target_once};
use crate::secrets::Secret;
use crate::stack::{METRICS_KEY_FILE, PROMETHEUS_PORT};

pub const ID: &str = "prometheus.target";
pub const KEY_ID: &str = "prometheus.key";

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
                msg!("metrics_key.doctor.fix_refused").arg("cmd", ctx.follow_up("install"))
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

/// What the key file holds, against the master key of `.env`: before anything is asked of
/// the proxy.
pub enum KeyFile {
    Missing,
    MasterKey,
    Unreadable(String),
    Key(Secret),
}

pub fn key_file(ctx: &Context) -> KeyFile {
    match crate::steps::metrics_key::read_key(ctx.dir()) {
        Err(e) => KeyFile::Unreadable(ctx.mask(&e.render(crate::i18n::Lang::En))),
        Ok(None) => KeyFile::Missing,
        Ok(Some(k)) if k.expose() == ctx.env_value("LITELLM_MASTER_KEY") => KeyFile::MasterKey,
        Ok(Some(k)) => KeyFile::Key(k),
    }
}

/// `prometheus.key`: the credential is not the master key, and opens `/metrics/` and nothing
/// else (tried on the proxy's published port, else on the clients' entry point).
pub async fn check_key(ctx: &Context, containers: &Containers) -> Finding {
    if !ctx.answers.services.prometheus {
        return Finding::skip(KEY_ID, msg!("doctor.skip.no_prometheus"));
    }
    let file = key_file(ctx);
    let key = match file {
        KeyFile::Key(k) => k,
        other => return judge_key(ctx, &other, None),
    };
    if !containers.running("litellm") {
        return Finding::skip(
            KEY_ID,
            msg!("doctor.skip.see").arg("id", super::containers::id("litellm")),
        );
    }
    let scope = tokio::time::timeout(TIMEOUT * 2, crate::health::metrics_key_scope(&ctx.endpoints, &key)).await;
    let scope = match scope {
        Ok(Ok(s)) => Some(s),
        _ => None,
    };
    judge_key(ctx, &KeyFile::Key(key), scope.as_ref())
}

pub fn judge_key(ctx: &Context, file: &KeyFile, scope: Option<&MetricsKeyScope>) -> Finding {
    let path = METRICS_KEY_FILE;
    let fix = || msg!("metrics_key.doctor.fix").arg("cmd", ctx.follow_up("install"));
    match (file, scope) {
        (KeyFile::Missing, _) => Finding::fail(KEY_ID, msg!("metrics_key.doctor.missing").arg("path", path), fix()),
        (KeyFile::MasterKey, _) => {
            Finding::fail(KEY_ID, msg!("metrics_key.doctor.master_key").arg("path", path), fix())
        }
        (KeyFile::Unreadable(detail), _) => Finding::fail(
            KEY_ID,
            msg!("metrics_key.doctor.unreadable").arg("detail", detail),
            fix(),
        ),
        (KeyFile::Key(_), None) => Finding::skip(KEY_ID, msg!("metrics_key.doctor.unreachable")),
        (KeyFile::Key(_), Some(s)) => {
            let seen = format!(
                "GET /metrics/: {}, GET /v1/models: {}",
                s.metrics.map_or("not published".to_string(), |m| format!("HTTP {m}")),
                s.models
            );
            if s.models < 400 {
                Finding::fail(
                    KEY_ID,
                    msg!("metrics_key.doctor.too_wide")
                        .arg("path", path)
                        .arg("status", s.models),
                    fix(),
                )
                .seen(seen)
            } else if let Some(m) = s.metrics.filter(|m| *m != 200) {
                Finding::fail(
                    KEY_ID,
                    msg!("metrics_key.doctor.refused").arg("path", path).arg("status", m),
                    fix(),
                )
                .seen(seen)
            } else {
                Finding::pass(KEY_ID, msg!("metrics_key.doctor.ok").arg("seen", &seen)).seen(seen)
            }
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
        assert_eq!(f.fix.as_ref().map(|m| m.key), Some("metrics_key.doctor.fix_refused"));
        let f = judge(&ctx, "p", &PrometheusLook::NoTarget);
        assert_eq!(f.verdict, Verdict::Fail);
    }

    #[test]
    fn the_key_must_not_be_the_master_key_and_must_open_metrics_only() {
        let ctx = context();
        let key = || KeyFile::Key(Secret::new("sk-metrics"));
        let scope = |metrics, models| MetricsKeyScope { metrics, models };
        let verdict = |f: &KeyFile, s: Option<MetricsKeyScope>| judge_key(&ctx, f, s.as_ref());
        assert_eq!(verdict(&key(), Some(scope(Some(200), 403))).verdict, Verdict::Pass);
        assert_eq!(verdict(&key(), Some(scope(None, 403))).verdict, Verdict::Pass);
        let refused = verdict(&key(), Some(scope(Some(401), 401)));
        assert_eq!(refused.verdict, Verdict::Fail);
        assert_eq!(refused.summary.key, "metrics_key.doctor.refused");
        let wide = verdict(&key(), Some(scope(Some(200), 200)));
        assert_eq!(wide.summary.key, "metrics_key.doctor.too_wide");
        for (file, summary) in [
            (KeyFile::MasterKey, "metrics_key.doctor.master_key"),
            (KeyFile::Missing, "metrics_key.doctor.missing"),
        ] {
            let f = verdict(&file, Some(scope(Some(200), 403)));
            assert_eq!((f.verdict, f.summary.key), (Verdict::Fail, summary));
            assert_eq!(f.fix.as_ref().map(|m| m.key), Some("metrics_key.doctor.fix"));
        }
        assert_eq!(verdict(&key(), None).verdict, Verdict::Skip);
    }
}
