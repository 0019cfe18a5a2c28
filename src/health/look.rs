//! One look, no waiting: what `doctor` asks of the gateway and of Prometheus. The install's
//! pollers wait for a state; a diagnosis wants the state as it is now, within a short timeout.

use std::time::Duration;

use super::api::litellm_target;
use super::{HealthError, ProbeState, http_client};

/// One GET of `{base}/health/readiness`.
pub async fn readiness_once(base: &str, timeout: Duration) -> Result<ProbeState, HealthError> {
    let client = http_client()?;
    Ok(super::probe::probe(&client, base, timeout).await)
}

/// The litellm job's target as Prometheus reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetLook {
    /// `up`, `down` or `unknown` (not scraped yet).
    pub health: String,
    pub last_error: String,
    pub scrape_url: String,
}

/// What Prometheus's `/api/v1/targets` said about the litellm job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrometheusLook {
    Target(TargetLook),
    /// Prometheus answers but scrapes no litellm job.
    NoTarget,
    /// Prometheus answered with this HTTP status.
    Status(u16),
    /// Nothing answered at the URL.
    Unreachable(String),
}

/// The litellm target in a `/api/v1/targets` body (read through the engine when Prometheus's
/// port is not published).
pub fn litellm_target_in(body: &str) -> PrometheusLook {
    match litellm_target(body) {
        Some(t) => PrometheusLook::Target(TargetLook {
            health: t.health,
            last_error: t.last_error,
            scrape_url: t.scrape_url,
        }),
        None => PrometheusLook::NoTarget,
    }
}

/// One GET of `{prometheus}/api/v1/targets?state=active`.
pub async fn litellm_target_once(prometheus: &str, timeout: Duration) -> Result<PrometheusLook, HealthError> {
    let client = http_client()?;
    let url = format!("{prometheus}/api/v1/targets?state=active");
    Ok(match client.get(&url).timeout(timeout).send().await {
        Ok(resp) if resp.status().is_success() => litellm_target_in(&resp.text().await.unwrap_or_default()),
        Ok(resp) => PrometheusLook::Status(resp.status().as_u16()),
        Err(e) => PrometheusLook::Unreachable(e.to_string()),
    })
}
