//! What fails in the health checks, as data: which request, the HTTP status the gateway
//! answered, how a request failed (from reqwest's error kinds and the I/O error under them).
//! The one conversion into the user-facing [`Error`] (message, hint, exit code) is here.

use std::time::Duration;

use super::human_duration;
use super::probe::ProbeState;
use crate::error::Error;
use crate::i18n::Msg;

/// The requests of the API test, by what they ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiRequest {
    Models,
    Chat,
    ChatStream,
    Metrics,
    /// The virtual-key round trip of the database path.
    KeyGenerate,
    KeyChat,
    KeyDelete,
    KeyInfo,
    /// Prometheus's metrics-only key (`steps::metrics_key`).
    MetricsKeyInfo,
    MetricsKeyDelete,
    MetricsKeyGenerate,
}

impl ApiRequest {
    /// The request as the messages name it.
    pub fn what(self) -> &'static str {
        match self {
            ApiRequest::Models => "GET /v1/models",
            ApiRequest::Chat => "POST /v1/chat/completions",
            ApiRequest::ChatStream => "POST /v1/chat/completions (stream)",
            ApiRequest::Metrics => "GET /metrics/",
            ApiRequest::KeyGenerate => "POST /key/generate",
            ApiRequest::KeyChat => "POST /v1/chat/completions (with a temporary virtual key)",
            ApiRequest::KeyDelete => "POST /key/delete",
            ApiRequest::KeyInfo => "GET /v1/models (with the deleted virtual key)",
            ApiRequest::MetricsKeyInfo => "GET /key/info (Prometheus's key)",
            ApiRequest::MetricsKeyDelete => "POST /key/delete (Prometheus's earlier key)",
            ApiRequest::MetricsKeyGenerate => "POST /key/generate (Prometheus's key)",
        }
    }
}

/// How a request got no HTTP answer, from reqwest's error kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestFailure {
    /// Nothing listens on the port (the I/O error under it is `ConnectionRefused`).
    Refused,
    Timeout,
    /// The connection failed otherwise (reset, unreachable address).
    Connect,
    /// The answer's body broke off or could not be decoded.
    Body,
    Other,
}

impl RequestFailure {
    pub fn of(e: &reqwest::Error) -> RequestFailure {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(s) = source {
            if let Some(io) = s.downcast_ref::<std::io::Error>() {
                if io.kind() == std::io::ErrorKind::ConnectionRefused {
                    return RequestFailure::Refused;
                }
            }
            source = s.source();
        }
        if e.is_timeout() {
            RequestFailure::Timeout
        } else if e.is_connect() {
            RequestFailure::Connect
        } else if e.is_body() || e.is_decode() {
            RequestFailure::Body
        } else {
            RequestFailure::Other
        }
    }
}

/// What the last readiness attempt found: in words, and as the states of the clients' path
/// and of the proxy's own port (when nginx stands in front).
#[derive(Debug, Clone, PartialEq)]
pub struct LastAttempt {
    pub state: Msg,
    pub primary: ProbeState,
    pub direct: Option<ProbeState>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HealthError {
    /// Neither nginx nor the proxy's port is published.
    #[error("nothing to check: no published endpoint")]
    NoEndpoint,
    #[error("HTTP client: {detail}")]
    Client { detail: String },
    /// The request got no HTTP answer.
    #[error("{} {url}: {detail}", request.what())]
    Request {
        request: ApiRequest,
        url: String,
        failure: RequestFailure,
        detail: String,
    },
    /// The gateway answered, with a status other than the one the check wants. `body` is its
    /// answer, shortened and with the key blanked.
    #[error("{} {url}: HTTP {status}", request.what())]
    Status {
        request: ApiRequest,
        url: String,
        status: u16,
        body: Option<String>,
    },
    /// `/health/readiness` did not answer 200 before the deadline.
    #[error("not ready after {timeout:?} ({attempts} attempts)")]
    NotReady {
        timeout: Duration,
        attempts: u32,
        last: Box<LastAttempt>,
    },
    /// Configured models `/v1/models` does not list (more models than configured is fine:
    /// those come from the database).
    #[error("/v1/models lists {got:?}, without {missing:?} of config.yaml")]
    ModelsMismatch { missing: Vec<String>, got: Vec<String> },
    /// The API test's temporary virtual key is still there after `/key/delete`.
    #[error("the temporary virtual key {alias} survived /key/delete")]
    KeyLeft { alias: String },
    /// A request with a wrong key was served.
    #[error("{url} answered HTTP {status} to a wrong key")]
    Open { url: String, status: u16 },
    #[error("{model} answered {got:?} instead of {want:?}")]
    WrongAnswer { model: String, got: String, want: String },
    #[error("{url} answered 200 without a message content")]
    NoContent { url: String, body: String },
    /// The stream carried something that is not a completion chunk.
    #[error("{url}: bad event: {detail}")]
    BadEvent { url: String, detail: String },
    #[error("the streamed answer of {model} is {content_type}, not server-sent events")]
    NotSse { model: String, content_type: String },
    #[error("the streamed answer of {model} was {got:?} instead of {want:?}")]
    StreamContent { model: String, got: String, want: String },
    /// Prometheus did not report the litellm target up in time.
    #[error("Prometheus: litellm target not up after {elapsed:?}")]
    PrometheusTarget { elapsed: Duration, state: Msg },
}

impl HealthError {
    /// The same error with `key` blanked from the gateway's answer it carries.
    pub(super) fn scrubbed(self, key: &crate::secrets::Secret) -> HealthError {
        match self {
            HealthError::Status {
                request,
                url,
                status,
                body,
            } => HealthError::Status {
                request,
                url,
                status,
                body: body.map(|b| super::api::scrub(&b, key)),
            },
            HealthError::Request {
                request,
                url,
                failure,
                detail,
            } => HealthError::Request {
                request,
                url,
                failure,
                detail: super::api::scrub(&detail, key),
            },
            HealthError::NoContent { url, body } => HealthError::NoContent {
                url,
                body: super::api::scrub(&body, key),
            },
            e => e,
        }
    }
}

impl From<HealthError> for Error {
    fn from(e: HealthError) -> Error {
        let request_hint = || msg!("health.api.hint.request");
        match e {
            HealthError::NoEndpoint => {
                Error::input(msg!("health.error.no_endpoint")).hint(msg!("health.hint.no_endpoint"))
            }
            HealthError::Client { detail } => Error::failed(msg!("health.error.client")).detail(detail),
            HealthError::Request {
                request, url, detail, ..
            } => Error::failed(
                msg!("health.api.error.request")
                    .arg("what", request.what())
                    .arg("url", url),
            )
            .detail(detail)
            .hint(request_hint()),
            HealthError::Status {
                request,
                url,
                status,
                body,
            } => {
                let hint = match (request, status) {
                    (ApiRequest::Models, 401 | 403) => msg!("health.api.hint.key_refused"),
                    (ApiRequest::Metrics, _) => msg!("health.api.hint.metrics"),
                    (ApiRequest::MetricsKeyInfo | ApiRequest::MetricsKeyDelete | ApiRequest::MetricsKeyGenerate, _) => {
                        msg!("metrics_key.hint.api")
                    }
                    (
                        ApiRequest::KeyGenerate | ApiRequest::KeyChat | ApiRequest::KeyDelete | ApiRequest::KeyInfo,
                        _,
                    ) => {
                        msg!("health.api.hint.key")
                    }
                    _ => request_hint(),
                };
                let what = msg!("health.api.error.status")
                    .arg("what", request.what())
                    .arg("url", url)
                    .arg("status", status);
                let e = Error::failed(what).hint(hint);
                match body {
                    Some(body) => e.detail(body),
                    None => e,
                }
            }
            HealthError::NotReady {
                timeout,
                attempts,
                last,
            } => {
                let LastAttempt { state, primary, direct } = *last;
                let hint = match (&primary, &direct) {
                    (ProbeState::Gateway { .. }, Some(ProbeState::Ready { .. })) => {
                        msg!("health.hint.nginx_upstream")
                    }
                    _ => primary.hint(),
                };
                Error::failed(
                    msg!("health.error.not_ready")
                        .arg("timeout", human_duration(timeout))
                        .arg("attempts", attempts)
                        .nested("state", state),
                )
                .hint(hint)
            }
            HealthError::ModelsMismatch { missing, got } => Error::failed(
                msg!("health.api.error.models_mismatch")
                    .arg("missing", missing.join(", "))
                    .arg("got", got.join(", ")),
            )
            .hint(msg!("health.api.hint.models_mismatch")),
            HealthError::KeyLeft { alias } => Error::failed(msg!("health.api.error.key_left").arg("alias", &alias))
                .hint(msg!("health.api.hint.key_left").arg("alias", alias)),
            HealthError::Open { url, status } => {
                Error::failed(msg!("health.api.error.open").arg("url", url).arg("status", status))
                    .hint(msg!("health.api.hint.open"))
            }
            HealthError::WrongAnswer { model, got, want } => Error::failed(
                msg!("health.api.error.wrong_answer")
                    .arg("model", model)
                    .arg("got", got)
                    .arg("want", want),
            )
            .hint(msg!("health.api.hint.models_mismatch")),
            HealthError::NoContent { url, body } => Error::failed(msg!("health.api.error.no_content").arg("url", url))
                .detail(body)
                .hint(request_hint()),
            HealthError::BadEvent { url, detail } => Error::failed(msg!("health.api.error.bad_event").arg("url", url))
                .detail(detail)
                .hint(request_hint()),
            HealthError::NotSse { model, content_type } => Error::failed(
                msg!("health.api.error.not_sse")
                    .arg("model", model)
                    .arg("content_type", content_type),
            )
            .hint(msg!("health.api.hint.stream")),
            HealthError::StreamContent { model, got, want } => Error::failed(
                msg!("health.api.error.stream_content")
                    .arg("model", model)
                    .arg("got", got)
                    .arg("want", want),
            )
            .hint(msg!("health.api.hint.stream")),
            HealthError::PrometheusTarget { elapsed, state } => Error::failed(
                msg!("health.api.error.prometheus")
                    .arg("elapsed", human_duration(elapsed))
                    .nested("state", state),
            )
            .hint(msg!("health.api.hint.prometheus")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Exit;
    use crate::i18n::Lang;

    fn status(request: ApiRequest, status: u16) -> Error {
        HealthError::Status {
            request,
            url: "http://127.0.0.1:80/x".into(),
            status,
            body: Some("{\"error\":\"no\"}".into()),
        }
        .into()
    }

    #[test]
    fn a_refused_master_key_says_to_reinstall_with_the_key_from_env() {
        for code in [401, 403] {
            let e = status(ApiRequest::Models, code);
            assert_eq!(e.exit, Exit::Failed);
            assert_eq!(e.hint.map(|h| h.key), Some("health.api.hint.key_refused"));
        }
        assert_eq!(
            status(ApiRequest::Models, 500).hint.map(|h| h.key),
            Some("health.api.hint.request")
        );
        // A chat request refused is not about the key in .env: the models request passed.
        assert_eq!(
            status(ApiRequest::Chat, 401).hint.map(|h| h.key),
            Some("health.api.hint.request")
        );
        assert_eq!(
            status(ApiRequest::Metrics, 401).hint.map(|h| h.key),
            Some("health.api.hint.metrics")
        );
    }

    #[test]
    fn a_status_error_names_the_request_and_keeps_the_body() {
        let text = status(ApiRequest::ChatStream, 502).render(Lang::En);
        assert!(
            text.contains("POST /v1/chat/completions (stream)") && text.contains("HTTP 502"),
            "{text}"
        );
        assert!(text.contains("{\"error\":\"no\"}"), "{text}");
    }

    #[test]
    fn no_endpoint_is_an_input_error() {
        let e: Error = HealthError::NoEndpoint.into();
        assert_eq!(e.exit, Exit::Input);
        assert!(e.render(Lang::ZhTw).contains("nginx"), "{}", e.render(Lang::ZhTw));
    }

    #[test]
    fn nginx_failing_while_the_proxy_is_ready_points_at_the_upstream() {
        let e: Error = HealthError::NotReady {
            timeout: Duration::from_millis(1500),
            attempts: 7,
            last: Box::new(LastAttempt {
                state: msg!("health.state.gateway").arg("url", "u").arg("status", 502),
                primary: ProbeState::Gateway { status: 502 },
                direct: Some(ProbeState::Ready {
                    version: None,
                    db: None,
                }),
            }),
        }
        .into();
        assert_eq!(e.exit, Exit::Failed);
        assert_eq!(e.hint.as_ref().map(|h| h.key), Some("health.hint.nginx_upstream"));
        assert!(e.render(Lang::En).contains("1.5 s"), "{}", e.render(Lang::En));
    }

    #[tokio::test]
    async fn a_closed_port_is_a_refused_request() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let client = super::super::http_client().expect("client");
        let e = client
            .get(format!("http://127.0.0.1:{port}/"))
            .send()
            .await
            .expect_err("nothing listens");
        assert_eq!(RequestFailure::of(&e), RequestFailure::Refused);
    }
}
