//! The streamed chat completion of step G, read as server-sent events, chunk by chunk.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::Value;

use super::api::{post_chat, request_failed, scrub};
use super::error::{ApiRequest, HealthError};
use super::http_client;
use crate::secrets::Secret;

type Result<T, E = HealthError> = std::result::Result<T, E>;

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

/// A chat completion with `"stream": true` on `model`, read as server-sent events and timed
/// chunk by chunk.
pub async fn stream_chat(base: &str, master_key: &Secret, model: &str) -> Result<StreamReport> {
    let client = http_client()?;
    let url = format!("{base}/v1/chat/completions");
    let request = ApiRequest::ChatStream;
    let sent = Instant::now();
    let resp = post_chat(&client, &url, request, master_key, model, true, false).await?;
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

pub(super) fn check_stream(s: &StreamReport, model: &str, want: &str) -> Result<()> {
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
}
