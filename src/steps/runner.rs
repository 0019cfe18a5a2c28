//! The runner: executes the step plan (`StepId::ALL`) against the engine and the health checks,
//! emitting `Event`s as it goes. The wizard and the headless printer both call it:
//!
//! ```text
//! let engine = engine::connect().await?;                 // exit 3 when no engine answers
//! let report = run_install(&ws, &opts, &engine, &sink).await?;
//! ```
//!
//! - Preflight (engine, disk, ports) runs before anything is written or created.
//! - A–D write the files through `Workspace::write` (unchanged files untouched).
//! - Images: loaded from `opts.images_file`, else pulled as the answers' policy says, with
//!   progress events and retries; the digests used go to `images.lock.yaml`.
//! - E creates what is missing, recreates what changed (config hash), starts in dependency
//!   order and waits on Docker's health status through the engine's events, never on sleeps.
//! - F and G run `health::wait_until_ready` and `health::api_test`, while a watchdog on the same
//!   event stream ends the wait as soon as a container dies or turns unhealthy.
//!
//! On failure the step's `StepFailed` event carries the error (what, why, what to do) and the
//! container's last 50 log lines; what was created stays, so `status` and `logs` can look at
//! it, and a re-run continues from there. Dropping the future (Ctrl-C) is safe at any await:
//! every object is created labelled in one engine call.
//!
//! `stack_status` and `take_down` serve `status`, `down` and `uninstall`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::BoxStream;

use crate::answers::PullPolicy;
use crate::engine::diagnose::{Failure, diagnose};
use crate::engine::pull::{self, IMAGES_LOCK, ImagesLock, LockedImage};
use crate::engine::spec::{self, container_name, network_labels, network_name, volume_labels, volume_name};
use crate::engine::{
    Container, ContainerEvent, ContainerSpec, Engine, EngineError, EngineInfo, EventAction, Health, PullProgress,
    State, preflight,
};
use crate::error::{Error, Result};
use crate::health::{self, ApiReport, Endpoints, ReadinessOptions, ReadyReport};
use crate::i18n::Msg;
use crate::render::join_rel;
use crate::render::write::{ChangeKind, kind_msg, mask, write_atomic};
use crate::stack::{Condition, Stack};
use crate::steps::{Event, EventSink, StepId};
use crate::workspace::{Workspace, WriteReport};

/// How many log lines a failure shows.
pub const FAILURE_LOG_LINES: usize = 50;
const PULL_ATTEMPTS: u32 = 3;
/// Pull progress is reported at most this often per image (plus every layer finished).
const PULL_EVENT_EVERY: Duration = Duration::from_millis(250);
const STOP_TIMEOUT_S: u32 = 10;

#[derive(Debug, Clone)]
pub struct InstallOptions {
    /// How long step F waits for `/health/readiness`.
    pub readiness_deadline: Duration,
    /// Load the images from this file (`images save`) instead of pulling.
    pub images_file: Option<PathBuf>,
    /// Names the backups of changed files.
    pub backup_stamp: String,
}

impl Default for InstallOptions {
    fn default() -> Self {
        InstallOptions {
            readiness_deadline: Duration::from_secs(300),
            images_file: None,
            backup_stamp: crate::workspace::stamp_now(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceAction {
    Created,
    Recreated,
    Started,
    /// Restarted because a service it needs healthy was recreated.
    Restarted,
    Unchanged,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ServiceOutcome {
    pub service: String,
    pub action: ServiceAction,
    pub container_id: String,
}

#[derive(Debug, Clone)]
pub struct InstallReport {
    pub engine: EngineInfo,
    /// Files created or updated (relative paths).
    pub files_changed: Vec<String>,
    pub images_pulled: Vec<String>,
    pub services: Vec<ServiceOutcome>,
    pub ready: ReadyReport,
    pub api: ApiReport,
    /// The whole run, preflight to API test.
    pub elapsed: Duration,
}

impl InstallReport {
    /// Nothing was written, pulled, created or started: the stack was already as asked.
    pub fn up_to_date(&self) -> bool {
        self.files_changed.is_empty()
            && self.images_pulled.is_empty()
            && self.services.iter().all(|s| s.action == ServiceAction::Unchanged)
    }
}

/// A step's failure: the error, and the log lines of the container concerned.
struct StepError {
    error: Error,
    logs: Vec<String>,
}

impl From<Error> for StepError {
    fn from(error: Error) -> Self {
        StepError {
            error,
            logs: Vec::new(),
        }
    }
}

impl From<EngineError> for StepError {
    fn from(e: EngineError) -> Self {
        StepError::from(Error::from(e))
    }
}

impl From<health::HealthError> for StepError {
    fn from(e: health::HealthError) -> Self {
        StepError::from(Error::from(e))
    }
}

fn progress(sink: &dyn EventSink, step: StepId, msg: Msg) {
    sink.emit(Event::StepProgress { step, msg });
}

/// Emits `StepFailed` for a failed step and hands the error on. Container logs may echo a
/// secret (a database URL in a traceback): every value from `.env` is masked first.
fn failed<T>(
    secrets: &[String],
    sink: &dyn EventSink,
    step: StepId,
    r: std::result::Result<T, StepError>,
) -> Result<T> {
    r.map_err(|e| {
        let mut error = e.error;
        error.detail = error.detail.map(|d| mask(&d, false, secrets));
        let logs = e.logs.iter().map(|l| mask(l, false, secrets)).collect();
        sink.emit(Event::StepFailed {
            step,
            error: error.clone(),
            logs,
        });
        error
    })
}

/// Runs the whole install. See the module doc.
pub async fn run_install(
    ws: &Workspace,
    opts: &InstallOptions,
    engine: &dyn Engine,
    sink: &dyn EventSink,
) -> Result<InstallReport> {
    let started = Instant::now();
    let secrets = ws.dotenv.secret_values();
    sink.emit(Event::StepStarted(StepId::Preflight));
    let info = failed(
        &secrets,
        sink,
        StepId::Preflight,
        preflight::run(engine, ws, sink).await.map_err(StepError::from),
    )?;
    sink.emit(Event::StepDone {
        step: StepId::Preflight,
        msg: None,
    });

    let files_changed = write_files(ws, opts, sink, &secrets)?;

    sink.emit(Event::StepStarted(StepId::Images));
    let (image_ids, images_pulled) = failed(
        &secrets,
        sink,
        StepId::Images,
        images_step(ws, opts, engine, sink).await,
    )?;

    sink.emit(Event::StepStarted(StepId::Start));
    // Subscribed before the first action, so no container event is missed from here on.
    let mut events = engine.events(&ws.stack.project).map(|r| r.map_err(Error::from)).boxed();
    let (services, mut watched) = failed(
        &secrets,
        sink,
        StepId::Start,
        start_step(ws, engine, sink, &image_ids, &mut events).await,
    )?;
    let all_unchanged = services.iter().all(|s| s.action == ServiceAction::Unchanged);
    sink.emit(Event::StepDone {
        step: StepId::Start,
        msg: Some(if all_unchanged {
            Msg::new("engine.start.all_unchanged")
        } else {
            Msg::new("engine.start.done").arg("count", services.len())
        }),
    });

    let endpoints = Endpoints::from_answers(&ws.answers);
    sink.emit(Event::StepStarted(StepId::Readiness));
    let readiness = ReadinessOptions {
        deadline: opts.readiness_deadline,
        database_configured: true,
    };
    let ready = tokio::select! {
        r = health::wait_until_ready(&endpoints, &readiness, sink) => r.map_err(StepError::from),
        e = watch(engine, &mut events, &mut watched) => Err(e),
    };
    let ready = failed(&secrets, sink, StepId::Readiness, ready)?;
    let settled = settle_check(engine, &watched).await;
    failed(&secrets, sink, StepId::Readiness, settled)?;
    for w in ready.warnings.iter() {
        sink.emit(Event::Warning(w.clone()));
    }
    sink.emit(Event::StepDone {
        step: StepId::Readiness,
        msg: Some(Msg::new("engine.readiness.done").arg("elapsed", health::human_duration(ready.elapsed))),
    });

    sink.emit(Event::StepStarted(StepId::ApiTest));
    let master_key = ws.dotenv.get("LITELLM_MASTER_KEY").cloned().unwrap_or_default();
    let models = ws.answers.model_names();
    let api = tokio::select! {
        r = health::api_test(&endpoints, &master_key, &models, sink) => r.map_err(StepError::from),
        e = watch(engine, &mut events, &mut watched) => Err(e),
    };
    let api = failed(&secrets, sink, StepId::ApiTest, api)?;
    for w in api.warnings.iter() {
        sink.emit(Event::Warning(w.clone()));
    }
    sink.emit(Event::StepDone {
        step: StepId::ApiTest,
        msg: None,
    });

    Ok(InstallReport {
        engine: info,
        files_changed,
        images_pulled,
        services,
        ready,
        api,
        elapsed: started.elapsed(),
    })
}

/// Steps A–D: one `Workspace::write`, reported per step by the files each step owns.
fn write_files(ws: &Workspace, opts: &InstallOptions, sink: &dyn EventSink, secrets: &[String]) -> Result<Vec<String>> {
    sink.emit(Event::StepStarted(StepId::Tree));
    let report: WriteReport = failed(
        secrets,
        sink,
        StepId::Tree,
        ws.write(&opts.backup_stamp).map_err(StepError::from),
    )?;
    sink.emit(Event::StepDone {
        step: StepId::Tree,
        msg: Some(Msg::new("engine.files.tree").arg("dir", ws.dir().display())),
    });
    let owner = |path: &str| match path {
        ".env" => StepId::Env,
        "config.yaml" => StepId::Config,
        _ => StepId::Compose,
    };
    for step in [StepId::Env, StepId::Config, StepId::Compose] {
        sink.emit(Event::StepStarted(step));
        if step == StepId::Env && ws.env_had_crlf {
            sink.emit(Event::Warning(Msg::new("warn.env_crlf")));
        }
        for c in report.changes.iter().filter(|c| owner(&c.path) == step) {
            progress(
                sink,
                step,
                Msg::new("engine.files.change")
                    .nested("kind", kind_msg(c.kind))
                    .arg("path", &c.path),
            );
            let backup_prefix = format!("backups/files/{}.", c.path.replace('/', "_"));
            for b in report.backups.iter().filter(|b| b.starts_with(&backup_prefix)) {
                progress(sink, step, Msg::new("render.backup").arg("path", b));
            }
        }
        sink.emit(Event::StepDone { step, msg: None });
    }
    Ok(report
        .changes
        .iter()
        .filter(|c| c.kind != ChangeKind::Unchanged)
        .map(|c| c.path.clone())
        .collect())
}

/// The answers field that names `reference`'s image, for messages.
fn image_field(stack: &Stack, reference: &str) -> String {
    stack
        .services
        .iter()
        .find(|s| s.image == reference)
        .map(|s| format!("images.{}", s.name))
        .unwrap_or_else(|| "images".into())
}

/// A failed pull for a person, naming the answers field of the image.
fn pull_error(stack: &Stack, reference: &str, e: EngineError) -> Error {
    match e.pull_failure() {
        Some(failure) => crate::engine::pull_error(reference, failure, &e.detail, &image_field(stack, reference)),
        None => e.into(),
    }
}

/// One image pulled with progress events; transient errors are retried with backoff.
async fn pull_with_retries(engine: &dyn Engine, stack: &Stack, reference: &str, sink: &dyn EventSink) -> Result<()> {
    let auth = pull::load_auth(reference);
    let mut attempt = 1;
    loop {
        let last: Mutex<Option<(Instant, u32, String)>> = Mutex::new(None);
        let report = |p: PullProgress| {
            let Ok(mut last) = last.lock() else { return };
            let now = Instant::now();
            let due = match &*last {
                None => true,
                Some((at, layers, status)) => {
                    *layers != p.layers_done
                        || (now.duration_since(*at) >= PULL_EVENT_EVERY)
                        || (!p.status.starts_with("Downloading") && *status != p.status)
                }
            };
            if due {
                *last = Some((now, p.layers_done, p.status.clone()));
                sink.emit(Event::Pull {
                    image: reference.to_string(),
                    layers_done: p.layers_done,
                    layers_total: p.layers_total,
                    bytes_done: p.bytes_done,
                    bytes_total: p.bytes_total,
                    status: p.status,
                });
            }
        };
        match engine.pull(reference, auth.as_ref(), &report).await {
            Ok(()) => return Ok(()),
            Err(e) if attempt < PULL_ATTEMPTS && e.is_transient() => {
                let wait = Duration::from_secs(1 << (attempt - 1));
                progress(
                    sink,
                    StepId::Images,
                    Msg::new("engine.images.retry")
                        .arg("image", reference)
                        .arg("attempt", attempt + 1)
                        .arg("of", PULL_ATTEMPTS)
                        .arg("seconds", wait.as_secs()),
                );
                // Backoff between attempts, not a wait on state: the registry needs time.
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            Err(e) => return Err(pull_error(stack, reference, e)),
        }
    }
}

/// The images step: every image present (loaded or pulled as the policy says), their IDs by
/// service, and the record of what was used.
async fn images_step(
    ws: &Workspace,
    opts: &InstallOptions,
    engine: &dyn Engine,
    sink: &dyn EventSink,
) -> std::result::Result<(HashMap<String, String>, Vec<String>), StepError> {
    let stack = &ws.stack;
    let mut policy = ws.answers.pull;
    if let Some(file) = &opts.images_file {
        progress(
            sink,
            StepId::Images,
            Msg::new("engine.images.loading").arg("file", file.display()),
        );
        engine.load_images(file).await?;
        // The file is the source: nothing is fetched from a registry.
        policy = PullPolicy::Never;
    }
    let mut references: Vec<&str> = Vec::new();
    for s in &stack.services {
        if !references.contains(&s.image.as_str()) {
            references.push(&s.image);
        }
    }
    let mut pulled = Vec::new();
    let mut lock = ImagesLock::default();
    let mut ids_by_ref: HashMap<&str, String> = HashMap::new();
    for reference in references {
        let present = engine.image(reference).await?;
        let pull_it = match policy {
            PullPolicy::Always => true,
            PullPolicy::Missing => present.is_none(),
            PullPolicy::Never => false,
        };
        if pull_it {
            progress(
                sink,
                StepId::Images,
                Msg::new("engine.images.pulling").arg("image", reference),
            );
            pull_with_retries(engine, stack, reference, sink).await?;
            pulled.push(reference.to_string());
        } else if present.is_none() {
            let field = image_field(stack, reference);
            return Err(
                Error::environment(Msg::new("engine.images.missing").arg("image", reference))
                    .hint(Msg::new("engine.images.missing.hint").arg("field", field))
                    .into(),
            );
        }
        let info = engine.image(reference).await?.ok_or_else(|| {
            Error::failed(Msg::new("engine.images.missing").arg("image", reference))
                .hint(Msg::new("engine.images.missing.hint").arg("field", image_field(stack, reference)))
        })?;
        let digest = pull::digest_for(reference, &info.repo_digests);
        progress(
            sink,
            StepId::Images,
            Msg::new("engine.images.ready")
                .arg("image", reference)
                .arg("digest", digest.clone().unwrap_or_else(|| info.id.clone())),
        );
        for s in stack.services.iter().filter(|s| s.image == reference) {
            lock.images.insert(
                s.name.to_string(),
                LockedImage {
                    reference: reference.to_string(),
                    id: info.id.clone(),
                    digest: digest.clone(),
                },
            );
        }
        ids_by_ref.insert(reference, info.id);
    }
    let lock_path = join_rel(ws.dir(), IMAGES_LOCK);
    if ImagesLock::read(&lock_path).as_ref() != Some(&lock) {
        write_atomic(&lock_path, lock.to_yaml().as_bytes(), false)?;
    }
    let ids = stack
        .services
        .iter()
        .map(|s| {
            (
                s.name.to_string(),
                ids_by_ref.get(s.image.as_str()).cloned().unwrap_or_default(),
            )
        })
        .collect();
    sink.emit(Event::StepDone {
        step: StepId::Images,
        msg: Some(
            Msg::new("engine.images.done")
                .arg("pulled", pulled.len())
                .arg("file", IMAGES_LOCK),
        ),
    });
    Ok((ids, pulled))
}

/// A container the later steps keep an eye on: a die or an unhealthy turn is a failure.
#[derive(Debug, Clone)]
struct Watched {
    service: String,
    id: String,
    /// Restarts counted when we last started it: more means it crashed since.
    restarts: i64,
    /// When its process started, as we left it: another start time means it died since. Events
    /// of our own restarts arrive later too; this tells them from crashes.
    started_at: Option<String>,
}

impl Watched {
    /// How `c` (a fresh look at this container) has failed since we left it, if it has.
    fn failed(&self, c: &Container) -> Option<Failure> {
        match judge(c, Target::Running, self.restarts) {
            Err(why) => Some(why),
            Ok(_) if c.started_at != self.started_at => Some(Failure::Exited(c.exit_code)),
            Ok(_) => None,
        }
    }
}

/// The last log lines, a fresh look at the container and a diagnosis, as a step failure.
async fn failure(engine: &dyn Engine, service: &str, id: &str, why: Failure) -> StepError {
    let logs = engine.logs(id, FAILURE_LOG_LINES).await.unwrap_or_default();
    let fresh = engine.inspect_container(id).await.ok().flatten();
    let why = match (&why, &fresh) {
        (Failure::Exited(_) | Failure::Unhealthy, Some(c)) if c.restart_count >= 2 => {
            Failure::RestartLoop(c.restart_count)
        }
        _ => why,
    };
    let hint = diagnose(service, &logs, fresh.as_ref())
        .unwrap_or_else(|| Msg::new("engine.diag.unknown").arg("service", service));
    let error = Error::failed(
        Msg::new("engine.start.failed")
            .arg("service", service)
            .nested("reason", why.msg()),
    )
    .hint(hint);
    StepError { error, logs }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Running,
    Healthy,
}

/// Where a container stands against `target`: reached, not yet, or failed.
fn judge(c: &Container, target: Target, baseline_restarts: i64) -> std::result::Result<bool, Failure> {
    match c.state {
        State::Exited | State::Dead => return Err(Failure::Exited(c.exit_code)),
        State::Restarting => return Err(Failure::RestartLoop(c.restart_count.max(1))),
        _ => {}
    }
    if c.restart_count > baseline_restarts {
        return Err(Failure::RestartLoop(c.restart_count));
    }
    match (target, c.state, c.health) {
        (_, State::Running, Health::Unhealthy) => Err(Failure::Unhealthy),
        (Target::Running, State::Running, _) => Ok(true),
        (Target::Healthy, State::Running, Health::Healthy | Health::None) => Ok(true),
        _ => Ok(false),
    }
}

/// Waits for a container to be running (or healthy), woken by the engine's events; the deadline
/// is its healthcheck's own (start period + interval × retries + timeout).
/// How often a dependency's own healthcheck is asked directly while Docker's health status
/// still says "starting" (Docker runs it only every `interval`, 2 s and more).
const HEALTH_PROBE_EVERY: Duration = Duration::from_millis(250);

/// Waits until `w` reaches `target`. For `Healthy`, `probe` is the service's healthcheck
/// command: it is also run directly, so the dependent starts as soon as the check passes
/// rather than at Docker's next interval. Same check, same verdict, less waiting.
async fn wait_for(
    engine: &dyn Engine,
    events: &mut BoxStream<'static, Result<ContainerEvent>>,
    w: &Watched,
    target: Target,
    probe: Option<&str>,
    deadline_s: u32,
    on_first_wait: impl FnOnce(),
) -> std::result::Result<(), StepError> {
    let deadline = Instant::now() + Duration::from_secs(u64::from(deadline_s));
    let mut on_first_wait = Some(on_first_wait);
    let probe_cmd: Option<Vec<String>> = probe.map(|p| vec!["sh".into(), "-c".into(), p.into()]);
    loop {
        let Some(c) = engine.inspect_container(&w.id).await? else {
            return Err(failure(engine, &w.service, &w.id, Failure::Exited(None)).await);
        };
        match judge(&c, target, w.restarts) {
            Ok(true) => return Ok(()),
            Ok(false) => {
                if let Some(f) = on_first_wait.take() {
                    f();
                }
                if let (Target::Healthy, Some(cmd), State::Running) = (target, &probe_cmd, c.state) {
                    // An exec that fails (the container is between states) is only a "not yet".
                    if let Ok(Some(0)) = engine.exec(&w.id, cmd).await {
                        return Ok(());
                    }
                }
            }
            Err(why) => return Err(failure(engine, &w.service, &w.id, why).await),
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(failure(engine, &w.service, &w.id, Failure::Timeout(deadline_s)).await);
        }
        let wait = match (target, &probe_cmd) {
            (Target::Healthy, Some(_)) => left.min(HEALTH_PROBE_EVERY),
            _ => left,
        };
        // Any event of the project wakes us to look again; the deadline bounds the wait.
        match tokio::time::timeout(wait, events.next()).await {
            Err(_) => {}
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(e))) => return Err(e.into()),
            Ok(None) => return Err(Error::failed(Msg::new("engine.events.ended")).into()),
        }
    }
}

/// Ends only on a failure of a watched container: it died, restarted or turned unhealthy.
async fn watch(
    engine: &dyn Engine,
    events: &mut BoxStream<'static, Result<ContainerEvent>>,
    watched: &mut [Watched],
) -> StepError {
    // Something may have happened between the start step and now: look once first.
    for w in watched.iter() {
        if let Ok(Some(c)) = engine.inspect_container(&w.id).await {
            if let Some(why) = w.failed(&c) {
                return failure(engine, &w.service, &w.id, why).await;
            }
        }
    }
    loop {
        let ev = match events.next().await {
            Some(Ok(ev)) => ev,
            Some(Err(e)) => return e.into(),
            None => return Error::failed(Msg::new("engine.events.ended")).into(),
        };
        let Some(w) = watched.iter().find(|w| w.id == ev.id) else {
            continue;
        };
        let exit_code = match ev.action {
            EventAction::Die { exit_code } => exit_code,
            EventAction::Oom | EventAction::Health(Health::Unhealthy) => None,
            _ => continue,
        };
        // The event may be stale (our own restart of it in step E): the container says.
        let c = match engine.inspect_container(&w.id).await {
            Ok(Some(c)) => c,
            Ok(None) => return failure(engine, &w.service, &w.id, Failure::Exited(exit_code)).await,
            Err(e) => return e.into(),
        };
        if let Some(why) = w.failed(&c) {
            let why = match (why, exit_code) {
                (Failure::RestartLoop(n), Some(_)) if n <= 1 => Failure::Exited(exit_code),
                (why, _) => why,
            };
            return failure(engine, &w.service, &w.id, why).await;
        }
    }
}

/// After readiness: every container still up (a restart since we started it is a failure).
async fn settle_check(engine: &dyn Engine, watched: &[Watched]) -> std::result::Result<(), StepError> {
    for w in watched {
        let c = engine.inspect_container(&w.id).await?;
        match c {
            Some(c) => {
                if let Some(why) = w.failed(&c) {
                    return Err(failure(engine, &w.service, &w.id, why).await);
                }
            }
            None => return Err(failure(engine, &w.service, &w.id, Failure::Exited(None)).await),
        }
    }
    Ok(())
}

/// Prometheus runs as `nobody` (errata 21): its data folder must be its own, and the metrics
/// key (mode 0600, ours) readable by its group. As root this is a chown; otherwise a one-shot
/// root container of the prometheus image does it.
#[cfg(unix)]
async fn fix_prometheus_ownership(
    ws: &Workspace,
    engine: &dyn Engine,
    sink: &dyn EventSink,
) -> std::result::Result<(), StepError> {
    use std::collections::BTreeMap;
    use std::os::unix::fs::{MetadataExt, PermissionsExt, chown};

    use crate::engine::OneShot;

    use crate::platform::{DataStorage, Os};
    use crate::stack::{METRICS_KEY_FILE, PROMETHEUS_UID};

    let Some(prometheus) = ws.stack.service("prometheus") else {
        return Ok(());
    };
    if ws.os != Os::Linux {
        return Ok(());
    }
    let data = join_rel(ws.dir(), "prometheus_data");
    let key = join_rel(ws.dir(), METRICS_KEY_FILE);
    let bind_data = ws.answers.data == DataStorage::Bind;
    let data_ok = !bind_data
        || std::fs::metadata(&data)
            .map(|m| m.uid() == PROMETHEUS_UID)
            .unwrap_or(false);
    let key_meta = std::fs::metadata(&key).map_err(|e| Error::io(&key, &e))?;
    let key_ok = key_meta.gid() == PROMETHEUS_UID && key_meta.mode() & 0o040 != 0;
    if data_ok && key_ok {
        return Ok(());
    }
    // A re-run finds the key back at 0600 (the file writer keeps private files so): only the
    // mode is restored then, silently.
    let owners_changed = !data_ok || key_meta.gid() != PROMETHEUS_UID;
    let direct = (|| -> std::io::Result<()> {
        if !data_ok {
            chown(&data, Some(PROMETHEUS_UID), Some(PROMETHEUS_UID))?;
        }
        if key_meta.gid() != PROMETHEUS_UID {
            chown(&key, None, Some(PROMETHEUS_UID))?;
        }
        Ok(())
    })();
    if let Err(e) = direct {
        if e.kind() != std::io::ErrorKind::PermissionDenied {
            return Err(Error::io(&key, &e).into());
        }
        // Not root: the engine runs a root container that does the same and is removed.
        let mut binds = vec![crate::engine::MountSpec {
            source: crate::engine::MountSourceSpec::Bind(key.display().to_string()),
            target: "/fix/key".into(),
            read_only: false,
        }];
        let mut script = format!("chgrp {PROMETHEUS_UID} /fix/key");
        if !data_ok {
            binds.push(crate::engine::MountSpec {
                source: crate::engine::MountSourceSpec::Bind(data.display().to_string()),
                target: "/fix/data".into(),
                read_only: false,
            });
            script.push_str(&format!(" && chown {PROMETHEUS_UID}:{PROMETHEUS_UID} /fix/data"));
        }
        let job = OneShot {
            image: prometheus.image.clone(),
            user: "0:0".into(),
            entrypoint: vec!["/bin/sh".into(), "-c".into(), script],
            binds,
            labels: BTreeMap::from([
                (crate::engine::LABEL_MANAGED.to_string(), "true".to_string()),
                (crate::engine::LABEL_PROJECT.to_string(), ws.stack.project.clone()),
                (crate::engine::LABEL_ONEOFF.to_string(), "True".to_string()),
            ]),
        };
        let (code, logs) = engine.run_once(&job).await?;
        if code != 0 {
            return Err(StepError {
                error: Error::environment(Msg::new("engine.ownership.failed").arg("path", data.display()))
                    .hint(Msg::new("engine.ownership.failed.hint").arg("path", data.display())),
                logs,
            });
        }
    }
    // We own the key file (root, or its owner): group-readable for nobody's group.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).map_err(|e| Error::io(&key, &e))?;
    if owners_changed {
        progress(
            sink,
            StepId::Start,
            Msg::new("engine.ownership.fixed").arg("uid", PROMETHEUS_UID),
        );
    }
    Ok(())
}

#[cfg(not(unix))]
async fn fix_prometheus_ownership(
    _ws: &Workspace,
    _engine: &dyn Engine,
    _sink: &dyn EventSink,
) -> std::result::Result<(), StepError> {
    // Docker Desktop keeps data in named volumes, and its bind mounts carry no Unix owners.
    Ok(())
}

/// What to do with one service this run.
struct Planned {
    spec: ContainerSpec,
    current: Option<Container>,
    action: ServiceAction,
}

/// What the start step will do, service by service, from what exists now.
fn plan_actions(stack: &Stack, specs: Vec<ContainerSpec>, existing: &[Container]) -> Vec<Planned> {
    let mut planned: Vec<Planned> = specs
        .into_iter()
        .map(|spec| {
            let mine: Vec<&Container> = existing.iter().filter(|c| c.service() == Some(&spec.service)).collect();
            let current = mine
                .iter()
                .find(|c| c.name == spec.name)
                .or_else(|| mine.first())
                .map(|c| (*c).clone());
            let action = match &current {
                None => ServiceAction::Created,
                Some(c)
                    if c.name != spec.name
                        || c.config_hash() != spec.labels.get(crate::engine::LABEL_CONFIG_HASH).map(String::as_str) =>
                {
                    ServiceAction::Recreated
                }
                Some(c) => match c.state {
                    State::Running | State::Restarting | State::Paused => ServiceAction::Unchanged,
                    State::Created | State::Exited => ServiceAction::Started,
                    State::Dead | State::Removing | State::Unknown => ServiceAction::Recreated,
                },
            };
            Planned { spec, current, action }
        })
        .collect();
    // A service that needs another one healthy is restarted when that one is recreated, so it
    // reconnects to the new container rather than to a closed connection.
    for i in 0..planned.len() {
        if planned[i].action != ServiceAction::Unchanged {
            continue;
        }
        let Some(service) = stack.service(&planned[i].spec.service) else {
            continue;
        };
        let dep_recreated = service.depends_on.iter().any(|(dep, cond)| {
            *cond == Condition::Healthy
                && planned.iter().any(|p| {
                    p.spec.service == *dep && matches!(p.action, ServiceAction::Created | ServiceAction::Recreated)
                })
        });
        if dep_recreated {
            planned[i].action = ServiceAction::Restarted;
        }
    }
    planned
}

/// Step E. Returns what was done per service, and the containers to watch from now on.
async fn start_step(
    ws: &Workspace,
    engine: &dyn Engine,
    sink: &dyn EventSink,
    image_ids: &HashMap<String, String>,
    events: &mut BoxStream<'static, Result<ContainerEvent>>,
) -> std::result::Result<(Vec<ServiceOutcome>, Vec<Watched>), StepError> {
    let stack = &ws.stack;
    let project = &stack.project;
    let mut specs = Vec::new();
    for s in &stack.services {
        let id = image_ids.get(s.name).map(String::as_str).unwrap_or_default();
        specs.push(spec::container_spec(stack, s, &ws.dotenv, id)?);
    }
    fix_prometheus_ownership(ws, engine, sink).await?;

    let net = network_name(project);
    if engine.ensure_network(&net, &network_labels(project)).await? {
        progress(sink, StepId::Start, Msg::new("engine.start.network").arg("name", &net));
    }
    for v in &stack.volumes {
        let name = volume_name(project, v);
        if engine.ensure_volume(&name, &volume_labels(project, v)).await? {
            progress(sink, StepId::Start, Msg::new("engine.start.volume").arg("name", &name));
        }
    }

    let existing = engine.containers(Some(project)).await?;
    // Containers of the project that the plan has no place for: a service turned off, a
    // duplicate made by hand. They would hold ports or answer on the network.
    let planned = plan_actions(stack, specs, &existing);
    for c in &existing {
        let kept = planned.iter().any(|p| p.current.as_ref().is_some_and(|k| k.id == c.id));
        if !kept {
            engine.stop_container(&c.id, STOP_TIMEOUT_S).await?;
            engine.remove_container(&c.id).await?;
            progress(
                sink,
                StepId::Start,
                Msg::new("engine.start.orphan").arg("name", &c.name),
            );
        }
    }

    // Services that need nothing start first, together; the others' containers are made while
    // those start up (Postgres's first start is the long pole), so that each of them is only
    // started once its dependencies meet their condition (errata 15).
    let (free, rest): (Vec<Planned>, Vec<Planned>) = planned
        .into_iter()
        .partition(|p| stack.service(&p.spec.service).is_none_or(|s| s.depends_on.is_empty()));
    let mut watched: Vec<Watched> = Vec::new();
    let mut outcomes = Vec::new();
    let first = futures_util::future::join_all(free.iter().map(|p| bring_up(engine, p, None))).await;
    for (p, id) in free.iter().zip(first) {
        let id = id?;
        record(engine, sink, p, id, &mut watched, &mut outcomes).await?;
    }
    let mut made: HashMap<String, String> = HashMap::new();
    for p in rest
        .iter()
        .filter(|p| matches!(p.action, ServiceAction::Created | ServiceAction::Recreated))
    {
        if let Some(old) = &p.current {
            engine.stop_container(&old.id, STOP_TIMEOUT_S).await?;
            engine.remove_container(&old.id).await?;
        }
        made.insert(p.spec.service.clone(), engine.create_container(&p.spec).await?);
    }
    for p in &rest {
        let service = stack
            .service(&p.spec.service)
            .ok_or_else(|| Error::failed(Msg::new("engine.start.unknown_service").arg("service", &p.spec.service)))?;
        for (dep, cond) in &service.depends_on {
            let Some(w) = watched.iter().find(|w| w.service == *dep).cloned() else {
                continue;
            };
            let check = stack.service(dep).and_then(|d| d.healthcheck.as_ref());
            let (target, probe, deadline) = match cond {
                Condition::Healthy => (
                    Target::Healthy,
                    check.map(|h| h.shell.as_str()),
                    check.map_or(60, |h| h.deadline_s()),
                ),
                Condition::Started => (Target::Running, None, 60),
            };
            let waiting = Msg::new("engine.start.waiting")
                .arg("service", service.name)
                .arg("dep", dep);
            wait_for(engine, events, &w, target, probe, deadline, || {
                progress(sink, StepId::Start, waiting.clone())
            })
            .await?;
        }
        let id = bring_up(engine, p, made.get(&p.spec.service).cloned()).await?;
        record(engine, sink, p, id, &mut watched, &mut outcomes).await?;
    }
    Ok((outcomes, watched))
}

/// Does what the plan says for one service; `made` is its container when already created.
/// Returns the container's ID.
async fn bring_up(engine: &dyn Engine, p: &Planned, made: Option<String>) -> std::result::Result<String, StepError> {
    let service = p.spec.service.as_str();
    let existing = || p.current.as_ref().map(|c| c.id.clone()).unwrap_or_default();
    Ok(match p.action {
        ServiceAction::Created | ServiceAction::Recreated => {
            let id = match made {
                Some(id) => id,
                None => {
                    if let Some(old) = &p.current {
                        engine.stop_container(&old.id, STOP_TIMEOUT_S).await?;
                        engine.remove_container(&old.id).await?;
                    }
                    engine.create_container(&p.spec).await?
                }
            };
            start_or_explain(engine, service, &id).await?;
            id
        }
        ServiceAction::Started => {
            let id = existing();
            start_or_explain(engine, service, &id).await?;
            id
        }
        ServiceAction::Restarted => {
            let id = existing();
            engine.restart_container(&id, STOP_TIMEOUT_S).await?;
            id
        }
        ServiceAction::Unchanged => existing(),
    })
}

/// Says what was done for a service and starts watching its container.
async fn record(
    engine: &dyn Engine,
    sink: &dyn EventSink,
    p: &Planned,
    id: String,
    watched: &mut Vec<Watched>,
    outcomes: &mut Vec<ServiceOutcome>,
) -> std::result::Result<(), StepError> {
    let key = match p.action {
        ServiceAction::Created => "engine.start.created",
        ServiceAction::Recreated => "engine.start.recreated",
        ServiceAction::Started => "engine.start.started",
        ServiceAction::Restarted => "engine.start.restarted",
        ServiceAction::Unchanged => "engine.start.unchanged",
    };
    progress(
        sink,
        StepId::Start,
        Msg::new(key).arg("service", &p.spec.service).arg("name", &p.spec.name),
    );
    let now = engine.inspect_container(&id).await?;
    watched.push(Watched {
        service: p.spec.service.clone(),
        id: id.clone(),
        restarts: now.as_ref().map_or(0, |c| c.restart_count),
        started_at: now.and_then(|c| c.started_at),
    });
    outcomes.push(ServiceOutcome {
        service: p.spec.service.clone(),
        action: p.action,
        container_id: id,
    });
    Ok(())
}

/// Starts a container; when the engine refuses (a port, a mount), the failure says why.
async fn start_or_explain(engine: &dyn Engine, service: &str, id: &str) -> std::result::Result<(), StepError> {
    match engine.start_container(id).await {
        Ok(()) => Ok(()),
        Err(e) => {
            let detail = e.detail.clone();
            let mut f = failure(engine, service, id, Failure::StartRefused).await;
            if let Some(hint) = diagnose(service, std::slice::from_ref(&detail), None) {
                f.error.hint = Some(hint);
            }
            f.error.detail = Some(detail);
            Err(f)
        }
    }
}

/// One service as `status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ServiceStatus {
    pub service: String,
    /// The container's name; `None` when the service has no container.
    pub container: Option<String>,
    pub state: Option<State>,
    pub health: Option<Health>,
    pub image: String,
    pub ports: Vec<String>,
    pub restarts: i64,
}

/// Each service of the stack with its container's state, health, image, ports and restarts.
pub async fn stack_status(engine: &dyn Engine, stack: &Stack) -> Result<Vec<ServiceStatus>> {
    let existing = engine.containers(Some(&stack.project)).await?;
    let mut out = Vec::new();
    for s in &stack.services {
        let found = existing
            .iter()
            .find(|c| c.service() == Some(s.name) && c.name == container_name(&stack.project, s.name))
            .or_else(|| existing.iter().find(|c| c.service() == Some(s.name)));
        let detail = match found {
            Some(c) => engine.inspect_container(&c.id).await?,
            None => None,
        };
        out.push(match detail {
            Some(c) => ServiceStatus {
                service: s.name.to_string(),
                container: Some(c.name.clone()),
                state: Some(c.state),
                health: Some(c.health),
                image: c.image.clone(),
                ports: c
                    .ports
                    .iter()
                    .map(|p| format!("{}:{}->{}", p.host_ip, p.host_port, p.container_port))
                    .collect(),
                restarts: c.restart_count,
            },
            None => ServiceStatus {
                service: s.name.to_string(),
                container: None,
                state: None,
                health: None,
                image: s.image.clone(),
                ports: Vec::new(),
                restarts: 0,
            },
        });
    }
    Ok(out)
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DownReport {
    pub containers: Vec<String>,
    pub networks: Vec<String>,
    pub volumes: Vec<String>,
}

/// Stops and removes the project's containers (in reverse start order) and its network; with
/// `remove_volumes`, its named volumes too. Data in bind-mounted folders is not touched here.
pub async fn take_down(engine: &dyn Engine, stack: &Stack, remove_volumes: bool) -> Result<DownReport> {
    let mut report = DownReport::default();
    let mut existing = engine.containers(Some(&stack.project)).await?;
    let order = |c: &Container| {
        stack
            .services
            .iter()
            .position(|s| Some(s.name) == c.service())
            .unwrap_or(usize::MAX)
    };
    existing.sort_by_key(|c| std::cmp::Reverse(order(c)));
    for c in &existing {
        engine.stop_container(&c.id, STOP_TIMEOUT_S).await?;
        engine.remove_container(&c.id).await?;
        report.containers.push(c.name.clone());
    }
    let mut networks = engine.networks(&stack.project).await?;
    let default_net = network_name(&stack.project);
    if !networks.contains(&default_net) {
        networks.push(default_net);
    }
    for n in networks {
        if engine.remove_network(&n).await? {
            report.networks.push(n);
        }
    }
    if remove_volumes {
        let mut volumes = engine.volumes(&stack.project).await?;
        for v in &stack.volumes {
            let name = volume_name(&stack.project, v);
            if !volumes.contains(&name) {
                volumes.push(name);
            }
        }
        for v in volumes {
            if engine.remove_volume(&v).await? {
                report.volumes.push(v);
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::answers::Answers;
    use crate::engine::LABEL_CONFIG_HASH;
    use crate::platform::Os;
    use crate::render::env::DotEnv;
    use crate::secrets::{ExistingEnv, Secrets};

    fn stack_and_specs() -> (Stack, Vec<ContainerSpec>) {
        let mut a = Answers::defaults_for(Os::Linux);
        a.dir = std::env::temp_dir().join("lst-runner-unit");
        a.project = Some("unit".into());
        let dotenv = DotEnv::build(&a, &Secrets::placeholders(), &ExistingEnv::default(), &|_| None);
        let stack = Stack::from_answers(&a, Os::Linux);
        let specs = stack
            .services
            .iter()
            .map(|s| spec::container_spec(&stack, s, &dotenv, "sha256:img").expect("spec"))
            .collect();
        (stack, specs)
    }

    fn running(spec: &ContainerSpec, hash: Option<&str>) -> Container {
        let mut labels: BTreeMap<String, String> = spec.labels.clone();
        match hash {
            Some(h) => labels.insert(LABEL_CONFIG_HASH.into(), h.into()),
            None => labels.remove(LABEL_CONFIG_HASH),
        };
        Container {
            id: format!("id-{}", spec.service),
            name: spec.name.clone(),
            labels,
            state: State::Running,
            health: Health::Healthy,
            image: spec.image.clone(),
            image_id: "sha256:img".into(),
            ports: vec![],
            restart_count: 0,
            exit_code: None,
            oom_killed: false,
            error: None,
            started_at: None,
        }
    }

    #[test]
    fn an_unchanged_running_stack_is_left_alone() {
        let (stack, specs) = stack_and_specs();
        let existing: Vec<Container> = specs
            .iter()
            .map(|s| running(s, s.labels.get(LABEL_CONFIG_HASH).map(String::as_str)))
            .collect();
        let plan = plan_actions(&stack, specs, &existing);
        assert!(plan.iter().all(|p| p.action == ServiceAction::Unchanged));
    }

    #[test]
    fn a_changed_postgres_is_recreated_and_litellm_restarted_after_it() {
        let (stack, specs) = stack_and_specs();
        let existing: Vec<Container> = specs
            .iter()
            .map(|s| {
                let hash = if s.service == "postgres" {
                    Some("old")
                } else {
                    s.labels.get(LABEL_CONFIG_HASH).map(String::as_str)
                };
                running(s, hash)
            })
            .collect();
        let plan = plan_actions(&stack, specs, &existing);
        let action = |name: &str| plan.iter().find(|p| p.spec.service == name).map(|p| p.action);
        assert_eq!(action("postgres"), Some(ServiceAction::Recreated));
        assert_eq!(action("litellm"), Some(ServiceAction::Restarted));
        // nginx follows the proxy through Docker's DNS: nothing to do for it.
        assert_eq!(action("nginx"), Some(ServiceAction::Unchanged));
    }

    #[test]
    fn a_stopped_container_is_started_and_a_missing_one_created() {
        let (stack, specs) = stack_and_specs();
        let mut existing: Vec<Container> = specs
            .iter()
            .map(|s| running(s, s.labels.get(LABEL_CONFIG_HASH).map(String::as_str)))
            .collect();
        existing.retain(|c| c.service() != Some("nginx"));
        if let Some(c) = existing.iter_mut().find(|c| c.service() == Some("redis")) {
            c.state = State::Exited;
        }
        let plan = plan_actions(&stack, specs, &existing);
        let action = |name: &str| plan.iter().find(|p| p.spec.service == name).map(|p| p.action);
        assert_eq!(action("redis"), Some(ServiceAction::Started));
        assert_eq!(action("nginx"), Some(ServiceAction::Created));
    }

    #[test]
    fn a_container_made_by_hand_without_our_hash_is_recreated() {
        let (stack, specs) = stack_and_specs();
        let existing: Vec<Container> = specs.iter().map(|s| running(s, None)).collect();
        let plan = plan_actions(&stack, specs, &existing);
        assert!(plan.iter().all(|p| p.action == ServiceAction::Recreated));
    }

    #[test]
    fn judging_a_container_sees_crashes_and_restarts() {
        let (_, specs) = stack_and_specs();
        let mut c = running(&specs[0], None);
        assert_eq!(judge(&c, Target::Healthy, 0), Ok(true));
        c.health = Health::Starting;
        assert_eq!(judge(&c, Target::Healthy, 0), Ok(false));
        assert_eq!(judge(&c, Target::Running, 0), Ok(true));
        c.restart_count = 1;
        assert_eq!(judge(&c, Target::Running, 0), Err(Failure::RestartLoop(1)));
        c.state = State::Exited;
        c.exit_code = Some(3);
        assert_eq!(judge(&c, Target::Running, 1), Err(Failure::Exited(Some(3))));
    }
}
