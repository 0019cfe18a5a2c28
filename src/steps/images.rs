//! The images step: every image present, loaded from a file (`images save`) or pulled as the
//! answers' policy says, with progress events and retries of transient registry errors; the
//! digests used go to `images.lock.yaml`. The install runs its three parts (plan, pulls,
//! record) beside the start step, which waits on [`ImageGate`] for each service's image.
//!
//! The pulls run at the same time (each reports its own progress, keyed by image), so the
//! small images are there while LiteLLM's large one is still downloading. A pull that reports
//! nothing for [`stall_after`] is dropped and tried again: the engine keeps the layers it
//! finished, so the next attempt resumes instead of waiting forever on a dead connection.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::install::InstallOptions;
use super::{Event, EventSink, StepError, StepId, progress};
use crate::answers::PullPolicy;
use crate::engine::pull::{self, IMAGES_LOCK, ImagesLock, LockedImage};
use crate::engine::{Engine, EngineError, PullProgress};
use crate::error::{Error, Result};
use crate::platform::join_rel;
use crate::render::write::write_atomic;
use crate::stack::Stack;
use crate::workspace::Workspace;

const PULL_ATTEMPTS: u32 = 3;
/// Pull progress is reported at most this often per image (plus every layer finished).
const PULL_EVENT_EVERY: Duration = Duration::from_millis(250);
/// A pull with no word from the engine for this long is stalled (the engine reports each
/// layer's bytes about every half second while it downloads or extracts).
const PULL_STALL_AFTER: Duration = Duration::from_secs(60);
/// Overrides [`PULL_STALL_AFTER`] (a humantime duration such as `90s`), for very slow links;
/// the tests use it to see a stall without waiting a minute.
pub const PULL_STALL_ENV: &str = "LITELLM_STACK_PULL_STALL";

/// How long a pull may go without progress before it is retried.
fn stall_after() -> Duration {
    std::env::var(PULL_STALL_ENV)
        .ok()
        .and_then(|v| humantime::parse_duration(v.trim()).ok())
        .filter(|d| !d.is_zero())
        .unwrap_or(PULL_STALL_AFTER)
}

/// Why one attempt at a pull ended without the image.
enum AttemptError {
    Engine(EngineError),
    /// No progress for this long.
    Stalled(Duration),
}

/// Resolves once `last` (the time of the pull's latest progress) is `limit` in the past.
async fn stalled(last: &Mutex<Instant>, limit: Duration) {
    loop {
        let since = last.lock().map(|t| t.elapsed()).unwrap_or_default();
        if since >= limit {
            return;
        }
        // A wait on elapsed time itself: nothing else tells that no progress came.
        tokio::time::sleep(limit - since).await;
    }
}

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
    let stall = stall_after();
    let mut attempt = 1;
    loop {
        let last: Mutex<Option<(Instant, u32, String)>> = Mutex::new(None);
        let activity = Mutex::new(Instant::now());
        let report = |p: PullProgress| {
            if let Ok(mut at) = activity.lock() {
                *at = Instant::now();
            }
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
        // Dropping the pull on a stall closes its connection to the engine, which cancels
        // the engine's download; the finished layers stay for the next attempt.
        let outcome = tokio::select! {
            r = engine.pull(reference, auth.as_ref(), &report) => r.map_err(AttemptError::Engine),
            () = stalled(&activity, stall) => Err(AttemptError::Stalled(stall)),
        };
        let retry_msg = match outcome {
            Ok(()) => return Ok(()),
            Err(AttemptError::Engine(e)) if attempt < PULL_ATTEMPTS && e.is_transient() => msg!("engine.images.retry"),
            Err(AttemptError::Stalled(_)) if attempt < PULL_ATTEMPTS => {
                msg!("engine.images.stalled_retry").arg("stall", stall.as_secs())
            }
            Err(AttemptError::Engine(e)) => return Err(pull_error(stack, reference, e)),
            Err(AttemptError::Stalled(d)) => {
                return Err(Error::environment(
                    msg!("engine.images.stalled")
                        .arg("image", reference)
                        .arg("stall", d.as_secs())
                        .arg("of", PULL_ATTEMPTS),
                )
                .hint(msg!("engine.images.pull_failed.hint").arg("field", image_field(stack, reference))));
            }
        };
        let wait = Duration::from_secs(1 << (attempt - 1));
        progress(
            sink,
            StepId::Images,
            retry_msg
                .arg("image", reference)
                .arg("attempt", attempt + 1)
                .arg("of", PULL_ATTEMPTS)
                .arg("seconds", wait.as_secs()),
        );
        // Backoff between attempts, not a wait on state: the registry needs time.
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

/// The images as they become present, for the start step to wait on: reference → image ID.
/// The pulls mark each image the moment it is there, so a service whose image is ready can be
/// started while the others still download.
pub(crate) struct ImageGate {
    ready: tokio::sync::watch::Sender<HashMap<String, String>>,
}

impl ImageGate {
    pub(crate) fn new(ready: HashMap<String, String>) -> ImageGate {
        ImageGate {
            ready: tokio::sync::watch::Sender::new(ready),
        }
    }

    pub(crate) fn mark(&self, reference: &str, id: String) {
        self.ready.send_modify(|m| {
            m.insert(reference.to_string(), id);
        });
    }

    /// The image's ID once it is present. Never resolves for an image that never comes: the
    /// run that drives the pulls drops the waiter when a pull fails.
    pub(crate) async fn id(&self, reference: &str) -> String {
        let mut rx = self.ready.subscribe();
        match rx.wait_for(|m| m.contains_key(reference)).await {
            Ok(m) => m.get(reference).cloned().unwrap_or_default(),
            // The sender lives as long as `self`: unreachable, but never a wrong ID.
            Err(_) => std::future::pending().await,
        }
    }
}

/// What the images step decided before pulling: every reference, the ones to pull, the IDs
/// of those already present.
pub(crate) struct ImagesPlan {
    references: Vec<String>,
    pub(crate) to_pull: Vec<String>,
    present: HashMap<String, String>,
}

impl ImagesPlan {
    /// A gate on which the images already present are ready.
    pub(crate) fn gate(&self) -> ImageGate {
        ImageGate::new(
            self.present
                .iter()
                .filter(|(r, _)| !self.to_pull.contains(r))
                .map(|(r, id)| (r.clone(), id.clone()))
                .collect(),
        )
    }
}

/// The first part of the images step: images loaded from the file, what to pull decided, an
/// image that must be there and is not reported.
pub(crate) async fn plan_images(
    ws: &Workspace,
    opts: &InstallOptions,
    engine: &dyn Engine,
    sink: &dyn EventSink,
) -> std::result::Result<ImagesPlan, StepError> {
    let stack = &ws.stack;
    let mut policy = ws.answers.pull;
    if let Some(file) = &opts.images_file {
        progress(
            sink,
            StepId::Images,
            msg!("engine.images.loading").arg("file", file.display()),
        );
        engine.load_images(file).await?;
        // The file is the source: nothing is fetched from a registry.
        policy = PullPolicy::Never;
    }
    let mut references: Vec<String> = Vec::new();
    for s in &stack.services {
        if !references.contains(&s.image) {
            references.push(s.image.clone());
        }
    }
    // What to pull is decided first; then every pull runs at once.
    let mut to_pull: Vec<String> = Vec::new();
    let mut present_ids = HashMap::new();
    for reference in &references {
        let present = engine.image(reference).await?;
        let pull_it = match policy {
            PullPolicy::Always => true,
            PullPolicy::Missing => present.is_none(),
            PullPolicy::Never => false,
        };
        if let Some(info) = &present {
            present_ids.insert(reference.clone(), info.id.clone());
        }
        if pull_it {
            to_pull.push(reference.clone());
        } else if present.is_none() {
            let field = image_field(stack, reference);
            return Err(
                Error::environment(msg!("engine.images.missing").arg("image", reference))
                    .hint(msg!("engine.images.missing.hint").arg("field", field))
                    .into(),
            );
        }
    }
    Ok(ImagesPlan {
        references,
        to_pull,
        present: present_ids,
    })
}

/// The pulls of the plan, all at once; each image is marked on `gate` (and `pulled` is told)
/// the moment it is present. The first failure ends them all (the others are dropped, which
/// cancels them; their finished layers stay for a re-run).
pub(crate) async fn pull_images(
    ws: &Workspace,
    plan: &ImagesPlan,
    engine: &dyn Engine,
    sink: &dyn EventSink,
    gate: &ImageGate,
    pulled: &(dyn Fn(&str) + Sync),
) -> std::result::Result<(), StepError> {
    let stack = &ws.stack;
    let pulls = plan.to_pull.iter().map(|reference| async move {
        progress(
            sink,
            StepId::Images,
            msg!("engine.images.pulling").arg("image", reference),
        );
        pull_with_retries(engine, stack, reference, sink).await?;
        let info = engine.image(reference).await?.ok_or_else(|| {
            Error::failed(msg!("engine.images.missing").arg("image", reference))
                .hint(msg!("engine.images.missing.hint").arg("field", image_field(stack, reference)))
        })?;
        pulled(reference);
        gate.mark(reference, info.id);
        Ok::<(), Error>(())
    });
    futures_util::future::try_join_all(pulls).await?;
    Ok(())
}

/// The last part of the images step: the digests recorded in `images.lock.yaml`, the step
/// done. Returns the image IDs by service and the images pulled.
pub(crate) async fn finish_images(
    ws: &Workspace,
    plan: &ImagesPlan,
    engine: &dyn Engine,
    sink: &dyn EventSink,
) -> std::result::Result<(HashMap<String, String>, Vec<String>), StepError> {
    let stack = &ws.stack;
    let pulled: Vec<String> = plan.to_pull.clone();
    let mut lock = ImagesLock::default();
    let mut ids_by_ref: HashMap<&str, String> = HashMap::new();
    for reference in &plan.references {
        let info = engine.image(reference).await?.ok_or_else(|| {
            Error::failed(msg!("engine.images.missing").arg("image", reference))
                .hint(msg!("engine.images.missing.hint").arg("field", image_field(stack, reference)))
        })?;
        let digest = pull::digest_for(reference, &info.repo_digests);
        progress(
            sink,
            StepId::Images,
            msg!("engine.images.ready")
                .arg("image", reference)
                .arg("digest", digest.clone().unwrap_or_else(|| info.id.clone())),
        );
        for s in stack.services.iter().filter(|s| s.image == *reference) {
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
            msg!("engine.images.done")
                .arg("pulled", pulled.len())
                .arg("file", IMAGES_LOCK),
        ),
    });
    Ok((ids, pulled))
}

/// The images step on its own (the upgrade and its rollback): every image present (loaded or
/// pulled as the policy says), their IDs by service, and the record of what was used.
pub(crate) async fn images_step(
    ws: &Workspace,
    opts: &InstallOptions,
    engine: &dyn Engine,
    sink: &dyn EventSink,
) -> std::result::Result<(HashMap<String, String>, Vec<String>), StepError> {
    let plan = plan_images(ws, opts, engine, sink).await?;
    let gate = plan.gate();
    pull_images(ws, &plan, engine, sink, &gate, &|_| {}).await?;
    finish_images(ws, &plan, engine, sink).await
}
