//! Step F: wait until `/health/readiness` answers 200, through nginx and directly.
//!
//! Timing: attempts back off from 100 ms to 2 s, so a long wait stays quiet. Two things keep
//! detection within 250 ms of the server turning ready anyway: while the port refuses
//! connections a TCP connect (microseconds on loopback) checks every 100 ms whether it opened,
//! and once something answers but is not ready (502, 503, a reset) the wait is capped at
//! 200 ms, since no cheaper signal than asking again tells when that changes.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::error::{HealthError, LastAttempt};
use super::probe::{ProbeState, probe};
use super::{Phase, Progress, Reporter, http_client, human_duration};
use crate::i18n::Msg;

const FIRST_WAIT: Duration = Duration::from_millis(100);
const MAX_WAIT: Duration = Duration::from_secs(2);
const LISTENING_MAX_WAIT: Duration = Duration::from_millis(200);
const PORT_WATCH_EVERY: Duration = Duration::from_millis(100);
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the proxy's own port may still take once the clients' path is ready.
const DIRECT_GRACE: Duration = Duration::from_millis(100);
/// An unchanged state is reported again at most this often, so a long wait shows it is alive.
const HEARTBEAT: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadinessOptions {
    /// When to give up.
    pub deadline: Duration,
    /// A database is part of the stack: ready then means 200 **and** the body's `db`
    /// connected. A 200 that says otherwise is the database problem it is, not readiness.
    pub database_configured: bool,
}

impl Default for ReadinessOptions {
    fn default() -> Self {
        ReadinessOptions {
            deadline: Duration::from_secs(300),
            database_configured: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReadyReport {
    pub elapsed: Duration,
    pub attempts: u32,
    /// `litellm_version` from the readiness body, when the proxy gives it.
    pub proxy_version: Option<String>,
    pub warnings: Vec<Msg>,
}

/// Polls until the clients' entry point (nginx when enabled, else the proxy) answers 200,
/// or `opts.deadline` passes: then the error names the last state seen.
pub async fn wait_until_ready<R: Reporter + ?Sized>(
    ep: &super::Endpoints,
    opts: &ReadinessOptions,
    reporter: &R,
) -> Result<ReadyReport, HealthError> {
    let Some(primary) = ep.client_base() else {
        return Err(HealthError::NoEndpoint);
    };
    // The proxy's own port is asked too when nginx stands in front: it tells "nginx cannot
    // reach the proxy" from "the proxy is not up".
    let direct = if ep.nginx.is_some() { ep.proxy.as_deref() } else { None };
    let primary_addr = socket_addr(primary);
    let client = http_client()?;
    let started = Instant::now();
    let deadline = started + opts.deadline;
    let mut wait = FIRST_WAIT;
    let mut attempts = 0u32;
    let mut last: Option<(ProbeState, Option<ProbeState>)> = None;
    let mut last_report_at = started;
    loop {
        attempts += 1;
        let timeout = PROBE_TIMEOUT
            .min(deadline.saturating_duration_since(Instant::now()))
            .max(Duration::from_millis(200));
        let (p, d) = probe_both(&client, primary, direct, timeout).await;
        let p = with_database(p, opts.database_configured);
        let d = d.map(|d| with_database(d, opts.database_configured));
        let now = Instant::now();
        let changed = match &last {
            None => true,
            Some((lp, ld)) => !lp.same_kind(&p) || !same_kind_opt(ld.as_ref(), d.as_ref()),
        };
        let summary = summarize(primary, &p, direct, d.as_ref());
        // Every attempt goes to the run's log file, raw detail included; the reporter gets the
        // changes and a heartbeat, which the front ends thin out further.
        tracing::debug!(
            attempt = attempts,
            elapsed_ms = now.duration_since(started).as_millis() as u64,
            "readiness: {}",
            summary.text(crate::i18n::Lang::En)
        );
        if changed || p.is_ready() || now.duration_since(last_report_at) >= HEARTBEAT {
            reporter.report(Progress {
                phase: Phase::Readiness,
                msg: msg!("health.attempt")
                    .arg("n", attempts)
                    .arg("elapsed", human_duration(now.duration_since(started)))
                    .nested("state", summary.clone()),
            });
            last_report_at = now;
        }
        if changed {
            // A new situation: look again soon.
            wait = FIRST_WAIT;
        }
        if let ProbeState::Ready { version, .. } = &p {
            let mut warnings = Vec::new();
            let mut proxy_version = version.clone();
            if let (Some(url), Some(state)) = (direct, d.as_ref()) {
                match state {
                    ProbeState::Ready { version, .. } => proxy_version = proxy_version.or(version.clone()),
                    other => warnings.push(msg!("health.warn.direct_not_ready").nested("state", other.describe(url))),
                }
            }
            return Ok(ReadyReport {
                elapsed: now.duration_since(started),
                attempts,
                proxy_version,
                warnings,
            });
        }
        if now >= deadline {
            return Err(HealthError::NotReady {
                timeout: opts.deadline,
                attempts,
                last: Box::new(LastAttempt {
                    state: summary,
                    primary: p,
                    direct: d,
                }),
            });
        }
        let cap = if p.is_listening_not_ready() {
            LISTENING_MAX_WAIT
        } else {
            MAX_WAIT
        };
        let this_wait = wait.min(cap).min(deadline.saturating_duration_since(now));
        wait = (wait * 3 / 2).min(MAX_WAIT);
        match (&p, primary_addr) {
            (ProbeState::Refused, Some(addr)) => wait_for_port(addr, this_wait).await,
            _ => tokio::time::sleep(this_wait).await,
        }
        last = Some((p, d));
    }
}

/// With a database in the stack, a 200 whose `db` is not `connected` is not ready: LiteLLM
/// answers that way when Postgres went away after it started (older versions also while it
/// still connects). A body without `db` (a proxy that does not say) is taken at its word.
fn with_database(p: ProbeState, database_configured: bool) -> ProbeState {
    match p {
        ProbeState::Ready { db: Some(db), .. } if database_configured && !db.eq_ignore_ascii_case("connected") => {
            ProbeState::DbNotConnected {
                status: 200,
                db: Some(db),
            }
        }
        p => p,
    }
}

/// Asks both paths at once. Once the clients' path is ready, the proxy's own port gets only
/// a short grace: a slow answer there must not delay telling the user the gateway works.
async fn probe_both(
    client: &reqwest::Client,
    primary: &str,
    direct: Option<&str>,
    timeout: Duration,
) -> (ProbeState, Option<ProbeState>) {
    let Some(direct) = direct else {
        return (probe(client, primary, timeout).await, None);
    };
    let primary_probe = probe(client, primary, timeout);
    let direct_probe = probe(client, direct, timeout);
    tokio::pin!(primary_probe, direct_probe);
    let mut d = None;
    let p = loop {
        tokio::select! {
            p = &mut primary_probe => break p,
            v = &mut direct_probe, if d.is_none() => d = Some(v),
        }
    };
    let d = match d {
        Some(d) => d,
        None if p.is_ready() => tokio::time::timeout(DIRECT_GRACE, &mut direct_probe)
            .await
            .unwrap_or_else(|_| ProbeState::NoAnswer {
                detail: format!("no answer within {} ms", DIRECT_GRACE.as_millis()),
                timed_out: true,
            }),
        None => direct_probe.await,
    };
    (p, Some(d))
}

fn same_kind_opt(a: Option<&ProbeState>, b: Option<&ProbeState>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.same_kind(b),
        (None, None) => true,
        _ => false,
    }
}

/// The state of one attempt: one path, or nginx and the proxy side by side.
fn summarize(primary: &str, p: &ProbeState, direct: Option<&str>, d: Option<&ProbeState>) -> Msg {
    match (direct, d) {
        (Some(url), Some(d)) => msg!("health.paths.both")
            .nested("nginx", p.describe(primary))
            .nested("proxy", d.describe(url)),
        _ => p.describe(primary),
    }
}

/// The address behind a base URL (`http://127.0.0.1:80` → 127.0.0.1:80).
fn socket_addr(base: &str) -> Option<SocketAddr> {
    let url = reqwest::Url::parse(base).ok()?;
    url.socket_addrs(|| None).ok()?.into_iter().next()
}

/// Sleeps up to `max`, returning early once `addr` accepts a TCP connection.
async fn wait_for_port(addr: SocketAddr, max: Duration) {
    let end = Instant::now() + max;
    loop {
        let now = Instant::now();
        if now >= end {
            return;
        }
        tokio::time::sleep(PORT_WATCH_EVERY.min(end - now)).await;
        if let Ok(Ok(_)) = tokio::time::timeout(PORT_WATCH_EVERY, tokio::net::TcpStream::connect(addr)).await {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_200_without_its_database_is_not_ready_when_the_stack_has_one() {
        let not_connected = ProbeState::from_response(200, r#"{"status":"healthy","db":"Not connected"}"#);
        assert!(not_connected.is_ready());
        let judged = with_database(not_connected.clone(), true);
        assert_eq!(
            judged,
            ProbeState::DbNotConnected {
                status: 200,
                db: Some("Not connected".into())
            }
        );
        assert!(judged.is_listening_not_ready());
        assert!(with_database(not_connected, false).is_ready());
        let connected = ProbeState::from_response(200, r#"{"status":"healthy","db":"connected"}"#);
        assert!(with_database(connected, true).is_ready());
        let silent = ProbeState::from_response(200, r#"{"status":"healthy"}"#);
        assert!(with_database(silent, true).is_ready());
    }
}
