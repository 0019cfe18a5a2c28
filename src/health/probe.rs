//! One look at `/health/readiness`, told in words a new team member understands.

use std::time::Duration;

use super::error::RequestFailure;
use crate::i18n::Msg;

/// What one request to `/health/readiness` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeState {
    /// Connection refused: nothing listens on the port yet (the proxy keeps its port closed
    /// while it starts).
    Refused,
    /// The port took the connection but no HTTP answer came back (closed, reset, timed out).
    NoAnswer { detail: String, timed_out: bool },
    /// 502 or 504: nginx answers, the proxy behind it does not.
    Gateway { status: u16 },
    /// 503: the proxy runs but its database is not connected.
    DbNotConnected { status: u16, db: Option<String> },
    /// 503 with `"status": "shutting_down"`: the proxy is stopping (a restart in progress).
    ShuttingDown,
    /// Any other status: probably not LiteLLM on that port.
    Unexpected { status: u16 },
    /// 200, the SOP's criterion. `db` is the body's `db` field, `version` its `litellm_version`.
    Ready {
        version: Option<String>,
        db: Option<String>,
    },
}

impl ProbeState {
    pub fn from_response(status: u16, body: &str) -> ProbeState {
        let (db, version) = readiness_body_fields(body);
        let shutting_down = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("status").and_then(|s| s.as_str()).map(|s| s == "shutting_down"))
            .unwrap_or(false);
        match status {
            200 => ProbeState::Ready { version, db },
            503 if shutting_down => ProbeState::ShuttingDown,
            503 => ProbeState::DbNotConnected { status, db },
            502 | 504 => ProbeState::Gateway { status },
            _ => ProbeState::Unexpected { status },
        }
    }

    pub fn from_error(e: &reqwest::Error) -> ProbeState {
        let failure = RequestFailure::of(e);
        if failure == RequestFailure::Refused {
            return ProbeState::Refused;
        }
        // The innermost error says it best ("connection reset by peer").
        let mut innermost = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            innermost = s.to_string();
            source = s.source();
        }
        ProbeState::NoAnswer {
            detail: innermost,
            timed_out: failure == RequestFailure::Timeout,
        }
    }

    pub fn is_ready(&self) -> bool {
        matches!(self, ProbeState::Ready { .. })
    }

    /// Something answers on the port but is not ready: it may turn ready any moment, and
    /// nothing cheaper than asking again tells when.
    pub fn is_listening_not_ready(&self) -> bool {
        match self {
            ProbeState::Gateway { .. } | ProbeState::DbNotConnected { .. } | ProbeState::ShuttingDown => true,
            ProbeState::NoAnswer { timed_out, .. } => !timed_out,
            ProbeState::Unexpected { status } => *status >= 500,
            ProbeState::Refused | ProbeState::Ready { .. } => false,
        }
    }

    /// Same situation for a person (attempt counters and bodies aside).
    pub fn same_kind(&self, other: &ProbeState) -> bool {
        use ProbeState::*;
        match (self, other) {
            (Refused, Refused)
            | (NoAnswer { .. }, NoAnswer { .. })
            | (ShuttingDown, ShuttingDown)
            | (Ready { .. }, Ready { .. }) => true,
            (Gateway { status: a }, Gateway { status: b })
            | (DbNotConnected { status: a, .. }, DbNotConnected { status: b, .. })
            | (Unexpected { status: a }, Unexpected { status: b }) => a == b,
            _ => false,
        }
    }

    /// The state in words, for `url`.
    pub fn describe(&self, url: &str) -> Msg {
        match self {
            ProbeState::Refused => msg!("health.state.refused").arg("url", url),
            ProbeState::NoAnswer { detail, .. } => msg!("health.state.no_answer").arg("url", url).arg("detail", detail),
            ProbeState::Gateway { status } => msg!("health.state.gateway").arg("url", url).arg("status", status),
            ProbeState::DbNotConnected { status, .. } => msg!("health.state.db_not_connected")
                .arg("url", url)
                .arg("status", status),
            ProbeState::ShuttingDown => msg!("health.state.shutting_down").arg("url", url),
            ProbeState::Unexpected { status } => msg!("health.state.unexpected").arg("url", url).arg("status", status),
            ProbeState::Ready { .. } => msg!("health.state.ready").arg("url", url),
        }
    }

    /// What to do when the run gives up in this state.
    pub fn hint(&self) -> Msg {
        Msg::new(match self {
            ProbeState::Refused => key!("health.hint.refused"),
            ProbeState::NoAnswer { .. } => key!("health.hint.no_answer"),
            ProbeState::Gateway { .. } => key!("health.hint.gateway"),
            ProbeState::DbNotConnected { .. } => key!("health.hint.db"),
            ProbeState::ShuttingDown => key!("health.hint.shutting_down"),
            ProbeState::Unexpected { .. } => key!("health.hint.unexpected"),
            ProbeState::Ready { .. } => key!("health.hint.refused"),
        })
    }
}

/// The `db` and `litellm_version` fields of a readiness body, when it is JSON and has them.
pub fn readiness_body_fields(body: &str) -> (Option<String>, Option<String>) {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(body) else {
        return (None, None);
    };
    let field = |name: &str| v.get(name).and_then(|x| x.as_str()).map(str::to_string);
    (field("db"), field("litellm_version"))
}

/// One GET of `{base}/health/readiness`, given at most `timeout`.
pub async fn probe(client: &reqwest::Client, base: &str, timeout: Duration) -> ProbeState {
    let url = format!("{base}/health/readiness");
    match client.get(&url).timeout(timeout).send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            match resp.text().await {
                Ok(body) => ProbeState::from_response(status, &body),
                Err(e) => ProbeState::from_error(&e),
            }
        }
        Err(e) => ProbeState::from_error(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_told_apart() {
        let ready = ProbeState::from_response(
            200,
            r#"{"status":"healthy","db":"Not connected","litellm_version":"1.108.7"}"#,
        );
        assert_eq!(
            ready,
            ProbeState::Ready {
                version: Some("1.108.7".into()),
                db: Some("Not connected".into())
            }
        );
        assert_eq!(
            ProbeState::from_response(502, "<html>"),
            ProbeState::Gateway { status: 502 }
        );
        assert_eq!(ProbeState::from_response(504, ""), ProbeState::Gateway { status: 504 });
        assert_eq!(
            ProbeState::from_response(503, r#"{"status":"shutting_down"}"#),
            ProbeState::ShuttingDown
        );
        assert!(matches!(
            ProbeState::from_response(503, r#"{"status":"healthy","db":"disconnected"}"#),
            ProbeState::DbNotConnected { status: 503, .. }
        ));
        assert_eq!(
            ProbeState::from_response(404, ""),
            ProbeState::Unexpected { status: 404 }
        );
    }
}
