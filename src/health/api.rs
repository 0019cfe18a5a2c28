//! Step G: the API test with the generated master key, as a client would use the gateway.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::error::{ApiRequest, HealthError, RequestFailure};
use super::{Endpoints, Phase, Progress, Reporter, http_client, human_duration};
use crate::answers::SMOKE_TEST_MODEL;
use crate::i18n::Msg;
use crate::secrets::Secret;
use crate::stack::SMOKE_TEST_ANSWER;

type Result<T, E = HealthError> = std::result::Result<T, E>;

/// Where the API test's progress lines go.
type Say<'a> = &'a (dyn Fn(Msg) + Sync);

const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Sent to check that the gateway refuses keys it did not issue.
const WRONG_KEY: &str = "sk-litellm-stack-auth-check-not-a-key";
/// The scrape interval of the generated prometheus.yml, used when Prometheus does not say.
const DEFAULT_SCRAPE_INTERVAL: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ApiReport {
    /// What `/v1/models` listed: every configured model (or the test failed), and maybe more.
    pub models: Vec<String>,
    /// Listed models that config.yaml does not configure: added in the admin UI or through
    /// `/model/new` and kept in the database (`STORE_MODEL_IN_DB`). Reported, never a failure.
    pub db_models: Vec<String>,
    /// The alias of the temporary virtual key made, used and deleted; `None` when the
    /// smoke-test model (which it chats with) is not configured.
    pub virtual_key: Option<String>,
    /// The smoke-test model's answer; `None` when that model is not configured.
    pub smoke_answer: Option<String>,
    /// Content chunks of the streamed completion.
    pub streamed_chunks: usize,
    /// `None` when Prometheus is not part of the stack (or its port is not published).
    pub prometheus_target_up: Option<bool>,
    /// `/metrics/` on the proxy's port refuses a request without the key; `None` when not
    /// checked (Prometheus off, or the proxy's port not published).
    pub metrics_protected: Option<bool>,
    /// From `/health/readiness/details` (asked with the key): recent proxies leave the
    /// version out of the public readiness body.
    pub proxy_version: Option<String>,
    /// The cache type the proxy uses (`redis` for the generated config), from the same place.
    pub cache: Option<String>,
    pub warnings: Vec<Msg>,
}

/// Text from the gateway, shortened, with the key blanked should it echo it.
pub(super) fn scrub(text: &str, key: &Secret) -> String {
    let mut t = if key.is_empty() {
        text.to_string()
    } else {
        text.replace(key.expose(), "***")
    };
    if t.len() > 400 {
        let cut = (0..=400).rev().find(|i| t.is_char_boundary(*i)).unwrap_or(0);
        t.truncate(cut);
        t.push('…');
    }
    t
}

pub(super) fn request_failed(request: ApiRequest, url: &str, e: &reqwest::Error) -> HealthError {
    HealthError::Request {
        request,
        url: url.to_string(),
        failure: RequestFailure::of(e),
        detail: e.to_string(),
    }
}

/// What the API test may ask of the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiOptions {
    /// The proxy runs on its database (every generated stack does): the virtual-key round
    /// trip proves it. `false` only for a proxy run without one (the host test of the
    /// generated files), where `/key/generate` cannot work.
    pub database_configured: bool,
}

impl Default for ApiOptions {
    fn default() -> Self {
        ApiOptions {
            database_configured: true,
        }
    }
}

/// The SOP's step G against a ready stack. Every check emits a progress event; the first
/// one that fails ends the test with an error saying what and what to do.
pub async fn api_test<R: Reporter + ?Sized>(
    ep: &Endpoints,
    master_key: &Secret,
    expected_models: &[String],
    opts: ApiOptions,
    reporter: &R,
) -> Result<ApiReport> {
    let say = |msg: Msg| {
        reporter.report(Progress {
            phase: Phase::ApiTest,
            msg,
        })
    };
    let say: Say<'_> = &say;
    let Some(base) = ep.client_base() else {
        return Err(HealthError::NoEndpoint);
    };
    let client = http_client()?;
    let mut report = ApiReport::default();

    // The models, with the key.
    let url = format!("{base}/v1/models");
    let resp = client
        .get(&url)
        .bearer_auth(master_key.expose())
        .timeout(REQUEST_TIMEOUT)
        .send()
        .await
        .map_err(|e| request_failed(ApiRequest::Models, &url, &e))?;
    let status = resp.status().as_u16();
    let body = resp.text().await.unwrap_or_default();
    if status != 200 {
        return Err(HealthError::Status {
            request: ApiRequest::Models,
            url,
            status,
            body: Some(scrub(&body, master_key)),
        });
    }
    let listed = model_ids(&body);
    let (missing, db_models) = compare_models(&listed, expected_models);
    if !missing.is_empty() {
        return Err(HealthError::ModelsMismatch { missing, got: listed });
    }
    say(msg!("health.api.models_ok").arg("models", expected_models.join(", ")));
    if !db_models.is_empty() {
        say(msg!("health.api.db_models")
            .arg("count", db_models.len())
            .arg("models", db_models.join(", ")));
    }
    report.models = listed;
    report.db_models = db_models;

    // Version and cache, for the report; not a check (older proxies lack this endpoint).
    if let Some((version, cache)) = readiness_details(&client, base, master_key).await {
        say(msg!("health.api.details")
            .arg("version", version.as_deref().unwrap_or("?"))
            .arg("cache", cache.as_deref().unwrap_or("-")));
        report.proxy_version = version;
        report.cache = cache;
    }

    // The same request with a key that is not one must be refused. A wrong key rather than
    // none: LiteLLM logs a missing key with a Python traceback, which the first look at
    // `logs litellm` would take for a failure; a wrong key is one line.
    let resp = client
        .get(&url)
        .bearer_auth(WRONG_KEY)
        .timeout(REQUEST_TIMEOUT)
        .send()
        .await
        .map_err(|e| request_failed(ApiRequest::Models, &url, &e))?;
    let status = resp.status().as_u16();
    // Refused is any error status, not only 401: a proxy whose database is not connected
    // answers 500 (seen with 1.108.7); it still serves nothing.
    if status < 400 {
        return Err(HealthError::Open { url, status });
    }
    say(msg!("health.api.auth_ok").arg("status", status));

    // A completion, plain then streamed, on the model that needs no provider key.
    if expected_models.iter().any(|m| m == SMOKE_TEST_MODEL) {
        let answer = chat_plain(&client, base, master_key, SMOKE_TEST_MODEL).await?;
        if answer != SMOKE_TEST_ANSWER {
            return Err(HealthError::WrongAnswer {
                model: SMOKE_TEST_MODEL.into(),
                got: answer,
                want: SMOKE_TEST_ANSWER.into(),
            });
        }
        say(msg!("health.api.chat_ok")
            .arg("model", SMOKE_TEST_MODEL)
            .arg("answer", &answer));
        report.smoke_answer = Some(answer);

        let stream = super::stream::stream_chat(base, master_key, SMOKE_TEST_MODEL).await?;
        super::stream::check_stream(&stream, SMOKE_TEST_MODEL, SMOKE_TEST_ANSWER)?;
        say(msg!("health.api.stream_ok")
            .arg("url", base)
            .arg("chunks", stream.chunk_arrivals.len())
            .arg("elapsed", human_duration(stream.ended_at)));
        report.streamed_chunks = stream.chunk_arrivals.len();

        if opts.database_configured {
            report.virtual_key = Some(
                super::keys::virtual_key_round_trip(
                    &client,
                    base,
                    master_key,
                    SMOKE_TEST_MODEL,
                    SMOKE_TEST_ANSWER,
                    say,
                )
                .await?,
            );
        }
    } else {
        say(msg!("health.api.no_smoke_model").arg("model", SMOKE_TEST_MODEL));
    }

    if let Some(prometheus) = ep.prometheus.as_deref() {
        if let Some(proxy) = ep.proxy.as_deref() {
            let protected = check_metrics(&client, proxy, master_key, say).await?;
            if !protected {
                report
                    .warnings
                    .push(msg!("health.api.warn.metrics_open").arg("url", format!("{proxy}/metrics/")));
            }
            report.metrics_protected = Some(protected);
        }
        report.prometheus_target_up = Some(wait_for_litellm_target(&client, prometheus, say).await?);
    }
    Ok(report)
}

/// `litellm_version` and the cache type from `/health/readiness/details`.
async fn readiness_details(
    client: &reqwest::Client,
    base: &str,
    key: &Secret,
) -> Option<(Option<String>, Option<String>)> {
    let resp = client
        .get(format!("{base}/health/readiness/details"))
        .bearer_auth(key.expose())
        .timeout(REQUEST_TIMEOUT)
        .send()
        .await
        .ok()?;
    if !resp.status().is_success() {
        return None;
    }
    let v: Value = serde_json::from_str(&resp.text().await.ok()?).ok()?;
    let version = v.get("litellm_version").and_then(Value::as_str).map(str::to_string);
    let cache = match v.get("cache") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Object(o)) => o.get("type").and_then(Value::as_str).map(str::to_string),
        _ => None,
    };
    Some((version, cache))
}

/// Configured models `/v1/models` does not list, and listed models config.yaml does not
/// configure (the database's), each in the order given.
fn compare_models(listed: &[String], configured: &[String]) -> (Vec<String>, Vec<String>) {
    let missing = configured.iter().filter(|m| !listed.contains(m)).cloned().collect();
    let mut extra: Vec<String> = Vec::new();
    for m in listed.iter().filter(|m| !configured.contains(m)) {
        if !extra.contains(m) {
            extra.push(m.clone());
        }
    }
    (missing, extra)
}

/// The ids `/v1/models` lists, in its order.
fn model_ids(body: &str) -> Vec<String> {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            v.get("data").and_then(Value::as_array).map(|items| {
                items
                    .iter()
                    .filter_map(|m| m.get("id").and_then(Value::as_str).map(str::to_string))
                    .collect()
            })
        })
        .unwrap_or_default()
}

/// The generated config caches answers in Redis; the test asks the model itself, so it
/// neither reads nor writes the cache (LiteLLM's per-request cache controls).
/// `no_log`: LiteLLM's per-request switch that keeps the call out of its logging callbacks,
/// spend logs included.
fn chat_body(model: &str, stream: bool, no_log: bool) -> Value {
    let mut body = json!({
        "model": model,
        "messages": [{"role": "user", "content": "ping"}],
        "stream": stream,
        "cache": {"no-cache": true, "no-store": true},
    });
    if no_log {
        body["no-log"] = Value::Bool(true);
    }
    body
}

/// POSTs a chat completion on `model`; an answer other than 200 is the error, its body (keys
/// scrubbed) the detail.
pub(super) async fn post_chat(
    client: &reqwest::Client,
    url: &str,
    request: ApiRequest,
    key: &Secret,
    model: &str,
    stream: bool,
    no_log: bool,
) -> Result<reqwest::Response> {
    let resp = client
        .post(url)
        .bearer_auth(key.expose())
        .json(&chat_body(model, stream, no_log))
        .timeout(REQUEST_TIMEOUT)
        .send()
        .await
        .map_err(|e| request_failed(request, url, &e))?;
    let status = resp.status().as_u16();
    if status != 200 {
        let body = resp.text().await.unwrap_or_default();
        return Err(HealthError::Status {
            request,
            url: url.to_string(),
            status,
            body: Some(scrub(&body, key)),
        });
    }
    Ok(resp)
}

async fn chat_plain(client: &reqwest::Client, base: &str, key: &Secret, model: &str) -> Result<String> {
    post_chat_as(client, base, ApiRequest::Chat, key, key, model, false).await
}

/// A plain chat completion with `key`; `also_scrub` (the master key, when `key` is another)
/// is blanked from any text kept too.
pub(super) async fn post_chat_as(
    client: &reqwest::Client,
    base: &str,
    request: ApiRequest,
    key: &Secret,
    also_scrub: &Secret,
    model: &str,
    no_log: bool,
) -> Result<String> {
    let url = format!("{base}/v1/chat/completions");
    let resp = post_chat(client, &url, request, key, model, false, no_log)
        .await
        .map_err(|e| e.scrubbed(also_scrub))?;
    let body = scrub(&resp.text().await.unwrap_or_default(), also_scrub);
    let content = serde_json::from_str::<Value>(&body).ok().and_then(|v| {
        v.pointer("/choices/0/message/content")
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    content.ok_or_else(|| HealthError::NoContent {
        body: scrub(&body, key),
        url,
    })
}

/// `/metrics/` on the proxy's own port: 200 with the key (what Prometheus sends), and
/// whether a request without it is refused.
async fn check_metrics(client: &reqwest::Client, proxy: &str, key: &Secret, say: Say<'_>) -> Result<bool> {
    let url = format!("{proxy}/metrics/");
    let request = ApiRequest::Metrics;
    let with_key = client
        .get(&url)
        .bearer_auth(key.expose())
        .timeout(REQUEST_TIMEOUT)
        .send()
        .await
        .map_err(|e| request_failed(request, &url, &e))?
        .status()
        .as_u16();
    if with_key != 200 {
        return Err(HealthError::Status {
            request,
            url,
            status: with_key,
            body: None,
        });
    }
    let without = client
        .get(&url)
        .timeout(REQUEST_TIMEOUT)
        .send()
        .await
        .map_err(|e| request_failed(request, &url, &e))?
        .status()
        .as_u16();
    let protected = without == 401 || without == 403;
    say(msg!("health.api.metrics_ok").arg("url", &url).arg("status", without));
    Ok(protected)
}

/// The litellm job's target as Prometheus's HTTP API reports it.
pub(super) struct TargetHealth {
    pub(super) health: String,
    pub(super) last_error: String,
    pub(super) scrape_url: String,
    interval: Option<Duration>,
}

pub(super) fn litellm_target(body: &str) -> Option<TargetHealth> {
    let v: Value = serde_json::from_str(body).ok()?;
    let targets = v.pointer("/data/activeTargets")?.as_array()?;
    let t = targets.iter().find(|t| {
        t.get("scrapePool").and_then(Value::as_str) == Some("litellm")
            || t.pointer("/labels/job").and_then(Value::as_str) == Some("litellm")
    })?;
    let s = |p: &str| t.get(p).and_then(Value::as_str).unwrap_or_default().to_string();
    Some(TargetHealth {
        health: s("health"),
        last_error: s("lastError"),
        scrape_url: s("scrapeUrl"),
        interval: t
            .get("scrapeInterval")
            .and_then(Value::as_str)
            .and_then(|s| humantime::parse_duration(s).ok())
            .filter(|d| !d.is_zero()),
    })
}

/// Waits until Prometheus reports the litellm target `up`: at most two scrape intervals
/// after Prometheus first answers (a target is scraped once per interval), plus slack.
async fn wait_for_litellm_target(client: &reqwest::Client, prometheus: &str, say: Say<'_>) -> Result<bool> {
    let url = format!("{prometheus}/api/v1/targets?state=active");
    let started = Instant::now();
    let slack = Duration::from_secs(5);
    let mut deadline = started + DEFAULT_SCRAPE_INTERVAL * 2 + slack;
    let mut interval_known = false;
    let mut last_key = "";
    loop {
        let state = match client.get(&url).timeout(Duration::from_secs(5)).send().await {
            Ok(resp) if resp.status().is_success() => {
                let body = resp.text().await.unwrap_or_default();
                match litellm_target(&body) {
                    Some(t) => {
                        if !interval_known {
                            interval_known = true;
                            let interval = t.interval.unwrap_or(DEFAULT_SCRAPE_INTERVAL);
                            deadline = Instant::now() + interval * 2 + slack;
                        }
                        if t.health == "up" {
                            say(msg!("health.api.prometheus_ok").arg("target", &t.scrape_url));
                            return Ok(true);
                        }
                        // "unknown" is Prometheus's word for "not scraped yet"; a first scrape
                        // refused before LiteLLM listened is still waiting for a real one.
                        if t.health == "unknown"
                            || (t.health == "down" && t.last_error.to_ascii_lowercase().contains("connection refused"))
                        {
                            msg!("health.api.prometheus_waiting").arg("target", &t.scrape_url)
                        } else {
                            msg!("health.api.prometheus_target")
                                .arg("target", &t.scrape_url)
                                .arg("health", &t.health)
                                .arg("error", &t.last_error)
                        }
                    }
                    None => msg!("health.api.prometheus_no_target"),
                }
            }
            Ok(resp) => msg!("health.api.prometheus_status")
                .arg("url", &url)
                .arg("status", resp.status().as_u16()),
            Err(e) => msg!("health.api.prometheus_unreachable")
                .arg("url", &url)
                .arg("detail", &e),
        };
        if state.key != last_key {
            say(state.clone());
            last_key = state.key;
        }
        if Instant::now() >= deadline {
            return Err(HealthError::PrometheusTarget {
                elapsed: started.elapsed(),
                state,
            });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_litellm_target_is_found_by_its_job() {
        let body = r#"{"status":"success","data":{"activeTargets":[
            {"scrapePool":"prometheus","labels":{"job":"prometheus"},"health":"up","lastError":"","scrapeUrl":"http://localhost:9090/metrics","scrapeInterval":"15s"},
            {"scrapePool":"litellm","labels":{"job":"litellm"},"health":"down","lastError":"server returned HTTP status 401 Unauthorized","scrapeUrl":"http://litellm:4000/metrics/","scrapeInterval":"2s"}]}}"#;
        let t = litellm_target(body).expect("found");
        assert_eq!(t.health, "down");
        assert!(t.last_error.contains("401"));
        assert_eq!(t.interval, Some(Duration::from_secs(2)));
    }

    #[test]
    fn models_from_the_database_are_extra_not_a_mismatch() {
        let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (missing, extra) = compare_models(
            &v(&["db-model", "gpt-3.5-turbo", "smoke-test"]),
            &v(&["gpt-3.5-turbo", "smoke-test"]),
        );
        assert!(missing.is_empty());
        assert_eq!(extra, v(&["db-model"]));
        let (missing, extra) = compare_models(&v(&["smoke-test"]), &v(&["gpt-3.5-turbo", "smoke-test"]));
        assert_eq!(missing, v(&["gpt-3.5-turbo"]));
        assert!(extra.is_empty());
    }

    #[test]
    fn scrub_blanks_the_key() {
        let key = Secret::new("sk-abcdefabcdef");
        assert_eq!(scrub("bad key sk-abcdefabcdef", &key), "bad key ***");
    }
}
