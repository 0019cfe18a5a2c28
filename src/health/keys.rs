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
