//! Health: is the gateway ready (SOP step F, `/health/readiness`), and does its API work
//! (step G: models, a chat completion plain and streamed, the key enforced, Prometheus
//! scraping the proxy). reqwest stays inside this module.
//!
//! Progress goes to a [`Reporter`] as [`Progress`] lines; failures are [`HealthError`]s, which
//! convert into the user-facing `crate::error::Error`. This module knows no front end.

mod api;
// bluegreen:
mod direct;
mod error;
mod keys;
// doctor:
pub mod look;
mod probe;
mod readiness;
mod stream;

pub use api::{ApiOptions, ApiReport, api_test};
pub use direct::liveliness_answers;
pub use error::{ApiRequest, HealthError, LastAttempt, RequestFailure};
pub use keys::{
    KEY_ALIAS_PREFIX, METRICS_KEY_ALIAS, METRICS_KEY_ROUTES, MetricsKeyLook, MetricsKeyScope, key_hash,
    look_up_metrics_key, make_metrics_key, metrics_key_scope,
};
pub use probe::{ProbeState, readiness_body_fields};
pub use readiness::{ReadinessOptions, ReadyReport, wait_until_ready};
pub use stream::{StreamReport, stream_chat};

use crate::answers::Answers;
use crate::i18n::Msg;

/// Which check a progress line comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// `wait_until_ready` (SOP step F).
    Readiness,
    /// `api_test` (SOP step G).
    ApiTest,
}

/// One line of progress: an attempt and what it found, a check passed.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub phase: Phase,
    pub msg: Msg,
}

/// Where the checks report their progress; the caller decides what a line becomes.
pub trait Reporter: Send + Sync {
    fn report(&self, progress: Progress);
}

/// Base URLs (`http://127.0.0.1:80`, no trailing slash) of the parts checked from the host.
/// `None`: the service is not enabled, or its port is not published.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Endpoints {
    /// The clients' entry point.
    pub nginx: Option<String>,
    /// The proxy's own published port (admin and debugging).
    pub proxy: Option<String>,
    pub prometheus: Option<String>,
}

impl Endpoints {
    /// Loopback URLs from the answers' port plan: a service bound to every interface
    /// (`0.0.0.0`, `::`) is reached on loopback, where no firewall stands in the way.
    pub fn from_answers(a: &Answers) -> Endpoints {
        Endpoints {
            nginx: a.services.nginx.then(|| base_url(&a.bind.nginx, a.ports.nginx)),
            proxy: a.ports.litellm.map(|p| base_url(&a.bind.litellm, p)),
            prometheus: match (a.services.prometheus, a.ports.prometheus) {
                (true, Some(p)) => Some(base_url(&a.bind.prometheus, p)),
                _ => None,
            },
        }
    }

    /// Where clients go: nginx when it is part of the stack, else the proxy itself.
    pub fn client_base(&self) -> Option<&str> {
        self.nginx.as_deref().or(self.proxy.as_deref())
    }
}

/// `http://host:port` for a service published on `bind`.
pub fn base_url(bind: &str, port: u32) -> String {
    let host = match bind.trim() {
        "" | "0.0.0.0" => "127.0.0.1".to_string(),
        "::" | "[::]" => "[::1]".to_string(),
        h if h.contains(':') && !h.starts_with('[') => format!("[{h}]"),
        h => h.to_string(),
    };
    format!("http://{host}:{port}")
}

/// The one HTTP client of the checks. System proxies are ignored: every URL checked is the
/// local stack, and a corporate `HTTP_PROXY` would otherwise swallow loopback requests.
fn http_client() -> Result<reqwest::Client, HealthError> {
    reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(std::time::Duration::from_secs(3))
        .build()
        .map_err(|e| HealthError::Client { detail: e.to_string() })
}

pub use crate::i18n::human_duration;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::Os;

    #[test]
    fn endpoints_follow_the_port_plan_on_loopback() {
        let mut a = Answers::defaults_for(Os::Linux);
        let ep = Endpoints::from_answers(&a);
        assert_eq!(ep.nginx.as_deref(), Some("http://127.0.0.1:80"));
        assert_eq!(ep.proxy.as_deref(), Some("http://127.0.0.1:4000"));
        assert_eq!(ep.prometheus.as_deref(), Some("http://127.0.0.1:9090"));
        a.services.nginx = false;
        a.services.prometheus = false;
        a.ports.litellm = Some(4100);
        a.bind.litellm = "::".into();
        let ep = Endpoints::from_answers(&a);
        assert_eq!(ep.nginx, None);
        assert_eq!(ep.prometheus, None);
        assert_eq!(ep.client_base(), Some("http://[::1]:4100"));
    }

    #[test]
    fn durations_read_naturally() {
        use std::time::Duration;
        assert_eq!(human_duration(Duration::from_millis(1234)), "1.2 s");
        assert_eq!(human_duration(Duration::from_secs(42)), "42 s");
        assert_eq!(human_duration(Duration::from_secs(300)), "5 min 0 s");
    }
}
