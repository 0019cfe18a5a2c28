//! The reloads themselves, service by service: the file checked by the service's own tool in
//! its running container, the reload sent, and the run waiting until the service says it took.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use super::super::supervise::FAILURE_LOG_LINES;
use super::super::{EventSink, StepError, StepId, progress};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::stack::{NGINX_CONF_IN_CONTAINER, PROMETHEUS_CONF_IN_CONTAINER};

/// How long a reloaded service may take to say the new configuration is in effect and pass
/// its healthcheck.
const RELOAD_DEADLINE: Duration = Duration::from_secs(20);

/// The nginx master's current workers (their PIDs), read from `/proc` in the container: the
/// images have no `pgrep` for sure, but a shell, `tr` and `grep`. Old workers finishing their
/// requests after a reload are called `nginx: worker process is shutting down`.
const NGINX_WORKERS: &str = r#"for f in /proc/[0-9]*/cmdline; do tr '\0' ' ' < "$f" 2>/dev/null | grep -qx 'nginx: worker process *' && { p=${f%/cmdline}; echo "${p#/proc/}"; }; done; true"#;

async fn nginx_workers(engine: &dyn Engine, id: &str) -> Result<BTreeSet<String>> {
    let cmd = ["sh".to_string(), "-c".to_string(), NGINX_WORKERS.to_string()];
    let out = engine.exec_output(id, &cmd, &[]).await.map_err(Error::from)?;
    Ok(out
        .stdout
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect())
}

/// The last lines of nginx's own output, for a failure.
async fn last_lines(engine: &dyn Engine, id: &str) -> Vec<String> {
    engine.logs(id, FAILURE_LOG_LINES).await.unwrap_or_default()
}

/// Checks `file` with nginx in its running container, then reloads it and waits until the new
/// workers run and the healthcheck (`probe`, the container's own) passes.
pub(super) async fn reload_nginx(
    engine: &dyn Engine,
    sink: &dyn EventSink,
    id: &str,
    file: &Path,
    probe: Option<&str>,
) -> std::result::Result<(), StepError> {
    let conf = NGINX_CONF_IN_CONTAINER.to_string();
    let test = ["nginx".to_string(), "-t".to_string(), "-c".to_string(), conf.clone()];
    let tested = engine.exec_output(id, &test, &[]).await?;
    if tested.exit_code != Some(0) {
        return Err(StepError::from(
            Error::failed(msg!("reload.nginx.refused").arg("path", file.display()))
                .detail(tested.stderr.trim())
                .hint(msg!("reload.nginx.refused_hint").arg("path", file.display())),
        ));
    }
    progress(sink, StepId::Start, msg!("reload.nginx.tested"));
    let old = nginx_workers(engine, id).await?;
    let signal = [
        "nginx".to_string(),
        "-c".to_string(),
        conf,
        "-s".to_string(),
        "reload".to_string(),
    ];
    let sent = engine.exec_output(id, &signal, &[]).await?;
    if sent.exit_code != Some(0) {
        return Err(StepError {
            error: Error::failed(msg!("reload.nginx.not_taken").arg("path", file.display())).detail(sent.stderr.trim()),
            logs: last_lines(engine, id).await,
        });
    }
    let started = Instant::now();
    loop {
        let now = nginx_workers(engine, id).await?;
        let renewed = !now.is_empty() && now.is_disjoint(&old);
        if renewed && healthy(engine, id, probe).await? {
            return Ok(());
        }
        if started.elapsed() > RELOAD_DEADLINE {
            return Err(StepError {
                error: Error::failed(msg!("reload.nginx.not_taken").arg("path", file.display()))
                    .hint(msg!("reload.nginx.refused_hint").arg("path", file.display())),
                logs: last_lines(engine, id).await,
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Prometheus's word on its last configuration load, from its own metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct LastReload {
    /// `prometheus_config_last_reload_successful`: 1 or 0.
    successful: Option<f64>,
    /// `prometheus_config_last_reload_success_timestamp_seconds`.
    success_at: Option<f64>,
}

fn parse_last_reload(metrics: &str) -> LastReload {
    let value = |name: &str| {
        metrics.lines().find_map(|l| {
            let (k, v) = l.trim().split_once(' ')?;
            (k == name).then(|| v.trim().parse::<f64>().ok()).flatten()
        })
    };
    LastReload {
        successful: value("prometheus_config_last_reload_successful"),
        success_at: value("prometheus_config_last_reload_success_timestamp_seconds"),
    }
}

/// Prometheus answers only inside the stack's network: asked from its own container, with the
/// `wget` its healthcheck uses.
async fn last_reload(engine: &dyn Engine, id: &str) -> Result<LastReload> {
    let script = format!(
        "wget -q -O - http://127.0.0.1:{}/metrics | grep '^prometheus_config_last_reload'",
        crate::stack::PROMETHEUS_PORT
    );
    let cmd = ["sh".to_string(), "-c".to_string(), script];
    let out = engine.exec_output(id, &cmd, &[]).await.map_err(Error::from)?;
    Ok(parse_last_reload(&out.stdout))
}

/// Checks `file` with `promtool` in Prometheus's container when the image has it (the official
/// one does; without it Prometheus checks the file itself and keeps its previous configuration
/// when it refuses it), then SIGHUP through the engine, and waits for Prometheus to say the
/// load succeeded after the signal, and for its healthcheck (`probe`).
pub(super) async fn reload_prometheus(
    engine: &dyn Engine,
    sink: &dyn EventSink,
    id: &str,
    file: &Path,
    probe: Option<&str>,
) -> std::result::Result<(), StepError> {
    let check = [
        "promtool".to_string(),
        "check".to_string(),
        "config".to_string(),
        PROMETHEUS_CONF_IN_CONTAINER.to_string(),
    ];
    let checked = engine.exec_output(id, &check, &[]).await?;
    let refused = |detail: String| {
        StepError::from(
            Error::failed(msg!("reload.prometheus.refused").arg("path", file.display()))
                .detail(detail)
                .hint(msg!("reload.prometheus.refused_hint").arg("path", file.display())),
        )
    };
    match checked.exit_code {
        Some(0) => progress(sink, StepId::Start, msg!("reload.prometheus.tested")),
        // No such command in the image (126: not executable, 127: not found).
        Some(126) | Some(127) => progress(sink, StepId::Start, msg!("reload.prometheus.no_promtool")),
        _ => {
            let said = format!("{}\n{}", checked.stdout.trim(), checked.stderr.trim());
            return Err(refused(said.trim().to_string()));
        }
    }
    let before = last_reload(engine, id).await?;
    engine.signal_container(id, "SIGHUP").await?;
    let started = Instant::now();
    loop {
        let now = last_reload(engine, id).await?;
        if now.successful == Some(0.0) {
            let mut e = refused(String::new());
            e.error.detail = None;
            e.logs = last_lines(engine, id).await;
            return Err(e);
        }
        let moved = match (before.success_at, now.success_at) {
            (Some(b), Some(n)) => n > b,
            (None, Some(_)) => true,
            _ => false,
        };
        if moved && now.successful == Some(1.0) && healthy(engine, id, probe).await? {
            return Ok(());
        }
        if started.elapsed() > RELOAD_DEADLINE {
            return Err(StepError {
                error: Error::failed(msg!("reload.prometheus.not_taken").arg("path", file.display())),
                logs: last_lines(engine, id).await,
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The container's own healthcheck command (`sh -c PROBE`) passes; true without one.
async fn healthy(engine: &dyn Engine, id: &str, probe: Option<&str>) -> Result<bool> {
    let Some(shell) = probe else { return Ok(true) };
    let cmd = ["sh".to_string(), "-c".to_string(), shell.to_string()];
    Ok(engine.exec(id, &cmd).await? == Some(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_says_when_its_last_load_succeeded() {
        let metrics = "# HELP prometheus_config_last_reload_successful Whether the last configuration reload attempt was successful.\n\
                       # TYPE prometheus_config_last_reload_successful gauge\n\
                       prometheus_config_last_reload_successful 1\n\
                       prometheus_config_last_reload_success_timestamp_seconds 1.7964180005e+09\n";
        assert_eq!(
            parse_last_reload(metrics),
            LastReload {
                successful: Some(1.0),
                success_at: Some(1_796_418_000.5),
            }
        );
        assert_eq!(parse_last_reload(""), LastReload::default());
    }
}
