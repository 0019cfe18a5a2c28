//! `backup verify FILE`: every member's sha256 against the manifest, then the dump restored
//! into a throwaway Postgres container of the stack's own image and its rows counted against
//! the manifest's. The container is removed after, whatever happened; one left by a stopped
//! run is removed by the next.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use super::db::{self, Db};
use super::{Manifest, fail};
use crate::engine::{ContainerSpec, Engine, ExecIo, LABEL_MANAGED, LABEL_ONEOFF, LABEL_PROJECT};
use crate::error::{Error, Result};
use crate::secrets::Secret;
use crate::steps::{Event, EventSink, StepId, progress};

/// Ours, on the throwaway container, so a stopped run's one is found again.
const LABEL_CHECK: &str = "io.litellm-stack.backup-check";
const READY_WITHIN: Duration = Duration::from_secs(120);

/// Checks the archive `file`: its checksums, then its dump restored into a throwaway Postgres
/// of `postgres_image` (the manifest's image when present on the engine). Returns the manifest.
pub async fn verify(file: &Path, project: &str, postgres_image: &str, sink: &dyn EventSink) -> Result<Manifest> {
    sink.emit(Event::StepStarted(StepId::CheckArchive));
    let staging = fail(sink, StepId::CheckArchive, staging())?;
    let manifest = fail(sink, StepId::CheckArchive, super::check(file, Some(staging.path())))?;
    progress(
        sink,
        StepId::CheckArchive,
        msg!("backup.verify.checksums").arg("count", manifest.members.len()),
    );
    let engine = fail(sink, StepId::CheckArchive, super::super::session::connect().await)?;
    let r = test_restore(
        &engine,
        &manifest,
        project,
        postgres_image,
        &staging.path().join(super::DUMP_MEMBER),
        sink,
    )
    .await;
    fail(sink, StepId::CheckArchive, r)?;
    sink.emit(Event::StepDone {
        step: StepId::CheckArchive,
        msg: Some(msg!("backup.verify.done")),
    });
    Ok(manifest)
}

/// Where an archive is unpacked to be checked or restored: an owner-only temp folder.
pub fn staging() -> Result<tempfile::TempDir> {
    let tmp = std::env::temp_dir();
    tempfile::Builder::new()
        .prefix("litellm-stack-check-")
        .tempdir_in(&tmp)
        .map_err(|e| Error::io(&tmp, &e))
}

/// The image to restore into: the one the archive was made with when the engine has it,
/// else the install's.
async fn image(engine: &dyn Engine, manifest: &Manifest, fallback: &str) -> Result<String> {
    for candidate in [manifest.postgres_image.as_str(), fallback] {
        if !candidate.is_empty() && engine.image(candidate).await?.is_some() {
            return Ok(candidate.to_string());
        }
    }
    Err(Error::environment(msg!("backup.error.no_image").arg("image", fallback)).hint(msg!("backup.hint.no_image")))
}

async fn test_restore(
    engine: &dyn Engine,
    manifest: &Manifest,
    project: &str,
    fallback_image: &str,
    dump: &Path,
    sink: &dyn EventSink,
) -> Result<()> {
    remove_leftovers(engine, project).await;
    let image = image(engine, manifest, fallback_image).await?;
    let name = format!(
        "{project}-backup-check-{}",
        crate::secrets::random_token(8).to_ascii_lowercase()
    );
    let spec = ContainerSpec {
        service: "backup-check".into(),
        name: name.clone(),
        image: image.clone(),
        entrypoint: None,
        cmd: None,
        env: vec![
            ("POSTGRES_USER".into(), Secret::new(&manifest.database_user)),
            ("POSTGRES_DB".into(), Secret::new(&manifest.database_name)),
            ("POSTGRES_PASSWORD".into(), crate::secrets::generate_password()),
        ],
        user: None,
        labels: BTreeMap::from([
            (LABEL_MANAGED.to_string(), "true".to_string()),
            (LABEL_PROJECT.to_string(), project.to_string()),
            (LABEL_ONEOFF.to_string(), "True".to_string()),
            (LABEL_CHECK.to_string(), "true".to_string()),
        ]),
        ports: Vec::new(),
        mounts: Vec::new(),
        healthcheck: None,
        restart: "no".into(),
        network: None,
        aliases: Vec::new(),
        newest_file: None,
    };
    let id = engine.create_container(&spec).await?;
    progress(
        sink,
        StepId::CheckArchive,
        msg!("backup.verify.container").arg("image", &image),
    );
    let result = restore_and_count(engine, &id, manifest, dump, sink).await;
    // Removed whatever happened (with its anonymous volume): nothing of the check stays.
    let _ = engine.remove_container(&id).await;
    result
}

async fn restore_and_count(
    engine: &dyn Engine,
    id: &str,
    manifest: &Manifest,
    dump: &Path,
    sink: &dyn EventSink,
) -> Result<()> {
    engine.start_container(id).await?;
    wait_ready(engine, id, &manifest.database_user).await?;
    let db = Db {
        container: id,
        user: &manifest.database_user,
        name: &manifest.database_name,
    };
    db::restore(engine, &db, dump).await?;
    let tables: Vec<&str> = manifest.counts.keys().map(String::as_str).collect();
    let counts = db::count_in_db(engine, &db, &tables).await?;
    compare_counts(&manifest.counts, &counts)?;
    progress(
        sink,
        StepId::CheckArchive,
        msg!("backup.verify.counts").arg("counts", counts_text(&counts)),
    );
    Ok(())
}

/// The manifest's counts against those found: every table, the same rows.
pub fn compare_counts(want: &BTreeMap<String, u64>, got: &BTreeMap<String, u64>) -> Result<()> {
    for (table, n) in want {
        let found = got.get(table).copied();
        if found != Some(*n) {
            return Err(Error::failed(
                msg!("backup.error.counts")
                    .arg("table", table)
                    .arg("want", n)
                    .arg("got", found.map_or("-".to_string(), |f| f.to_string())),
            )
            .hint(msg!("backup.hint.damaged")));
        }
    }
    Ok(())
}

/// `LiteLLM_VerificationToken 3, LiteLLM_SpendLogs 12`.
pub fn counts_text(counts: &BTreeMap<String, u64>) -> String {
    counts
        .iter()
        .map(|(t, n)| format!("{t} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Ready once it accepts TCP connections: the official image's first start runs a temporary
/// server on the socket only, then restarts it.
async fn wait_ready(engine: &dyn Engine, id: &str, user: &str) -> Result<()> {
    let started = Instant::now();
    loop {
        let io = ExecIo::capture(&["pg_isready", "-h", "127.0.0.1", "-U", user]);
        let out = engine.exec_io(id, &io).await?;
        if out.ok() {
            return Ok(());
        }
        if started.elapsed() > READY_WITHIN {
            let logs = engine.logs(id, 20).await.unwrap_or_default();
            return Err(
                Error::failed(msg!("backup.error.check_not_ready").arg("seconds", READY_WITHIN.as_secs()))
                    .detail(logs.join("\n")),
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Throwaway containers of a stopped check, removed.
pub async fn remove_leftovers(engine: &dyn Engine, project: &str) {
    if let Ok(containers) = engine.containers(Some(project)).await {
        for c in containers.iter().filter(|c| c.labels.contains_key(LABEL_CHECK)) {
            let _ = engine.remove_container(&c.id).await;
        }
    }
}
