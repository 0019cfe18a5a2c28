//! Images: pull progress summed over layers, why a pull failed (and whether to retry), registry
//! credentials from `~/.docker/config.json`, and the record of the digests an install used.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::error::PullFailure;
use super::{PullProgress, RegistryAuth};
use crate::secrets::Secret;

/// Folds the engine's per-layer pull messages into one progress figure per image.
#[derive(Debug, Default)]
pub struct PullTracker {
    layers: BTreeMap<String, Layer>,
    digest: Option<String>,
    status: String,
}

#[derive(Debug, Default, Clone, Copy)]
struct Layer {
    current: u64,
    total: u64,
    done: bool,
}

const LAYER_STATUSES: [&str; 9] = [
    "Pulling fs layer",
    "Waiting",
    "Downloading",
    "Verifying Checksum",
    "Download complete",
    "Extracting",
    "Pull complete",
    "Already exists",
    "Retrying",
];

impl PullTracker {
    /// One message of the pull stream: `id` is the layer for layer messages.
    pub fn update(&mut self, id: Option<&str>, status: &str, current: Option<i64>, total: Option<i64>) -> PullProgress {
        if let Some(d) = status.strip_prefix("Digest: ") {
            self.digest = Some(d.trim().to_string());
        }
        let is_layer = LAYER_STATUSES.iter().any(|s| status.starts_with(s));
        match id {
            Some(id) if is_layer => {
                let layer = self.layers.entry(id.to_string()).or_default();
                if status.starts_with("Downloading") {
                    layer.current = current.unwrap_or(0).max(0) as u64;
                    layer.total = total.unwrap_or(0).max(0) as u64;
                } else if status.starts_with("Verifying")
                    || status.starts_with("Download complete")
                    || status.starts_with("Extracting")
                {
                    layer.current = layer.total;
                } else if status.starts_with("Pull complete") || status.starts_with("Already exists") {
                    layer.current = layer.total;
                    layer.done = true;
                }
                self.status = status.to_string();
            }
            _ => self.status = status.to_string(),
        }
        self.progress()
    }

    pub fn progress(&self) -> PullProgress {
        PullProgress {
            layers_done: self.layers.values().filter(|l| l.done).count() as u32,
            layers_total: self.layers.len() as u32,
            bytes_done: self.layers.values().map(|l| l.current).sum(),
            bytes_total: self.layers.values().map(|l| l.total).sum(),
            status: self.status.clone(),
            digest: self.digest.clone(),
        }
    }
}

/// Why a pull failed, from what the daemon gave: the one place pull failures are classified.
///
/// - A status decides where it means something: 401 and 403 are refused credentials; 408, 429
///   and 502–504 a passing trouble; 404 no such image, except that dockerd also answers 404
///   "pull access denied" when the registry said `DENIED` (it will not tell a missing
///   repository from one that needs a login), which stays a refusal since `docker login` may
///   be the fix.
/// - A failed socket between us and the daemon (`io`, no status) is judged by its kind.
/// - Otherwise the daemon's message is all there is: dockerd answers 500 for any failure to
///   reach the registry, and an error in the middle of the pull stream comes as `errorDetail`,
///   of which bollard keeps only the message (`Error::DockerStreamError`; the numeric `code`
///   is deprecated in the Engine API). That text carries the registry's error code
///   (`unauthorized`, `denied`, `manifest unknown`) or Go's network error (`connection reset`,
///   `TLS handshake timeout`), and is matched here and nowhere else. A 500 that matches
///   nothing is taken as passing, as before.
pub fn pull_failure(status: Option<u16>, io: Option<std::io::ErrorKind>, message: &str) -> PullFailure {
    let said = from_message(message);
    match status {
        Some(401 | 403) => PullFailure::Unauthorized,
        Some(404) if said == Some(PullFailure::Unauthorized) => PullFailure::Unauthorized,
        Some(404) => PullFailure::NotFound,
        Some(408 | 429 | 502 | 503 | 504) => PullFailure::Transient,
        Some(500) => said.unwrap_or(PullFailure::Transient),
        Some(_) => said.unwrap_or(PullFailure::Other),
        None => match io {
            Some(kind) => from_io(kind),
            None => said.unwrap_or(PullFailure::Other),
        },
    }
}

fn from_io(kind: std::io::ErrorKind) -> PullFailure {
    use std::io::ErrorKind::*;
    match kind {
        TimedOut | ConnectionReset | ConnectionAborted | ConnectionRefused | BrokenPipe | UnexpectedEof
        | Interrupted => PullFailure::Transient,
        _ => PullFailure::Other,
    }
}

/// What the daemon's text says, when it says something known. Refusals and missing images
/// are looked for first: "denied" wins over a timeout quoted in the same message.
fn from_message(message: &str) -> Option<PullFailure> {
    let m = message.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| m.contains(w));
    if has(&["unauthorized", "denied", "authentication required"]) {
        Some(PullFailure::Unauthorized)
    } else if has(&["not found", "manifest unknown"]) {
        Some(PullFailure::NotFound)
    } else if has(&["no basic auth", "invalid reference", "no such host"]) {
        Some(PullFailure::Other)
    } else if has(&[
        "timeout",
        "timed out",
        "connection reset",
        "connection refused",
        "broken pipe",
        "tls handshake",
        "eof",
        "temporar",
        "too many requests",
        "toomanyrequests",
        "service unavailable",
        "bad gateway",
    ]) {
        Some(PullFailure::Transient)
    } else {
        None
    }
}

/// The registry host of an image reference, as `docker login` names it (`docker.io` for Hub).
pub fn registry_host(reference: &str) -> String {
    match reference.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => first.to_string(),
        _ => "docker.io".to_string(),
    }
}

/// A reference the engine pulls one tag of: without a tag or digest it would pull every tag.
pub fn with_default_tag(reference: &str) -> String {
    let last = reference.rsplit('/').next().unwrap_or(reference);
    if reference.contains('@') || last.contains(':') {
        reference.to_string()
    } else {
        format!("{reference}:latest")
    }
}

fn normalize_server(key: &str) -> String {
    let k = key.trim().trim_start_matches("https://").trim_start_matches("http://");
    let host = k.split('/').next().unwrap_or(k).to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => "docker.io".into(),
        _ => host,
    }
}

/// The `auths` entry of `config` (the parsed `config.json`) for `registry`. Credential helpers
/// (`credsStore`, `credHelpers`) are not run: their entries have no secret in the file.
pub fn auth_from_config(config: &serde_json::Value, registry: &str) -> Option<RegistryAuth> {
    let auths = config.get("auths")?.as_object()?;
    let wanted = normalize_server(registry);
    let (server, entry) = auths.iter().find(|(k, _)| normalize_server(k) == wanted)?;
    let mut auth = RegistryAuth {
        server: server.clone(),
        username: None,
        password: None,
        identity_token: None,
    };
    if let Some(encoded) = entry.get("auth").and_then(|v| v.as_str()).filter(|s| !s.is_empty()) {
        let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (user, pass) = text.split_once(':')?;
        auth.username = Some(user.to_string());
        auth.password = Some(Secret::new(pass));
    }
    if let Some(u) = entry.get("username").and_then(|v| v.as_str()) {
        auth.username = Some(u.to_string());
    }
    if let Some(p) = entry.get("password").and_then(|v| v.as_str()) {
        auth.password = Some(Secret::new(p));
    }
    if let Some(t) = entry
        .get("identitytoken")
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
    {
        auth.identity_token = Some(Secret::new(t));
    }
    if auth.username.is_none() && auth.identity_token.is_none() {
        return None;
    }
    Some(auth)
}

/// Credentials for `reference` from the user's Docker config, if `docker login` stored some.
pub fn load_auth(reference: &str) -> Option<RegistryAuth> {
    let home = crate::platform::home_dir();
    let dir = super::connect::docker_config_dir(&|k| std::env::var(k).ok(), home.as_deref())?;
    let text = std::fs::read_to_string(dir.join("config.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    auth_from_config(&v, &registry_host(reference))
}

/// The file in the install dir that records which images an install used.
pub const IMAGES_LOCK: &str = "images.lock.yaml";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ImagesLock {
    pub images: BTreeMap<String, LockedImage>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockedImage {
    /// What the answers asked for.
    pub reference: String,
    /// The image ID (content hash of its config).
    pub id: String,
    /// `repo@sha256:…` as the registry served it; absent for images built or loaded locally.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

impl ImagesLock {
    pub fn to_yaml(&self) -> String {
        let body = serde_norway::to_string(self).unwrap_or_default();
        format!(
            "# Written by litellm-stack install: the images this install runs. To repeat it exactly\n\
             # elsewhere, set images.<service> in the answers to the digest below.\n{body}"
        )
    }

    pub fn read(path: &Path) -> Option<ImagesLock> {
        serde_norway::from_str(&std::fs::read_to_string(path).ok()?).ok()
    }
}

/// The repo digest of `info` that belongs to `reference`'s repository.
pub fn digest_for(reference: &str, repo_digests: &[String]) -> Option<String> {
    let repo = strip_tag(reference);
    repo_digests
        .iter()
        .find(|d| d.split('@').next() == Some(repo))
        .or_else(|| repo_digests.first())
        .cloned()
}

fn strip_tag(reference: &str) -> &str {
    let no_digest = reference.split('@').next().unwrap_or(reference);
    let last_slash = no_digest.rfind('/').map_or(0, |i| i + 1);
    match no_digest[last_slash..].rfind(':') {
        Some(i) => &no_digest[..last_slash + i],
        None => no_digest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_sums_bytes_and_counts_finished_layers() {
        let mut t = PullTracker::default();
        t.update(Some("15-bookworm"), "Pulling from lst-test/postgres", None, None);
        t.update(Some("aaa"), "Pulling fs layer", None, None);
        t.update(Some("bbb"), "Pulling fs layer", None, None);
        t.update(Some("aaa"), "Downloading", Some(50), Some(100));
        let p = t.update(Some("bbb"), "Downloading", Some(10), Some(200));
        assert_eq!(
            (p.layers_done, p.layers_total, p.bytes_done, p.bytes_total),
            (0, 2, 60, 300)
        );
        t.update(Some("aaa"), "Download complete", None, None);
        let p = t.update(Some("aaa"), "Pull complete", None, None);
        assert_eq!((p.layers_done, p.bytes_done), (1, 110));
        let p = t.update(None, "Digest: sha256:abc", None, None);
        assert_eq!(p.digest.as_deref(), Some("sha256:abc"));
    }

    #[test]
    fn the_daemons_status_decides_where_it_gives_one() {
        assert_eq!(pull_failure(Some(401), None, "anything"), PullFailure::Unauthorized);
        assert_eq!(pull_failure(Some(403), None, ""), PullFailure::Unauthorized);
        assert_eq!(
            pull_failure(Some(404), None, "manifest for x:1 not found: manifest unknown"),
            PullFailure::NotFound
        );
        assert_eq!(pull_failure(Some(429), None, ""), PullFailure::Transient);
        assert_eq!(
            pull_failure(Some(503), None, "service unavailable"),
            PullFailure::Transient
        );
        // dockerd's 404 for a repository the registry will not show: a login may be the fix.
        assert_eq!(
            pull_failure(
                Some(404),
                None,
                "pull access denied for x, repository does not exist or may require 'docker login'"
            ),
            PullFailure::Unauthorized
        );
    }

    #[test]
    fn a_500_or_a_stream_error_is_judged_by_the_daemons_words() {
        // What dockerd answers when the registry refuses connections.
        let refused = "Get \"http://127.0.0.1:5999/v2/\": dial tcp 127.0.0.1:5999: connect: connection refused";
        assert_eq!(pull_failure(Some(500), None, refused), PullFailure::Transient);
        assert_eq!(pull_failure(Some(500), None, "something new"), PullFailure::Transient);
        assert_eq!(
            pull_failure(Some(500), None, "dial tcp: lookup registry.invalid: no such host"),
            PullFailure::Other
        );
        // errorDetail in the middle of the stream: no status at all.
        assert_eq!(
            pull_failure(None, None, "Get \"https://r/v2/\": net/http: TLS handshake timeout"),
            PullFailure::Transient
        );
        assert_eq!(
            pull_failure(None, None, "unauthorized: incorrect username or password"),
            PullFailure::Unauthorized
        );
        assert_eq!(pull_failure(None, None, "unknown"), PullFailure::Other);
    }

    #[test]
    fn a_broken_socket_to_the_daemon_is_judged_by_its_io_kind() {
        assert_eq!(
            pull_failure(None, Some(std::io::ErrorKind::ConnectionReset), "x"),
            PullFailure::Transient
        );
        assert_eq!(
            pull_failure(None, Some(std::io::ErrorKind::PermissionDenied), "x"),
            PullFailure::Other
        );
    }

    #[test]
    fn credentials_come_from_the_auths_entry_of_the_registry() {
        let cfg = serde_json::json!({"auths": {
            "https://index.docker.io/v1/": {"auth": "aHViOnNlY3JldA=="},
            "127.0.0.1:5000": {"auth": "bWU6cGFzcw=="}
        }});
        let hub = auth_from_config(&cfg, &registry_host("postgres:16.8")).expect("hub auth");
        assert_eq!(hub.username.as_deref(), Some("hub"));
        assert_eq!(hub.password.as_ref().map(Secret::expose), Some("secret"));
        let local = auth_from_config(&cfg, &registry_host("127.0.0.1:5000/lst-test/redis:7")).expect("local");
        assert_eq!(local.username.as_deref(), Some("me"));
        assert!(auth_from_config(&cfg, "ghcr.io").is_none());
        assert!(!format!("{local:?}").contains("pass"));
    }

    #[test]
    fn references_get_a_tag_and_their_own_digest() {
        assert_eq!(with_default_tag("127.0.0.1:5000/x"), "127.0.0.1:5000/x:latest");
        assert_eq!(with_default_tag("postgres:16"), "postgres:16");
        let d = vec!["other@sha256:1".to_string(), "127.0.0.1:5000/x@sha256:2".to_string()];
        assert_eq!(
            digest_for("127.0.0.1:5000/x:tag", &d).as_deref(),
            Some("127.0.0.1:5000/x@sha256:2")
        );
    }
}
