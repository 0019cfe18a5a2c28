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
    ContainerCreateBody, EndpointSettings, ExecConfig, HealthConfig, HostConfig, NetworkCreateRequest,
    NetworkingConfig, PortBinding, RestartPolicy, RestartPolicyNameEnum, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, DownloadFromContainerOptions, EventsOptions, ImportImageOptions,
    ListContainersOptions, ListNetworksOptions, ListVolumesOptions, LogsOptions, RemoveContainerOptions,
    RemoveVolumeOptions, RestartContainerOptions, StopContainerOptions, WaitContainerOptions,
};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::connect::Unanswered;
use super::docker_convert::{from_inspect, from_summary, push_lines, to_event, to_mount};
use super::docker_error::{api_error, is_not_found, pull_error, timed_out, unanswered};
use super::error::{EngineError, EngineResult as Result};
use super::pull::{PullTracker, with_default_tag};
use super::{
    Container, ContainerEvent, ContainerSpec, Engine, EngineInfo, ExecIo, ExecOutput, ImageInfo, LABEL_PROJECT,
    OneShot, PullProgress, RegistryAuth,
};

/// Long enough for `docker load` of a few GB; calls that must answer fast have their own.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3600);

pub struct DockerEngine {
    docker: Docker,
    endpoint: String,
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

    async fn signal_container(&self, id: &str, signal: &str) -> Result<()> {
        super::docker_net::signal_container(&self.docker, id, signal).await
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

    async fn image_archive(&self, image: &str, path: &str, labels: &BTreeMap<String, String>) -> Result<Vec<u8>> {
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            labels: Some(to_map(labels)),
            host_config: Some(HostConfig {
                network_mode: Some("none".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let id = self.create(None, body).await?;
        let options = DownloadFromContainerOptions { path: path.to_string() };
        let mut stream = self.docker.download_from_container(&id, Some(options));
        let mut tar = Vec::new();
        let result = loop {
            match stream.next().await {
                Some(Ok(chunk)) => tar.extend_from_slice(&chunk),
                Some(Err(e)) => break Err(api_error(format!("read {path} from image {image}"), e)),
                None => break Ok(tar),
            }
        };
        drop(stream);
        // Never started, removed whatever happened.
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

    // bluegreen:
    async fn container_ip(&self, id: &str, network: &str) -> Result<Option<String>> {
        super::docker_net::container_ip(&self.docker, id, network).await
    }

    async fn rename_container(&self, id: &str, name: &str) -> Result<()> {
        super::docker_net::rename_container(&self.docker, id, name).await
    }

    // backup:
    async fn exec_io(&self, id: &str, io: &ExecIo<'_>) -> Result<ExecOutput> {
        super::docker_exec::exec_io(&self.docker, id, io).await
    }
}

/// The byte buffer type the engine's streaming upload wants, without naming its crate.
fn bytes_of<B: From<Vec<u8>>>(v: Vec<u8>) -> B {
    B::from(v)
}
