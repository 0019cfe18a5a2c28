//! Finding the Docker Engine the way the `docker` CLI does: `DOCKER_HOST`, else the current
//! context (`DOCKER_CONTEXT`, else `currentContext` in `~/.docker/config.json`), else the
//! default places (the system socket, Docker Desktop's, rootless Docker's, the Windows pipe).

use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::DockerEngine;
use super::error::{EngineError, EngineErrorKind, EngineResult, Unreachable};
use crate::platform::Os;

/// How long one endpoint may take to answer a ping. A dead socket fails at once; this bounds a
/// hung one, so "no engine" is said in well under 5 s.
pub const PING_TIMEOUT: Duration = Duration::from_secs(3);

/// Where an endpoint came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    DockerHost,
    Context(String),
    Default,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub host: String,
    pub source: Source,
}

/// Docker's config dir: `DOCKER_CONFIG`, else `~/.docker`.
pub fn docker_config_dir(env: &dyn Fn(&str) -> Option<String>, home: Option<&Path>) -> Option<PathBuf> {
    match env("DOCKER_CONFIG").filter(|v| !v.is_empty()) {
        Some(d) => Some(PathBuf::from(d)),
        None => home.map(|h| h.join(".docker")),
    }
}

/// The endpoints to try, in order. `DOCKER_HOST` or a context, when set, is the only one: the
/// user chose it, and silently using another engine would surprise them.
pub fn candidates(env: &dyn Fn(&str) -> Option<String>, home: Option<&Path>, os: Os) -> Vec<Candidate> {
    if let Some(h) = env("DOCKER_HOST").filter(|v| !v.trim().is_empty()) {
        return vec![Candidate {
            host: h.trim().to_string(),
            source: Source::DockerHost,
        }];
    }
    let config_dir = docker_config_dir(env, home);
    let context = env("DOCKER_CONTEXT").filter(|v| !v.is_empty()).or_else(|| {
        let text = std::fs::read_to_string(config_dir.as_ref()?.join("config.json")).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        v.get("currentContext")?.as_str().map(str::to_string)
    });
    if let (Some(name), Some(dir)) = (context, &config_dir) {
        if !name.is_empty() && name != "default" {
            if let Some(host) = context_host(dir, &name) {
                return vec![Candidate {
                    host,
                    source: Source::Context(name),
                }];
            }
        }
    }
    let default = |host: String| Candidate {
        host,
        source: Source::Default,
    };
    match os {
        Os::Windows => vec![
            default("npipe:////./pipe/docker_engine".into()),
            default("npipe:////./pipe/dockerDesktopLinuxEngine".into()),
        ],
        Os::Linux => {
            let mut v = vec![default("unix:///var/run/docker.sock".into())];
            if let Some(h) = home {
                // A socket path is a Unix path whatever OS computes it: join with '/'.
                let home = h.to_string_lossy();
                let home = home.trim_end_matches(['/', '\\']);
                for rel in [".docker/run/docker.sock", ".docker/desktop/docker.sock"] {
                    v.push(default(format!("unix://{home}/{rel}")));
                }
            }
            if let Some(x) = env("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
                v.push(default(format!("unix://{x}/docker.sock")));
            }
            v
        }
    }
}

/// A context's endpoint: `contexts/meta/<sha256 of its name>/meta.json`, `Endpoints.docker.Host`.
pub fn context_host(config_dir: &Path, name: &str) -> Option<String> {
    let digest = Sha256::digest(name.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let meta = config_dir.join("contexts").join("meta").join(hex).join("meta.json");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(meta).ok()?).ok()?;
    v.pointer("/Endpoints/docker/Host")?.as_str().map(str::to_string)
}

/// Connects to the engine of this environment: the first candidate that answers a ping.
pub async fn connect() -> EngineResult<DockerEngine> {
    let home = crate::platform::home_dir();
    connect_with(&|k| std::env::var(k).ok(), home.as_deref(), Os::current()).await
}

pub async fn connect_with(
    env: &(dyn Fn(&str) -> Option<String> + Sync),
    home: Option<&Path>,
    os: Os,
) -> EngineResult<DockerEngine> {
    let list = candidates(env, home, os);
    let mut failures: Vec<(Candidate, Unanswered)> = Vec::new();
    for c in &list {
        match DockerEngine::open(&c.host, PING_TIMEOUT).await {
            Ok(engine) => return Ok(engine),
            Err(why) => failures.push((c.clone(), why)),
        }
    }
    // The most telling failure: a socket that exists but refuses us says more than a missing one.
    failures.sort_by_key(|(_, u)| u.why);
    let Some((c, u)) = failures.into_iter().next() else {
        return Err(EngineError::new(
            "connect",
            EngineErrorKind::NoEndpoint { os },
            "no endpoint to try",
        ));
    };
    Err(EngineError {
        io: u.io,
        status: u.status,
        ..EngineError::new(
            "ping",
            EngineErrorKind::Unreachable {
                endpoint: c.host,
                via: c.source,
                why: u.why,
                os,
            },
            u.detail,
        )
    })
}

/// Why one endpoint did not answer, as `DockerEngine::open` found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unanswered {
    pub why: Unreachable,
    pub io: Option<std::io::ErrorKind>,
    /// The daemon's HTTP status, when something answered the ping with an error.
    pub status: Option<u16>,
    /// The transport's own words.
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn docker_host_wins_and_is_the_only_candidate() {
        let c = candidates(&env_of(&[("DOCKER_HOST", "tcp://10.0.0.1:2375")]), None, Os::Linux);
        assert_eq!(
            c,
            vec![Candidate {
                host: "tcp://10.0.0.1:2375".into(),
                source: Source::DockerHost
            }]
        );
    }

    #[test]
    fn current_context_is_read_from_the_docker_config() {
        let home = tempfile::tempdir().expect("tempdir");
        let cfg = home.path().join(".docker");
        std::fs::create_dir_all(&cfg).expect("mkdir");
        std::fs::write(cfg.join("config.json"), r#"{"currentContext":"desktop-linux"}"#).expect("write");
        // The folder name is the SHA-256 of the context name, as the docker CLI stores it.
        let hex: String = Sha256::digest(b"desktop-linux")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let dir = cfg.join("contexts/meta").join(hex);
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(
            dir.join("meta.json"),
            r#"{"Name":"desktop-linux","Endpoints":{"docker":{"Host":"unix:///home/me/.docker/desktop/docker.sock"}}}"#,
        )
        .expect("write");
        let c = candidates(&env_of(&[]), Some(home.path()), Os::Linux);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].host, "unix:///home/me/.docker/desktop/docker.sock");
        assert_eq!(c[0].source, Source::Context("desktop-linux".into()));
    }

    #[test]
    fn defaults_cover_the_system_socket_docker_desktop_and_the_windows_pipe() {
        let linux = candidates(&env_of(&[]), Some(Path::new("/home/me")), Os::Linux);
        let hosts: Vec<&str> = linux.iter().map(|c| c.host.as_str()).collect();
        assert_eq!(hosts[0], "unix:///var/run/docker.sock");
        assert!(hosts.contains(&"unix:///home/me/.docker/run/docker.sock"), "{hosts:?}");
        let windows = candidates(&env_of(&[]), None, Os::Windows);
        assert_eq!(windows[0].host, "npipe:////./pipe/docker_engine");
    }
}
