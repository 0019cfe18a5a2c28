//! Step G, the database path: a short-lived virtual key made with the master key
//! (`/key/generate`), used for one chat, then deleted (`/key/delete`), and checked gone
//! (a chat with it is refused). It proves what the team's own keys need: the proxy writes to and reads
//! from its Postgres, with the salt key it was started with.
//!
//! The key's value never leaves this file: it is scrubbed from every text that could carry
//! it, and the key is deleted even when the chat with it fails. Its chat is sent with
//! LiteLLM's `no-log` flag, so no spend-log row keeps its hash; LiteLLM's archive row of the
//! deleted key is removed by the step that owns the database (`steps::testkey`).

use std::time::Duration;

use rand::Rng;
use serde_json::{Value, json};

use super::api::{post_chat_as, scrub};
use super::error::{ApiRequest, HealthError, RequestFailure};
use crate::i18n::Msg;
use crate::secrets::Secret;

type Result<T, E = HealthError> = std::result::Result<T, E>;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// The alias every test key carries, so a key left by an interrupted run is recognisable in
/// the admin UI (and removable with `/key/delete` by alias).
pub const KEY_ALIAS_PREFIX: &str = "litellm-stack-api-test-";

/// Creates a key limited to `model` for 10 minutes, chats once with it, deletes it.
/// Returns the alias it had.
pub(super) async fn virtual_key_round_trip(
    client: &reqwest::Client,
    base: &str,
    master_key: &Secret,
    model: &str,
    want_answer: &str,
    say: &(dyn Fn(Msg) + Sync),
) -> Result<String> {
    let alias = format!("{KEY_ALIAS_PREFIX}{:08x}", rand::rng().random::<u32>());
    let key = generate(client, base, master_key, model, &alias).await?;
    let chatted = async {
        let answer = post_chat_as(client, base, ApiRequest::KeyChat, &key, master_key, model, true).await?;
        if answer != want_answer {
            return Err(HealthError::WrongAnswer {
                model: model.to_string(),
                got: answer,
                want: want_answer.to_string(),
            });
        }
        Ok(())
    }
    .await;
    // Deleted whatever the chat did: a test key must not outlive the test.
    let deleted = delete(client, base, master_key, &key, &alias).await;
    chatted?;
    deleted?;
    say(msg!("health.api.key_ok").arg("alias", &alias).arg("model", model));
    Ok(alias)
}

async fn generate(
    client: &reqwest::Client,
    base: &str,
    master_key: &Secret,
    model: &str,
    alias: &str,
) -> Result<Secret> {
    let url = format!("{base}/key/generate");
    let body = json!({
        "models": [model],
        "duration": "10m",
        "key_alias": alias,
        "max_budget": 0.01,
        "metadata": {"created_by": "litellm-stack API test (deleted right after the test)"},
    });
    let (status, text) = send(client.post(&url).json(&body), ApiRequest::KeyGenerate, &url, master_key).await?;
    let key = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v.get("key").and_then(Value::as_str).map(Secret::new));
    match (status, key) {
        (200, Some(key)) if !key.is_empty() => Ok(key),
        (status, _) => Err(HealthError::Status {
            request: ApiRequest::KeyGenerate,
            url,
            status,
            body: Some(scrub(&text, master_key)),
        }),
    }
}

async fn delete(client: &reqwest::Client, base: &str, master_key: &Secret, key: &Secret, alias: &str) -> Result<()> {
    let url = format!("{base}/key/delete");
    let body = json!({ "keys": [key.expose()] });
    let (status, text) = send(client.post(&url).json(&body), ApiRequest::KeyDelete, &url, master_key).await?;
    if status != 200 {
        return Err(HealthError::Status {
            request: ApiRequest::KeyDelete,
            url,
            status,
            body: Some(scrub(&scrub(&text, key), master_key)),
        });
    }
    // Gone: the deleted key no longer opens the gateway (LiteLLM drops it from its cache
    // on delete, so this is immediate).
    let url = format!("{base}/v1/models");
    let resp = client
        .get(&url)
        .bearer_auth(key.expose())
        .timeout(REQUEST_TIMEOUT)
        .send()
        .await
        .map_err(|e| HealthError::Request {
            request: ApiRequest::KeyInfo,
            url: url.clone(),
            failure: RequestFailure::of(&e),
            detail: scrub(&e.to_string(), key),
        })?;
    if resp.status().is_success() {
        return Err(HealthError::KeyLeft {
            alias: alias.to_string(),
        });
    }
    Ok(())
}

/// Sends with the master key; the status and the body's text.
async fn send(
    req: reqwest::RequestBuilder,
    request: ApiRequest,
    url: &str,
    master_key: &Secret,
) -> Result<(u16, String)> {
    let resp = req
        .bearer_auth(master_key.expose())
        .timeout(REQUEST_TIMEOUT)
        .send()
        .await
        .map_err(|e| HealthError::Request {
            request,
            url: url.to_string(),
            failure: RequestFailure::of(&e),
            detail: e.to_string(),
        })?;
    let status = resp.status().as_u16();
    Ok((status, resp.text().await.unwrap_or_default()))
}

/// The alias of Prometheus's credential: one key of that alias at most, the installer's.
pub const METRICS_KEY_ALIAS: &str = "litellm-stack-prometheus";
/// The only routes it may call. LiteLLM matches an allowed route exactly or as a prefix at a
/// `/` (`route_checks.py`), so `/metrics` covers `/metrics/`, which Prometheus scrapes.
pub const METRICS_KEY_ROUTES: [&str; 1] = ["/metrics"];

/// What the proxy's database says of the key in Prometheus's key file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetricsKeyLook {
    /// Live, the installer's (its alias), allowed `/metrics` and nothing else.
    Fit,
    /// Not in the database: never made there, or the database was replaced (a restore).
    Unknown,
    /// There, but not to be kept: why, in a few words (`deleted`, `alias other-key`…).
    Unfit(String),
}

/// How the key fares on what it must and must not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsKeyScope {
    /// `GET /metrics/` on the proxy's published port; `None` when that port is not published
    /// (nginx keeps `/metrics` off the clients' entry point).
    pub metrics: Option<u16>,
    /// `GET /v1/models`: must be refused.
    pub models: u16,
}

impl MetricsKeyScope {
    /// Scrapes metrics (where that can be seen from here) and opens nothing else.
    pub fn fits(&self) -> bool {
        self.metrics.is_none_or(|s| s == 200) && self.models >= 400
    }
}

/// LiteLLM keeps a key as the SHA-256 of its text (`hash_token`); `/key/info` takes the hash,
/// so the key itself never travels in a URL (nor into an access log).
pub fn key_hash(key: &Secret) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(key.expose().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Looks the key up with the master key (`GET /key/info?key=<hash>`).
pub async fn look_up_metrics_key(base: &str, master_key: &Secret, key: &Secret) -> Result<MetricsKeyLook> {
    let client = super::http_client()?;
    let url = format!("{base}/key/info?key={}", key_hash(key));
    let (status, text) = send(client.get(&url), ApiRequest::MetricsKeyInfo, &url, master_key).await?;
    match status {
        200 => Ok(judge_key_info(&serde_json::from_str(&text).unwrap_or(Value::Null))),
        404 => Ok(MetricsKeyLook::Unknown),
        status => Err(HealthError::Status {
            request: ApiRequest::MetricsKeyInfo,
            url,
            status,
            body: Some(scrub(&scrub(&text, key), master_key)),
        }),
    }
}

/// `/key/info`'s answer: the key's row under `info`. Proxies that derive no `status` leave it
/// out; `blocked` says the same for them.
pub fn judge_key_info(v: &Value) -> MetricsKeyLook {
    let info = v.get("info").unwrap_or(&Value::Null);
    if !info.is_object() {
        return MetricsKeyLook::Unfit("no key info".into());
    }
    match info.get("status").and_then(Value::as_str) {
        Some("active") | None => {}
        Some(other) => return MetricsKeyLook::Unfit(other.to_string()),
    }
    if info.get("blocked").and_then(Value::as_bool) == Some(true) {
        return MetricsKeyLook::Unfit("blocked".into());
    }
    let alias = info.get("key_alias").and_then(Value::as_str).unwrap_or_default();
    if alias != METRICS_KEY_ALIAS {
        return MetricsKeyLook::Unfit(format!("alias {alias:?}"));
    }
    let routes: Vec<&str> = info
        .get("allowed_routes")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if routes != METRICS_KEY_ROUTES {
        return MetricsKeyLook::Unfit(format!("allowed routes {routes:?}"));
    }
    MetricsKeyLook::Fit
}

/// A new key for Prometheus: any earlier one of its alias deleted first (LiteLLM wants aliases
/// unique, and an old one is no one's once replaced), then `/key/generate` with the master key:
/// `/metrics` only, no expiry.
pub async fn make_metrics_key(base: &str, master_key: &Secret) -> Result<Secret> {
    let client = super::http_client()?;
    let url = format!("{base}/key/delete");
    let body = json!({ "key_aliases": [METRICS_KEY_ALIAS] });
    let (status, text) = send(
        client.post(&url).json(&body),
        ApiRequest::MetricsKeyDelete,
        &url,
        master_key,
    )
    .await?;
    // 404: "No keys found", there was none.
    if status != 200 && status != 404 {
        return Err(HealthError::Status {
            request: ApiRequest::MetricsKeyDelete,
            url,
            status,
            body: Some(scrub(&text, master_key)),
        });
    }
    let url = format!("{base}/key/generate");
    let body = json!({
        "key_alias": METRICS_KEY_ALIAS,
        "allowed_routes": METRICS_KEY_ROUTES,
        "metadata": {"created_by": "litellm-stack: Prometheus's credential, for /metrics/ only"},
    });
    let (status, text) = send(
        client.post(&url).json(&body),
        ApiRequest::MetricsKeyGenerate,
        &url,
        master_key,
    )
    .await?;
    let key = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v.get("key").and_then(Value::as_str).map(Secret::new));
    match (status, key) {
        (200, Some(key)) if key.expose().starts_with("sk-") => Ok(key),
        (status, key) => {
            let body = scrub(&text, master_key);
            Err(HealthError::Status {
                request: ApiRequest::MetricsKeyGenerate,
                url,
                status,
                body: Some(key.map_or(body.clone(), |k| scrub(&body, &k))),
            })
        }
    }
}

/// What the key opens: `/metrics/` and `/v1/models` on the proxy's port when published (nginx
/// keeps `/metrics` off its entry point), else `/v1/models` only, through nginx.
pub async fn metrics_key_scope(ep: &super::Endpoints, key: &Secret) -> Result<MetricsKeyScope> {
    let Some(base) = ep.proxy.as_deref().or(ep.client_base()) else {
        return Err(HealthError::NoEndpoint);
    };
    let client = super::http_client()?;
    let status_of = |url: String, request: ApiRequest| {
        let req = client.get(&url).bearer_auth(key.expose()).timeout(REQUEST_TIMEOUT);
        async move {
            req.send()
                .await
                .map(|r| r.status().as_u16())
                .map_err(|e| HealthError::Request {
                    request,
                    url: url.clone(),
                    failure: RequestFailure::of(&e),
                    detail: scrub(&e.to_string(), key),
                })
        }
    };
    let metrics = match ep.proxy.as_deref() {
        Some(proxy) => Some(status_of(format!("{proxy}/metrics/"), ApiRequest::Metrics).await?),
        None => None,
    };
    let models = status_of(format!("{base}/v1/models"), ApiRequest::Models).await?;
    Ok(MetricsKeyScope { metrics, models })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_litellms_hash_token() {
        // python3 -c 'import hashlib; print(hashlib.sha256(b"sk-1234").hexdigest())'
        assert_eq!(
            key_hash(&Secret::new("sk-1234".to_string())),
            "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b"
        );
    }

    fn info(fields: Value) -> Value {
        json!({ "key": "hash", "info": fields })
    }

    #[test]
    fn only_a_live_metrics_only_key_of_our_alias_is_kept() {
        let ours = json!({"key_alias": METRICS_KEY_ALIAS, "allowed_routes": ["/metrics"], "status": "active", "blocked": null});
        assert_eq!(judge_key_info(&info(ours.clone())), MetricsKeyLook::Fit);
        // An older proxy without `status`.
        let mut no_status = ours.clone();
        no_status.as_object_mut().map(|o| o.remove("status"));
        assert_eq!(judge_key_info(&info(no_status)), MetricsKeyLook::Fit);
        for (field, value, why) in [
            ("status", json!("deleted"), "deleted"),
            ("status", json!("expired"), "expired"),
            ("blocked", json!(true), "blocked"),
            ("key_alias", json!("team-a"), "alias \"team-a\""),
            ("allowed_routes", json!([]), "allowed routes []"),
            ("allowed_routes", json!(["/metrics", "/v1/models"]), "allowed routes"),
            ("allowed_routes", Value::Null, "allowed routes []"),
        ] {
            let mut v = ours.clone();
            v[field] = value;
            match judge_key_info(&info(v)) {
                MetricsKeyLook::Unfit(w) => assert!(w.starts_with(why), "{field}: {w}"),
                other => panic!("{field}: {other:?}"),
            }
        }
        assert!(matches!(judge_key_info(&Value::Null), MetricsKeyLook::Unfit(_)));
    }

    #[test]
    fn a_scope_fits_when_metrics_answer_and_the_models_refuse() {
        let s = |metrics, models| MetricsKeyScope { metrics, models };
        assert!(s(Some(200), 403).fits());
        assert!(s(None, 401).fits());
        assert!(!s(Some(401), 403).fits());
        assert!(!s(Some(200), 200).fits());
        assert!(!s(None, 200).fits());
    }
}
