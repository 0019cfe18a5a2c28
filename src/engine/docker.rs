//! [`Engine`] on bollard: the one place that speaks the Docker Engine API.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use bollard::Docker;
use bollard::auth::DockerCredentials;
use bollard::errors::Error as BollardError;
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerSummary, EndpointSettings, EventMessage, ExecConfig,
    HealthConfig, HostConfig, Mount, MountType, NetworkCreateRequest, NetworkingConfig, PortBinding, RestartPolicy,
    RestartPolicyNameEnum, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, EventsOptions, ImportImageOptions, ListContainersOptions,
    ListNetworksOptions, ListVolumesOptions, LogsOptions, RemoveContainerOptions, RemoveVolumeOptions,
    RestartContainerOptions, StopContainerOptions, WaitContainerOptions,
};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::connect::Unanswered;
use super::error::{EngineError, EngineErrorKind, EngineResult as Result, Unreachable, io_kind_in};
use super::pull::{PullTracker, pull_failure, with_default_tag};
use super::{
    Container, ContainerEvent, ContainerSpec, Engine, EngineInfo, EventAction, Health, ImageInfo, LABEL_PROJECT,
    MountSourceSpec, MountSpec, OneShot, PublishedPort, PullProgress, RegistryAuth, State,
};

/// Long enough for `docker load` of a few GB; calls that must answer fast have their own.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3600);

pub struct DockerEngine {
    docker: Docker,
    endpoint: String,
}

/// An engine call that failed: which operation, the daemon's status or the socket's I/O
/// error kind, and the engine's own words.
fn api_error(op: impl Into<String>, e: BollardError) -> EngineError {
    let status = status_of(&e);
    let kind = match status {
        Some(404) => EngineErrorKind::NotFound,
        Some(409) => EngineErrorKind::Conflict,
        _ => EngineErrorKind::Other,
    };
    EngineError {
        status,
        io: io_kind(&e),
        ..EngineError::new(op, kind, &e)
    }
}

/// A failed pull, whatever failed: classified by [`pull_failure`].
fn pull_error(reference: &str, e: BollardError) -> EngineError {
    let (status, io) = (status_of(&e), io_kind(&e));
    let message = match &e {
        BollardError::DockerResponseServerError { message, .. } => message.clone(),
        BollardError::DockerStreamError { error } => error.clone(),
        other => other.to_string(),
    };
    let kind = EngineErrorKind::Pull {
        reference: reference.to_string(),
        failure: pull_failure(status, io, &message),
    };
    EngineError {
        status,
        io,
        ..EngineError::new(format!("pull {reference}"), kind, &e)
    }
}

fn status_of(e: &BollardError) -> Option<u16> {
    match e {
        BollardError::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

/// The I/O error kind under a transport failure. bollard's `IOError` is `transparent`, so its
/// `source()` skips the `io::Error` it holds: that one is asked directly. bollard's own request
/// timeout counts as `TimedOut`.
fn io_kind(e: &BollardError) -> Option<std::io::ErrorKind> {
    match e {
        BollardError::IOError { err } => Some(err.kind()),
        BollardError::RequestTimeoutError => Some(std::io::ErrorKind::TimedOut),
        other => io_kind_in(other),
    }
}

/// Why a ping (or the version negotiation after it) got no answer.
fn unanswered(e: BollardError) -> Unanswered {
    let io = io_kind(&e);
    let why = match (&e, io) {
        // bollard looks for the socket file before connecting.
        (BollardError::SocketNotFoundError(_), _) => Unreachable::NotFound,
        (_, Some(kind)) => Unreachable::from_io(kind),
        _ => Unreachable::Other,
    };
    Unanswered {
        why,
        io,
        status: status_of(&e),
        detail: e.to_string(),
    }
}

fn timed_out(host: &str, after: Duration) -> Unanswered {
    Unanswered {
        why: Unreachable::NotResponding,
        io: Some(std::io::ErrorKind::TimedOut),
        status: None,
        detail: format!("{host}: timed out after {} s", after.as_secs()),
    }
}

fn is_not_found(e: &BollardError) -> bool {
    matches!(e, BollardError::DockerResponseServerError { status_code: 404, .. })
}

fn to_map(labels: &BTreeMap<String, String>) -> HashMap<String, String> {
    labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn project_filter(project: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_string(), vec![format!("{LABEL_PROJECT}={project}")])])
}

fn ns(seconds: u32) -> i64 {
    i64::from(seconds) * 1_000_000_000
}

/// "Up 3 minutes (healthy)" → healthy: older engines put health only in the status text.
fn health_from_status(status: &str) -> Health {
    if status.contains("(healthy)") {
        Health::Healthy
    } else if status.contains("(unhealthy)") {
        Health::Unhealthy
    } else if status.contains("(health: starting)") {
        Health::Starting
    } else {
        Health::None
    }
}

fn from_summary(s: ContainerSummary) -> Container {
    let ports = s
        .ports
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| {
            Some(PublishedPort {
                host_ip: p.ip.unwrap_or_default(),
                host_port: p.public_port?,
                container_port: p.private_port,
            })
        })
        .collect();
    let status = s.status.unwrap_or_default();
    Container {
        id: s.id.unwrap_or_default(),
        name: s
            .names
            .and_then(|n| n.into_iter().next())
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string(),
        labels: s.labels.unwrap_or_default().into_iter().collect(),
        state: State::parse(&s.state.map(|x| x.to_string()).unwrap_or_default()),
        health: health_from_status(&status),
        image: s.image.unwrap_or_default(),
        image_id: s.image_id.unwrap_or_default(),
        ports,
        restart_count: 0,
        exit_code: None,
        oom_killed: false,
        error: None,
        started_at: None,
    }
}

fn from_inspect(r: ContainerInspectResponse) -> Container {
    let state = r.state.unwrap_or_default();
    let config = r.config.unwrap_or_default();
    let mut ports = Vec::new();
    for (key, bindings) in r.network_settings.and_then(|n| n.ports).unwrap_or_default() {
        let container_port = key.split('/').next().and_then(|p| p.parse().ok()).unwrap_or(0);
        for b in bindings.unwrap_or_default() {
            if let Some(host_port) = b.host_port.and_then(|p| p.parse().ok()) {
                ports.push(PublishedPort {
                    host_ip: b.host_ip.unwrap_or_default(),
                    host_port,
                    container_port,
                });
            }
        }
    }
    ports.sort_by_key(|p| (p.host_port, p.host_ip.clone()));
    Container {
        id: r.id.unwrap_or_default(),
        name: r.name.unwrap_or_default().trim_start_matches('/').to_string(),
        labels: config.labels.unwrap_or_default().into_iter().collect(),
        state: State::parse(&state.status.map(|s| s.to_string()).unwrap_or_default()),
        health: Health::parse(
            &state
                .health
                .and_then(|h| h.status)
                .map(|s| s.to_string())
                .unwrap_or_default(),
        ),
        image: config.image.unwrap_or_default(),
        image_id: r.image.unwrap_or_default(),
        ports,
        restart_count: r.restart_count.unwrap_or(0),
        exit_code: state.exit_code,
        oom_killed: state.oom_killed.unwrap_or(false),
        error: state.error.filter(|e| !e.is_empty()),
        started_at: state.started_at,
    }
}

fn to_mount(m: &MountSpec) -> Mount {
    let (typ, source) = match &m.source {
        MountSourceSpec::Bind(p) => (MountType::BIND, p.clone()),
        MountSourceSpec::Volume(v) => (MountType::VOLUME, v.clone()),
    };
    Mount {
        target: Some(m.target.clone()),
        source: Some(source),
        typ: Some(typ),
        read_only: Some(m.read_only),
        ..Default::default()
    }
}

fn to_event(m: EventMessage) -> Option<ContainerEvent> {
    let actor = m.actor?;
    let attributes = actor.attributes.unwrap_or_default();
    let action = m.action.unwrap_or_default();
    let action = match action.as_str() {
        "start" => EventAction::Start,
        "die" => EventAction::Die {
            exit_code: attributes.get("exitCode").and_then(|c| c.parse().ok()),
        },
        "oom" => EventAction::Oom,
        "destroy" => EventAction::Destroy,
        a if a.starts_with("health_status") => {
            EventAction::Health(Health::parse(a.rsplit(':').next().unwrap_or_default().trim()))
        }
        other => EventAction::Other(other.to_string()),
    };
    Some(ContainerEvent {
        id: actor.id.unwrap_or_default(),
        service: attributes.get(super::LABEL_SERVICE).cloned(),
        action,
    })
}

/// Splits log frames into lines; a frame may hold several, or none whole.
fn push_lines(out: &mut Vec<String>, pending: &mut String, chunk: &[u8]) {
    pending.push_str(&String::from_utf8_lossy(chunk));
    while let Some(i) = pending.find('\n') {
        let line: String = pending.drain(..=i).collect();
        out.push(line.trim_end_matches(['\n', '\r']).to_string());
    }
}

impl DockerEngine {
    /// Connects to `host` and proves the engine answers: ping, then API version negotiation.
    /// On failure, why (from bollard's error kind and the socket's I/O error) for `connect`.
    pub async fn open(host: &str, ping_timeout: Duration) -> std::result::Result<DockerEngine, Unanswered> {
        let docker = Docker::connect_with_host(host)
            .map_err(unanswered)?
            .with_timeout(REQUEST_TIMEOUT);
        match tokio::time::timeout(ping_timeout, docker.ping()).await {
            Err(_) => return Err(timed_out(host, ping_timeout)),
            Ok(Err(e)) => return Err(unanswered(e)),
            Ok(Ok(_)) => {}
        }
        let docker = match tokio::time::timeout(ping_timeout, docker.negotiate_version()).await {
            Err(_) => return Err(timed_out(host, ping_timeout)),
            Ok(r) => r.map_err(unanswered)?,
        };
        Ok(DockerEngine {
            docker,
            endpoint: host.to_string(),
        })
    }

    async fn create(&self, name: Option<&str>, body: ContainerCreateBody) -> Result<String> {
        let options = CreateContainerOptions {
            name: name.map(str::to_string),
            ..Default::default()
        };
        let r = self
            .docker
            .create_container(Some(options), body)
            .await
            .map_err(|e| api_error(format!("create container {}", name.unwrap_or("")), e))?;
        Ok(r.id)
    }
}

#[async_trait]
impl Engine for DockerEngine {
    fn endpoint(&self) -> &str {
        &self.endpoint
    }

    async fn info(&self) -> Result<EngineInfo> {
        let v = self.docker.version().await.map_err(|e| api_error("version", e))?;
        let info = self.docker.info().await.map_err(|e| api_error("info", e))?;
        Ok(EngineInfo {
            endpoint: self.endpoint.clone(),
            version: v.version.unwrap_or_default(),
            api_version: v.api_version.unwrap_or_default(),
            os: v.os.unwrap_or_default(),
            arch: v.arch.unwrap_or_default(),
            root_dir: info.docker_root_dir,
            operating_system: info.operating_system,
            mem_total: info.mem_total.and_then(|m| u64::try_from(m).ok()),
        })
    }

    async fn containers(&self, project: Option<&str>) -> Result<Vec<Container>> {
        let options = ListContainersOptions {
            all: true,
            filters: project.map(project_filter),
            ..Default::default()
        };
        let list = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(|e| api_error("list containers", e))?;
        Ok(list.into_iter().map(from_summary).collect())
    }

    async fn inspect_container(&self, id: &str) -> Result<Option<Container>> {
        match self.docker.inspect_container(id, None).await {
            Ok(r) => Ok(Some(from_inspect(r))),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(api_error(format!("inspect {id}"), e)),
        }
    }

    async fn create_container(&self, spec: &ContainerSpec) -> Result<String> {
        let mut port_bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
        for p in &spec.ports {
            port_bindings
                .entry(format!("{}/tcp", p.container_port))
                .or_insert_with(|| Some(Vec::new()))
                .get_or_insert_with(Vec::new)
                .push(PortBinding {
                    host_ip: Some(p.host_ip.clone()),
                    host_port: Some(p.host_port.to_string()),
                });
        }
        let exposed: Vec<String> = port_bindings.keys().cloned().collect();
        let healthcheck = spec.healthcheck.as_ref().map(|h| HealthConfig {
            test: Some(vec!["CMD-SHELL".into(), h.shell.clone()]),
            interval: Some(ns(h.interval_s)),
            timeout: Some(ns(h.timeout_s)),
            retries: Some(i64::from(h.retries)),
            start_period: Some(ns(h.start_period_s)),
            start_interval: None,
        });
        let restart = match spec.restart.as_str() {
            "always" => RestartPolicyNameEnum::ALWAYS,
            "no" => RestartPolicyNameEnum::NO,
            "on-failure" => RestartPolicyNameEnum::ON_FAILURE,
            _ => RestartPolicyNameEnum::UNLESS_STOPPED,
        };
        let networking_config = spec.network.as_ref().map(|n| NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                n.clone(),
                EndpointSettings {
                    aliases: Some(spec.aliases.clone()),
                    ..Default::default()
                },
            )])),
        });
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            entrypoint: spec.entrypoint.clone(),
            cmd: spec.cmd.clone(),
            env: Some(spec.env.iter().map(|(k, v)| format!("{k}={}", v.expose())).collect()),
            user: spec.user.clone(),
            labels: Some(to_map(&spec.labels)),
            exposed_ports: (!exposed.is_empty()).then_some(exposed),
            healthcheck,
            host_config: Some(HostConfig {
                port_bindings: (!port_bindings.is_empty()).then_some(port_bindings),
                mounts: Some(spec.mounts.iter().map(to_mount).collect()),
                restart_policy: Some(RestartPolicy {
                    name: Some(restart),
                    maximum_retry_count: None,
                }),
                network_mode: spec.network.clone(),
                ..Default::default()
            }),
            networking_config,
            ..Default::default()
        };
        self.create(Some(&spec.name), body).await
    }

    async fn start_container(&self, id: &str) -> Result<()> {
        self.docker
            .start_container(id, None)
            .await
            .map_err(|e| api_error(format!("start {id}"), e))
    }

    async fn stop_container(&self, id: &str, timeout_s: u32) -> Result<()> {
        let options = StopContainerOptions {
            t: Some(timeout_s as i32),
            signal: None,
        };
        match self.docker.stop_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            // 304: already stopped.
            Err(BollardError::DockerResponseServerError { status_code: 304, .. }) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(api_error(format!("stop {id}"), e)),
        }
    }

    async fn restart_container(&self, id: &str, timeout_s: u32) -> Result<()> {
        let options = RestartContainerOptions {
            t: Some(timeout_s as i32),
            signal: None,
        };
        self.docker
            .restart_container(id, Some(options))
            .await
            .map_err(|e| api_error(format!("restart {id}"), e))
    }

    async fn remove_container(&self, id: &str) -> Result<()> {
        let options = RemoveContainerOptions {
            force: true,
            v: true,
            link: false,
        };
        match self.docker.remove_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(api_error(format!("remove {id}"), e)),
        }
    }

    async fn logs(&self, id: &str, tail: usize) -> Result<Vec<String>> {
        let options = LogsOptions {
            stdout: true,
            stderr: true,
            tail: tail.to_string(),
            ..Default::default()
        };
        let mut stream = self.docker.logs(id, Some(options));
        let mut lines = Vec::new();
        let mut pending = String::new();
        while let Some(item) = stream.next().await {
            let out = item.map_err(|e| api_error(format!("logs {id}"), e))?;
            push_lines(&mut lines, &mut pending, out.as_ref());
        }
        if !pending.is_empty() {
            lines.push(pending);
        }
        let skip = lines.len().saturating_sub(tail);
        Ok(lines.split_off(skip))
    }

    fn follow_logs(&self, id: &str, tail: usize) -> BoxStream<'static, Result<String>> {
        let options = LogsOptions {
            stdout: true,
            stderr: true,
            follow: true,
            tail: tail.to_string(),
            ..Default::default()
        };
        let id = id.to_string();
        let mut pending = String::new();
        self.docker
            .logs(&id, Some(options))
            .flat_map(move |item| {
                let lines: Vec<Result<String>> = match item {
                    Ok(out) => {
                        let mut lines = Vec::new();
                        push_lines(&mut lines, &mut pending, out.as_ref());
                        lines.into_iter().map(Ok).collect()
                    }
                    Err(e) => vec![Err(api_error(format!("logs {id}"), e))],
                };
                futures_util::stream::iter(lines)
            })
            .boxed()
    }

    fn events(&self, project: &str) -> BoxStream<'static, Result<ContainerEvent>> {
        let mut filters = project_filter(project);
        filters.insert("type".into(), vec!["container".into()]);
        let options = EventsOptions {
            filters: Some(filters),
            ..Default::default()
        };
        self.docker
            .events(Some(options))
            .filter_map(|item| async move {
                match item {
                    Ok(m) => to_event(m).map(Ok),
                    Err(e) => Some(Err(api_error("events", e))),
                }
            })
            .boxed()
    }

    async fn image(&self, reference: &str) -> Result<Option<ImageInfo>> {
        match self.docker.inspect_image(reference).await {
            Ok(i) => Ok(Some(ImageInfo {
                id: i.id.unwrap_or_default(),
                repo_digests: i.repo_digests.unwrap_or_default(),
            })),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(api_error(format!("inspect image {reference}"), e)),
        }
    }

    async fn pull(
        &self,
        reference: &str,
        auth: Option<&RegistryAuth>,
        progress: &(dyn Fn(PullProgress) + Send + Sync),
    ) -> Result<()> {
        let options = CreateImageOptions {
            from_image: Some(with_default_tag(reference)),
            ..Default::default()
        };
        let credentials = auth.map(|a| DockerCredentials {
            username: a.username.clone(),
            password: a.password.as_ref().map(|p| p.expose().to_string()),
            identitytoken: a.identity_token.as_ref().map(|t| t.expose().to_string()),
            serveraddress: Some(a.server.clone()),
            ..Default::default()
        });
        let mut stream = self.docker.create_image(Some(options), None, credentials);
        let mut tracker = PullTracker::default();
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| pull_error(reference, e))?;
            let detail = info.progress_detail.unwrap_or_default();
            let p = tracker.update(
                info.id.as_deref(),
                info.status.as_deref().unwrap_or_default(),
                detail.current,
                detail.total,
            );
            progress(p);
        }
        Ok(())
    }

    async fn save_images(&self, references: &[String], file: &Path) -> Result<u64> {
        let names: Vec<&str> = references.iter().map(String::as_str).collect();
        let parent = file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let tmp = tempfile::Builder::new()
            .prefix(".litellm-stack-images-")
            .tempfile_in(parent)
            .map_err(|e| EngineError::file("save images", parent, &e))?;
        let mut out = tokio::fs::File::create(tmp.path())
            .await
            .map_err(|e| EngineError::file("save images", tmp.path(), &e))?;
        let mut stream = self.docker.export_images(&names);
        let mut size = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| api_error("save images", e))?;
            size += chunk.len() as u64;
            out.write_all(&chunk)
                .await
                .map_err(|e| EngineError::file("save images", file, &e))?;
        }
        out.flush()
            .await
            .map_err(|e| EngineError::file("save images", file, &e))?;
        drop(out);
        tmp.persist(file)
            .map_err(|e| EngineError::file("save images", file, &e.error))?;
        Ok(size)
    }

    async fn load_images(&self, file: &Path) -> Result<()> {
        let f = tokio::fs::File::open(file)
            .await
            .map_err(|e| EngineError::file("load images", file, &e))?;
        // The tar is streamed, never held in memory whole.
        let chunks = futures_util::stream::unfold(Some(f), |state| async move {
            let mut f = state?;
            let mut buf = vec![0u8; 1 << 20];
            match f.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok::<_, std::io::Error>(bytes_of(buf)), Some(f)))
                }
                Err(e) => Some((Err(e), None)),
            }
        });
        let mut stream = self
            .docker
            .import_image_stream(ImportImageOptions::default(), chunks, None);
        while let Some(item) = stream.next().await {
            item.map_err(|e| api_error(format!("load images from {}", file.display()), e))?;
        }
        Ok(())
    }

    async fn ensure_network(&self, name: &str, labels: &BTreeMap<String, String>) -> Result<bool> {
        if self.docker.inspect_network(name, None).await.is_ok() {
            return Ok(false);
        }
        let request = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("bridge".into()),
            labels: Some(to_map(labels)),
            ..Default::default()
        };
        match self.docker.create_network(request).await {
            Ok(_) => Ok(true),
            // Made meanwhile by someone else (a parallel run): fine.
            Err(BollardError::DockerResponseServerError { status_code: 409, .. }) => Ok(false),
            Err(e) => Err(api_error(format!("create network {name}"), e)),
        }
    }

    async fn remove_network(&self, name: &str) -> Result<bool> {
        match self.docker.remove_network(name).await {
            Ok(()) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(api_error(format!("remove network {name}"), e)),
        }
    }

    async fn networks(&self, project: &str) -> Result<Vec<String>> {
        let options = ListNetworksOptions {
            filters: Some(project_filter(project)),
        };
        let list = self
            .docker
            .list_networks(Some(options))
            .await
            .map_err(|e| api_error("list networks", e))?;
        Ok(list.into_iter().filter_map(|n| n.name).collect())
    }

    async fn ensure_volume(&self, name: &str, labels: &BTreeMap<String, String>) -> Result<bool> {
        if self.docker.inspect_volume(name).await.is_ok() {
            return Ok(false);
        }
        let request = VolumeCreateRequest {
            name: Some(name.to_string()),
            labels: Some(to_map(labels)),
            ..Default::default()
        };
        self.docker
            .create_volume(request)
            .await
            .map_err(|e| api_error(format!("create volume {name}"), e))?;
        Ok(true)
    }

    async fn remove_volume(&self, name: &str) -> Result<bool> {
        match self
            .docker
            .remove_volume(name, Some(RemoveVolumeOptions { force: false }))
            .await
        {
            Ok(()) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(api_error(format!("remove volume {name}"), e)),
        }
    }

    async fn volumes(&self, project: &str) -> Result<Vec<String>> {
        let options = ListVolumesOptions {
            filters: Some(project_filter(project)),
        };
        let list = self
            .docker
            .list_volumes(Some(options))
            .await
            .map_err(|e| api_error("list volumes", e))?;
        Ok(list.volumes.unwrap_or_default().into_iter().map(|v| v.name).collect())
    }

    async fn run_once(&self, job: &OneShot) -> Result<(i64, Vec<String>)> {
        let body = ContainerCreateBody {
            image: Some(job.image.clone()),
            entrypoint: Some(job.entrypoint.clone()),
            cmd: Some(Vec::new()),
            user: Some(job.user.clone()),
            labels: Some(to_map(&job.labels)),
            host_config: Some(HostConfig {
                mounts: Some(job.binds.iter().map(to_mount).collect()),
                network_mode: Some("none".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let id = self.create(None, body).await?;
        let result = async {
            self.start_container(&id).await?;
            let mut wait = self.docker.wait_container(&id, None::<WaitContainerOptions>);
            let code = match wait.next().await {
                Some(Ok(r)) => r.status_code,
                Some(Err(BollardError::DockerContainerWaitError { code, .. })) => code,
                Some(Err(e)) => return Err(api_error("wait for helper container", e)),
                None => -1,
            };
            let logs = self.logs(&id, 50).await?;
            Ok((code, logs))
        }
        .await;
        // Removed whatever happened: a helper never outlives its job.
        let _ = self.remove_container(&id).await;
        result
    }

    async fn exec(&self, id: &str, cmd: &[String]) -> Result<Option<i64>> {
        let config = ExecConfig {
            cmd: Some(cmd.to_vec()),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            ..Default::default()
        };
        let created = self
            .docker
            .create_exec(id, config)
            .await
            .map_err(|e| api_error("exec", e))?;
        // Attached: the output stream ends when the command has exited, so no polling.
        if let StartExecResults::Attached { mut output, .. } = self
            .docker
            .start_exec(&created.id, None::<StartExecOptions>)
            .await
            .map_err(|e| api_error("exec", e))?
        {
            while let Some(chunk) = output.next().await {
                chunk.map_err(|e| api_error("exec", e))?;
            }
        }
        let done = self
            .docker
            .inspect_exec(&created.id)
            .await
            .map_err(|e| api_error("exec", e))?;
        Ok(done.exit_code)
    }
}

/// The byte buffer type the engine's streaming upload wants, without naming its crate.
fn bytes_of<B: From<Vec<u8>>>(v: Vec<u8>) -> B {
    B::from(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_frames_become_lines() {
        let mut lines = Vec::new();
        let mut pending = String::new();
        push_lines(&mut lines, &mut pending, b"one\ntw");
        push_lines(&mut lines, &mut pending, b"o\r\nthree\n");
        assert_eq!(lines, vec!["one", "two", "three"]);
        assert!(pending.is_empty());
    }

    #[test]
    fn health_is_read_from_an_old_engine_status_text() {
        assert_eq!(health_from_status("Up 2 minutes (healthy)"), Health::Healthy);
        assert_eq!(health_from_status("Up 1 second (health: starting)"), Health::Starting);
        assert_eq!(health_from_status("Exited (1) 3 seconds ago"), Health::None);
    }
}
