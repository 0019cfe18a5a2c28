//! The Docker Engine, behind a trait of the operations the install steps need.
//!
//! - [`connect`] finds the engine (`DOCKER_HOST`, the current Docker context, the default
//!   sockets, Docker Desktop's, the Windows named pipe), pings it and negotiates the API
//!   version, so one binary serves Debian's 20.10 (API 1.41) and new Docker Desktops alike.
//! - [`Engine`] is what the runner (`steps::runner`) and the day-2 commands call; its one
//!   implementation, [`DockerEngine`], talks to the Engine API through bollard. bollard's
//!   types never leave this folder: everything here is plain data.
//! - [`spec`] turns the stack model into container specs with Compose's labels and a config
//!   hash; [`preflight`] checks the machine before anything is created; [`pull`] aggregates pull
//!   progress and reads registry credentials; [`diagnose`] explains a failed container's logs.

pub mod checks;
pub mod compose_hash;
pub mod connect;
pub mod diagnose;
mod docker;
mod docker_convert;
mod docker_error;
// backup:
mod docker_exec;
// bluegreen:
mod docker_net;
pub mod error;
pub mod pull;
pub mod spec;

use std::collections::BTreeMap;
use std::path::Path;

use async_trait::async_trait;
use futures_util::stream::BoxStream;

pub use connect::connect;
pub use docker::DockerEngine;
pub use error::{EngineError, EngineErrorKind, EngineResult, PullFailure, Unreachable, pull_error};

use crate::secrets::Secret;

/// What the engine's operations return; `?` turns an [`EngineError`] into the user's `Error`.
type Result<T> = EngineResult<T>;

/// Compose's labels: `docker compose ps/logs` (and Debian's docker-compose 1.29) in the install
/// dir find the containers by them.
pub const LABEL_PROJECT: &str = "com.docker.compose.project";
pub const LABEL_SERVICE: &str = "com.docker.compose.service";
pub const LABEL_ONEOFF: &str = "com.docker.compose.oneoff";
pub const LABEL_NUMBER: &str = "com.docker.compose.container-number";
pub const LABEL_WORKING_DIR: &str = "com.docker.compose.project.working_dir";
pub const LABEL_CONFIG_FILES: &str = "com.docker.compose.project.config_files";
pub const LABEL_NETWORK: &str = "com.docker.compose.network";
pub const LABEL_VOLUME: &str = "com.docker.compose.volume";
/// The version of Compose whose labels and config hash the containers carry.
pub const LABEL_COMPOSE_VERSION: &str = "com.docker.compose.version";
pub const COMPOSE_VERSION: &str = "2.26.1";
/// Compose v2 lists only containers with this label and recreates one whose value differs
/// from its own hash of the service ([`compose_hash`]).
pub const LABEL_COMPOSE_CONFIG_HASH: &str = "com.docker.compose.config-hash";
/// Compose v2 recreates a container whose image ID differs from this label.
pub const LABEL_COMPOSE_IMAGE: &str = "com.docker.compose.image";
/// `name:condition:restart,…`: Compose v2 stops and removes in this order.
pub const LABEL_DEPENDS_ON: &str = "com.docker.compose.depends_on";
/// Ours: what the container was created from (image, settings, mounted files, env values),
/// as a hash, so a re-run recreates only what changed.
pub const LABEL_CONFIG_HASH: &str = "io.litellm-stack.config-hash";
/// Ours: set on every object this program creates, one-shot helpers included.
pub const LABEL_MANAGED: &str = "io.litellm-stack.managed";

/// What the engine says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineInfo {
    /// Where it was reached, e.g. `unix:///var/run/docker.sock`.
    pub endpoint: String,
    pub version: String,
    pub api_version: String,
    pub os: String,
    pub arch: String,
    /// Docker's data root (images, volumes), as the engine sees it.
    pub root_dir: Option<String>,
    /// `Docker Desktop` and the like; for messages.
    pub operating_system: Option<String>,
    /// The memory the engine has (`MemTotal`): on Docker Desktop its VM's, not the host's.
    pub mem_total: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Created,
    Running,
    Restarting,
    Paused,
    Exited,
    Dead,
    Removing,
    Unknown,
}

impl State {
    pub fn parse(s: &str) -> State {
        match s.to_ascii_lowercase().as_str() {
            "created" => State::Created,
            "running" => State::Running,
            "restarting" => State::Restarting,
            "paused" => State::Paused,
            "exited" => State::Exited,
            "dead" => State::Dead,
            "removing" => State::Removing,
            _ => State::Unknown,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            State::Created => "created",
            State::Running => "running",
            State::Restarting => "restarting",
            State::Paused => "paused",
            State::Exited => "exited",
            State::Dead => "dead",
            State::Removing => "removing",
            State::Unknown => "unknown",
        }
    }
}

/// Docker's health status; `None` when the container has no healthcheck.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    None,
    Starting,
    Healthy,
    Unhealthy,
}

impl Health {
    pub fn parse(s: &str) -> Health {
        match s.to_ascii_lowercase().as_str() {
            "starting" => Health::Starting,
            "healthy" => Health::Healthy,
            "unhealthy" => Health::Unhealthy,
            _ => Health::None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Health::None => "none",
            Health::Starting => "starting",
            Health::Healthy => "healthy",
            Health::Unhealthy => "unhealthy",
        }
    }
}

/// A host port published by a container.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PublishedPort {
    pub host_ip: String,
    pub host_port: u16,
    pub container_port: u16,
}

/// A container as the engine reports it (list or inspect).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    pub id: String,
    /// Without the leading `/`.
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub state: State,
    pub health: Health,
    /// The reference it was created from.
    pub image: String,
    pub image_id: String,
    pub ports: Vec<PublishedPort>,
    /// Filled by `inspect_container` only.
    pub restart_count: i64,
    pub exit_code: Option<i64>,
    pub oom_killed: bool,
    /// The engine's own error for the container (e.g. a bind mount it could not make).
    pub error: Option<String>,
    pub started_at: Option<String>,
    /// When it was created, in seconds since 1970 (list and inspect).
    pub created: Option<i64>,
}

impl Container {
    pub fn service(&self) -> Option<&str> {
        self.labels.get(LABEL_SERVICE).map(String::as_str)
    }
    pub fn project(&self) -> Option<&str> {
        self.labels.get(LABEL_PROJECT).map(String::as_str)
    }
    pub fn config_hash(&self) -> Option<&str> {
        self.labels.get(LABEL_CONFIG_HASH).map(String::as_str)
    }
    pub fn compose_hash(&self) -> Option<&str> {
        self.labels.get(LABEL_COMPOSE_CONFIG_HASH).map(String::as_str)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    pub id: String,
    /// `repo@sha256:…` for images that came from a registry.
    pub repo_digests: Vec<String>,
}

/// What a container is created from. Built from the stack model by [`spec`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSpec {
    pub service: String,
    pub name: String,
    pub image: String,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    /// Values may be secrets; they go to the engine and nowhere else.
    pub env: Vec<(String, Secret)>,
    pub user: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub ports: Vec<PublishedPort>,
    pub mounts: Vec<MountSpec>,
    pub healthcheck: Option<HealthSpec>,
    pub restart: String,
    pub network: Option<String>,
    /// Names the container answers to on the network (the service name, as in Compose).
    pub aliases: Vec<String>,
    /// The newest modification time (seconds since 1970) of the files it bind-mounts: a
    /// container Compose created before that has not read them.
    pub newest_file: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountSpec {
    pub source: MountSourceSpec,
    pub target: String,
    pub read_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountSourceSpec {
    /// An absolute host path.
    Bind(String),
    /// A full volume name (`<project>_<name>`).
    Volume(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthSpec {
    pub shell: String,
    pub interval_s: u32,
    pub timeout_s: u32,
    pub retries: u32,
    pub start_period_s: u32,
}

/// What happened to a container of the project, from the engine's event stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerEvent {
    pub id: String,
    pub service: Option<String>,
    pub action: EventAction,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventAction {
    Start,
    Die { exit_code: Option<i64> },
    Health(Health),
    Oom,
    Destroy,
    Other(String),
}

/// Progress of one image's pull: bytes summed over its layers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullProgress {
    pub layers_done: u32,
    pub layers_total: u32,
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub status: String,
    /// `sha256:…` once the registry has told it.
    pub digest: Option<String>,
}

/// Credentials for one registry, from `~/.docker/config.json`.
#[derive(Clone, PartialEq, Eq)]
pub struct RegistryAuth {
    pub server: String,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub identity_token: Option<Secret>,
}

impl std::fmt::Debug for RegistryAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryAuth")
            .field("server", &self.server)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// A short-lived helper container (e.g. to fix ownership as root when we are not root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneShot {
    pub image: String,
    pub user: String,
    pub entrypoint: Vec<String>,
    pub binds: Vec<MountSpec>,
    pub labels: BTreeMap<String, String>,
}

/// The operations the install steps and the day-2 commands need. Every object created through
/// it carries the labels its caller gives (see [`spec`]), so nothing is left unlabelled.
#[async_trait]
pub trait Engine: Send + Sync {
    fn endpoint(&self) -> &str;
    async fn info(&self) -> Result<EngineInfo>;

    /// Containers, stopped ones too; only the project's when `project` is given.
    async fn containers(&self, project: Option<&str>) -> Result<Vec<Container>>;
    async fn inspect_container(&self, id_or_name: &str) -> Result<Option<Container>>;
    async fn create_container(&self, spec: &ContainerSpec) -> Result<String>;
    async fn start_container(&self, id: &str) -> Result<()>;
    async fn stop_container(&self, id: &str, timeout_s: u32) -> Result<()>;
    async fn restart_container(&self, id: &str, timeout_s: u32) -> Result<()>;
    async fn remove_container(&self, id: &str) -> Result<()>;
    /// The last `tail` lines of stdout and stderr, in order.
    async fn logs(&self, id: &str, tail: usize) -> Result<Vec<String>>;
    /// The last `tail` lines, then new ones as they come (`logs --follow`).
    fn follow_logs(&self, id: &str, tail: usize) -> BoxStream<'static, Result<String>>;
    /// Events of the project's containers from now on; subscribe before acting, so no event
    /// between an action and the subscription is lost.
    fn events(&self, project: &str) -> BoxStream<'static, Result<ContainerEvent>>;

    async fn image(&self, reference: &str) -> Result<Option<ImageInfo>>;
    /// One pull attempt; `progress` is called as layers move.
    async fn pull(
        &self,
        reference: &str,
        auth: Option<&RegistryAuth>,
        progress: &(dyn Fn(PullProgress) + Send + Sync),
    ) -> Result<()>;
    /// Writes the images into one tar file (`docker save`); returns its size.
    async fn save_images(&self, references: &[String], file: &Path) -> Result<u64>;
    /// Loads a file made by `save_images` (`docker load`).
    async fn load_images(&self, file: &Path) -> Result<()>;

    /// Creates the network unless it exists; true when created.
    async fn ensure_network(&self, name: &str, labels: &BTreeMap<String, String>) -> Result<bool>;
    /// True when it existed and was removed.
    async fn remove_network(&self, name: &str) -> Result<bool>;
    async fn networks(&self, project: &str) -> Result<Vec<String>>;
    async fn ensure_volume(&self, name: &str, labels: &BTreeMap<String, String>) -> Result<bool>;
    async fn remove_volume(&self, name: &str) -> Result<bool>;
    async fn volumes(&self, project: &str) -> Result<Vec<String>>;

    /// Runs a helper container to completion and removes it: (exit code, its log lines).
    async fn run_once(&self, job: &OneShot) -> Result<(i64, Vec<String>)>;

    /// Runs `cmd` inside a running container and waits for it: its exit code (`None` when the
    /// engine does not say). Used to ask a service's own healthcheck without waiting for
    /// Docker's next interval.
    async fn exec(&self, id: &str, cmd: &[String]) -> Result<Option<i64>>;

    // bluegreen:
    /// The container's IP address on `network`; `None` when it is not attached (or gone).
    async fn container_ip(&self, id: &str, network: &str) -> Result<Option<String>>;
    /// Renames a container; Docker's DNS follows the new name.
    async fn rename_container(&self, id: &str, name: &str) -> Result<()>;

    // reload:
    /// Sends `signal` (`SIGHUP`) to the container's main process (`docker kill --signal`).
    async fn signal_container(&self, id: &str, signal: &str) -> Result<()>;

    // upgradebg:
    /// A folder of an image's filesystem as a tar archive (`GET /containers/{id}/archive` of a
    /// created, never started container carrying `labels`, removed afterwards). For files an
    /// image ships, such as LiteLLM's database migrations.
    async fn image_archive(&self, image: &str, path: &str, labels: &BTreeMap<String, String>) -> Result<Vec<u8>>;

    // backup:
    /// [`Engine::exec`] with its streams: stdin fed from a host file (then closed), stdout kept,
    /// written to a host file or handed over as it comes, the last lines of stderr kept. Both
    /// directions stream at once, so a database dump is never held whole in memory.
    async fn exec_io(&self, id: &str, io: &ExecIo<'_>) -> Result<ExecOutput>;

    // doctor:
    /// Runs `cmd` inside a running container with `env` added to its environment and waits
    /// for it: its exit code and what it printed as text (stdout cut at [`EXEC_OUTPUT_LIMIT`],
    /// the last lines of stderr). The values of `env` may be secrets: they go to the engine in
    /// the exec's settings, never into the command line (`ps` in the container and `docker
    /// inspect` show the argv). Built on [`Engine::exec_io`].
    async fn exec_output(&self, id: &str, cmd: &[String], env: &[(String, Secret)]) -> Result<ExecText> {
        let io = ExecIo {
            cmd: cmd.to_vec(),
            env: env.to_vec(),
            stdin: None,
            stdout: ExecStdout::Capture,
            progress: None,
        };
        let out = self.exec_io(id, &io).await?;
        let keep = out.stdout.len().min(EXEC_OUTPUT_LIMIT);
        Ok(ExecText {
            exit_code: out.exit_code,
            stdout: String::from_utf8_lossy(&out.stdout[..keep]).into_owned(),
            stderr: out.stderr.join("\n"),
        })
    }
}

// backup:
/// Where the stdout of an [`Engine::exec_io`] command goes.
pub enum ExecStdout<'a> {
    /// Kept in memory, for a query's short answer (at most [`EXEC_CAPTURE_LIMIT`] bytes).
    Capture,
    /// Written to this host file, created (mode 0600 on Unix) or truncated.
    File(&'a Path),
    /// Handed over chunk by chunk as it comes.
    Chunks(&'a (dyn Fn(&[u8]) + Send + Sync)),
}

/// What `ExecStdout::Capture` keeps at most; the rest is counted, not kept.
pub const EXEC_CAPTURE_LIMIT: usize = 16 << 20;

/// A command to run in a running container with its streams.
pub struct ExecIo<'a> {
    pub cmd: Vec<String>,
    /// Values may be secrets (a password for the command); they go to the engine only.
    pub env: Vec<(String, Secret)>,
    /// A host file fed to the command's stdin, which is closed at its end.
    pub stdin: Option<&'a Path>,
    pub stdout: ExecStdout<'a>,
    /// Called with the bytes of stdout so far, as they come.
    pub progress: Option<&'a (dyn Fn(u64) + Send + Sync)>,
}

impl<'a> ExecIo<'a> {
    /// `cmd`, its stdout kept in memory, no stdin.
    pub fn capture(cmd: &[&str]) -> ExecIo<'a> {
        ExecIo {
            cmd: cmd.iter().map(|s| s.to_string()).collect(),
            env: Vec::new(),
            stdin: None,
            stdout: ExecStdout::Capture,
            progress: None,
        }
    }
}

/// How an [`Engine::exec_io`] command ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOutput {
    /// `None` when the engine does not say.
    pub exit_code: Option<i64>,
    /// With `ExecStdout::Capture` only.
    pub stdout: Vec<u8>,
    pub stdout_bytes: u64,
    /// The last 50 lines of stderr.
    pub stderr: Vec<String>,
}

impl ExecOutput {
    pub fn ok(&self) -> bool {
        self.exit_code == Some(0)
    }
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).trim().to_string()
    }
}

// doctor:
/// The most of stdout [`Engine::exec_output`] keeps: a check reads a line or two.
pub const EXEC_OUTPUT_LIMIT: usize = 64 * 1024;

/// What a command run by [`Engine::exec_output`] left, as text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecText {
    /// `None` when the engine does not say.
    pub exit_code: Option<i64>,
    pub stdout: String,
    pub stderr: String,
}
