//! The images step: every image present, loaded from a file (`images save`) or pulled as the
//! answers' policy says, with progress events and retries of transient registry errors; the
//! digests used go to `images.lock.yaml`.

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
                    msg!("engine.images.retry")
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
pub(crate) async fn images_step(
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
            msg!("engine.images.loading").arg("file", file.display()),
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
                msg!("engine.images.pulling").arg("image", reference),
            );
            pull_with_retries(engine, stack, reference, sink).await?;
            pulled.push(reference.to_string());
        } else if present.is_none() {
            let field = image_field(stack, reference);
            return Err(
                Error::environment(msg!("engine.images.missing").arg("image", reference))
                    .hint(msg!("engine.images.missing.hint").arg("field", field))
                    .into(),
            );
        }
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
            msg!("engine.images.done")
                .arg("pulled", pulled.len())
                .arg("file", IMAGES_LOCK),
        ),
    });
    Ok((ids, pulled))
}
