//! Step G: the API test with the generated master key, as a client would use the gateway.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
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
/// The scrape interval of the generated prometheus.yml, used when Prometheus does not say.
const DEFAULT_SCRAPE_INTERVAL: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ApiReport {
    /// What `/v1/models` listed (equal to the configured models, or the test failed).
    pub models: Vec<String>,
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

/// A streamed completion as it arrived.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StreamReport {
    /// `Content-Type` of the answer (`text/event-stream` for SSE).
    pub content_type: String,
    /// The content deltas joined.
    pub content: String,
    /// When each content chunk arrived, counted from sending the request.
    pub chunk_arrivals: Vec<Duration>,
    /// When the response ended (the connection's last byte).
    pub ended_at: Duration,
    /// The stream ended with `data: [DONE]`, as OpenAI's protocol says.
    pub saw_done: bool,
}

impl StreamReport {
    /// Chunks that arrived before the response ended, not all in one piece at its end.
    pub fn chunks_before_end(&self, margin: Duration) -> usize {
        self.chunk_arrivals
            .iter()
            .filter(|t| **t + margin <= self.ended_at)
            .count()
    }
}

/// Text from the gateway, shortened, with the key blanked should it echo it.
fn scrub(text: &str, key: &Secret) -> String {
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

fn request_failed(request: ApiRequest, url: &str, e: &reqwest::Error) -> HealthError {
    HealthError::Request {
        request,
        url: url.to_string(),
        failure: RequestFailure::of(e),
        detail: e.to_string(),
    }
}

/// The SOP's step G against a ready stack. Every check emits a progress event; the first
/// one that fails ends the test with an error saying what and what to do.
pub async fn api_test<R: Reporter + ?Sized>(
    ep: &Endpoints,
    master_key: &Secret,
    expected_models: &[String],
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
    let mut got = listed.clone();
    let mut want = expected_models.to_vec();
    got.sort();
    want.sort();
    if got != want {
        return Err(HealthError::ModelsMismatch { got, want });
    }
    say(msg!("health.api.models_ok").arg("models", listed.join(", ")));
    report.models = listed;

    // Version and cache, for the report; not a check (older proxies lack this endpoint).
    if let Some((version, cache)) = readiness_details(&client, base, master_key).await {
        say(msg!("health.api.details")
            .arg("version", version.as_deref().unwrap_or("?"))
            .arg("cache", cache.as_deref().unwrap_or("-")));
        report.proxy_version = version;
        report.cache = cache;
    }

    // The same request without the key must be refused.
    let resp = client
        .get(&url)
        .timeout(REQUEST_TIMEOUT)
        .send()
        .await
        .map_err(|e| request_failed(ApiRequest::Models, &url, &e))?;
    let status = resp.status().as_u16();
    // Refused is any error status, not only 401: a proxy with `database_url` configured whose
    // database is not connected answers 500 without a key (seen with 1.108.7 and the CI image,
    // which runs without a database); it still serves nothing.
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

        let stream = stream_chat(base, master_key, SMOKE_TEST_MODEL).await?;
        check_stream(&stream, SMOKE_TEST_MODEL, SMOKE_TEST_ANSWER)?;
        say(msg!("health.api.stream_ok")
            .arg("url", base)
            .arg("chunks", stream.chunk_arrivals.len())
            .arg("elapsed", human_duration(stream.ended_at)));
        report.streamed_chunks = stream.chunk_arrivals.len();
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
fn chat_body(model: &str, stream: bool) -> Value {
    json!({
        "model": model,
        "messages": [{"role": "user", "content": "ping"}],
        "stream": stream,
        "cache": {"no-cache": true, "no-store": true},
    })
}

/// POSTs a chat completion on `model`; an answer other than 200 is the error, its body (keys
/// scrubbed) the detail.
async fn post_chat(
    client: &reqwest::Client,
    url: &str,
    request: ApiRequest,
    key: &Secret,
    model: &str,
    stream: bool,
) -> Result<reqwest::Response> {
    let resp = client
        .post(url)
        .bearer_auth(key.expose())
        .json(&chat_body(model, stream))
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
    let url = format!("{base}/v1/chat/completions");
    let resp = post_chat(client, &url, ApiRequest::Chat, key, model, false).await?;
    let body = resp.text().await.unwrap_or_default();
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

/// A chat completion with `"stream": true` on `model`, read as server-sent events and timed
/// chunk by chunk.
pub async fn stream_chat(base: &str, master_key: &Secret, model: &str) -> Result<StreamReport> {
    let client = http_client()?;
    let url = format!("{base}/v1/chat/completions");
    let request = ApiRequest::ChatStream;
    let sent = Instant::now();
    let resp = post_chat(&client, &url, request, master_key, model, true).await?;
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let mut report = StreamReport {
        content_type,
        ..StreamReport::default()
    };
    let mut pending = String::new();
    let mut bytes = resp.bytes_stream();
    while let Some(piece) = bytes.next().await {
        let piece = piece.map_err(|e| request_failed(request, &url, &e))?;
        let arrived = sent.elapsed();
        pending.push_str(&String::from_utf8_lossy(&piece));
        // Events end with a blank line; a partial one waits for the next piece.
        while let Some((event, rest)) = split_event(&pending) {
            for line in event.lines() {
                let Some(data) = line.strip_prefix("data:") else {
                    continue;
                };
                let data = data.trim();
                if data == "[DONE]" {
                    report.saw_done = true;
                    continue;
                }
                let v: Value = serde_json::from_str(data).map_err(|e| HealthError::BadEvent {
                    url: url.clone(),
                    detail: format!("{e}: {}", scrub(data, master_key)),
                })?;
                if v.get("error").is_some() {
                    return Err(HealthError::BadEvent {
                        url,
                        detail: scrub(data, master_key),
                    });
                }
                if let Some(c) = v.pointer("/choices/0/delta/content").and_then(Value::as_str) {
                    if !c.is_empty() {
                        report.content.push_str(c);
                        report.chunk_arrivals.push(arrived);
                    }
                }
            }
            pending = rest;
        }
    }
    report.ended_at = sent.elapsed();
    Ok(report)
}

/// The first complete event in `buf` and what follows it.
fn split_event(buf: &str) -> Option<(String, String)> {
    let normalized_end = ["\r\n\r\n", "\n\n"]
        .iter()
        .filter_map(|sep| buf.find(sep).map(|i| (i, sep.len())))
        .min_by_key(|(i, _)| *i)?;
    let (i, len) = normalized_end;
    Some((buf[..i].to_string(), buf[i + len..].to_string()))
}

fn check_stream(s: &StreamReport, model: &str, want: &str) -> Result<()> {
    if !s.content_type.starts_with("text/event-stream") {
        return Err(HealthError::NotSse {
            model: model.into(),
            content_type: s.content_type.clone(),
        });
    }
    if s.content != want || !s.saw_done {
        return Err(HealthError::StreamContent {
            model: model.into(),
            got: s.content.clone(),
            want: want.into(),
        });
    }
    Ok(())
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
struct TargetHealth {
    health: String,
    last_error: String,
    scrape_url: String,
    interval: Option<Duration>,
}

fn litellm_target(body: &str) -> Option<TargetHealth> {
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
                        if t.health == "unknown" {
                            // Prometheus's word for "not scraped yet".
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
    fn sse_events_split_on_blank_lines() {
        let (a, rest) = split_event("data: {\"x\":1}\n\ndata: [DO").expect("one event");
        assert_eq!(a, "data: {\"x\":1}");
        assert_eq!(rest, "data: [DO");
        assert!(split_event(&rest).is_none());
        let (a, rest) = split_event("data: 1\r\n\r\ndata: 2\n\n").expect("crlf");
        assert_eq!((a.as_str(), rest.as_str()), ("data: 1", "data: 2\n\n"));
    }

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
    fn scrub_blanks_the_key() {
        let key = Secret::new("sk-abcdefabcdef");
        assert_eq!(scrub("bad key sk-abcdefabcdef", &key), "bad key ***");
    }
}
