//! bluegreen: can the host reach a container straight on its network address? Asked once of
//! the running proxy before a new one is started beside it: the new one is tested the same way
//! before any client is sent to it, and on an engine in a VM (Docker Desktop) or a remote one
//! the containers' addresses are not reachable from here.

use std::time::Duration;

/// True when `GET {base}/health/liveliness` answers 200 within `timeout`.
pub async fn liveliness_answers(base: &str, timeout: Duration) -> bool {
    let Ok(client) = super::http_client() else {
        return false;
    };
    let url = format!("{base}/health/liveliness");
    match client.get(&url).timeout(timeout).send().await {
        Ok(r) => r.status().as_u16() == 200,
        Err(_) => false,
    }
}
