//! `backup`: a consistent dump of the stack's Postgres and the install's files in one archive
//! under `backups/`, while the gateway keeps serving.
//!
//! - The dump is `pg_dump -Fc`, run by `exec` in the stack's running Postgres container: that
//!   is the stack's own pinned image (its `pg_dump` matches the server), it reaches the server
//!   over the container's socket with no password anywhere, it needs no extra container nor
//!   network, and it works the same with bind mounts and with named volumes (Windows). pg_dump
//!   reads one snapshot, so the dump is consistent while LiteLLM writes; the rows of the
//!   manifest are counted in the dump itself, so they are the snapshot's too.
//! - The archive (`archive`): tar + gzip, `manifest.json` first, written to an owner-only temp
//!   file in `backups/` and renamed into place: a Ctrl-C leaves no half archive, a re-run just
//!   makes a new one. Retention keeps the newest `backup.keep` archives, never deleting the
//!   newest.
//! - `check`/`verify` (`verify.rs`): every member's sha256, then the dump restored into a
//!   throwaway Postgres of the same image and its rows counted against the manifest.

mod archive;
mod db;
mod verify;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

pub use archive::{DUMP_MEMBER, FILE_MEMBERS, MANIFEST_MEMBER, Manifest, MemberFacts, check, read_manifest};
pub use db::{
    COUNTED_TABLES, CopyCounter, Db, MIGRATION_LEDGERS, admin, app_name, check_identifier, count_in_db, end_sessions,
    from_ledger, newest_migration, query, restore as restore_dump,
};
pub use verify::{compare_counts, counts_text, remove_leftovers, staging as verify_staging, verify};

use super::{Event, EventSink, StepId, progress};
use crate::answers::Answers;
use crate::engine::{Container, Engine, ExecIo, State};
use crate::error::{Error, Result};
use crate::platform::join_rel;
use crate::secrets::ExistingEnv;

pub const ARCHIVE_PREFIX: &str = "litellm-backup-";
pub const ARCHIVE_SUFFIX: &str = ".tar.gz";
/// Staging folders of a run, in `backups/`; one left by a stopped run is removed by the next.
const STAGING_PREFIX: &str = ".litellm-stack-backup-";
/// An archive being written, renamed to its name once complete; `list` and retention never
/// see it (a run killed outright leaves one: the next run removes it after an hour).
const PARTIAL_PREFIX: &str = ".litellm-stack-archive-";

/// What the plan needs from the install, read before anything is asked of the engine.
#[derive(Debug, Clone)]
pub struct Source {
    pub dir: PathBuf,
    pub project: String,
    pub db_user: String,
    pub db_name: String,
    pub salt_key_fingerprint: Option<String>,
    pub litellm_image: String,
    pub postgres_image: String,
    pub keep: u32,
}

impl Source {
    /// From the answers and the install's `.env` (exit 2 when it lacks the database names).
    pub fn of(answers: &Answers) -> Result<Source> {
        let env_path = join_rel(&answers.dir, ".env");
        let env = ExistingEnv::read(&env_path)?;
        let plain = |k: &str| env.get(k).map(|v| v.expose().to_string()).unwrap_or_default();
        let (db_user, db_name) = (plain("POSTGRES_USER"), plain("POSTGRES_DB"));
        check_identifier("POSTGRES_USER", &db_user)?;
        check_identifier("POSTGRES_DB", &db_name)?;
        Ok(Source {
            dir: answers.dir.clone(),
            project: answers.project_name(),
            db_user,
            db_name,
            salt_key_fingerprint: env
                .get("LITELLM_SALT_KEY")
                .filter(|s| !s.is_empty())
                .map(super::guards::fingerprint),
            litellm_image: answers.images.reference("litellm"),
            postgres_image: answers.images.reference("postgres"),
            keep: answers.backup.keep,
        })
    }

    pub fn backups_dir(&self) -> PathBuf {
        join_rel(&self.dir, "backups")
    }
}

#[derive(Debug, Clone, Default)]
pub struct BackupOptions {
    /// Write the archive here instead of `backups/` (no retention then).
    pub out: Option<PathBuf>,
    /// Never pruned (the archive a restore reads).
    pub protect: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct BackupReport {
    pub path: PathBuf,
    pub size: u64,
    pub manifest: Manifest,
    pub pruned: Vec<PathBuf>,
}

/// `backup`: connects, then [`backup_with`].
pub async fn backup(source: &Source, opts: &BackupOptions, sink: &dyn EventSink) -> Result<BackupReport> {
    let engine = super::session::connect().await?;
    backup_with(&engine, source, opts, sink).await
}

/// The running container of `service` in the project, or exit 3 saying how to start it.
pub async fn running(engine: &dyn Engine, project: &str, service: &str, dir: &Path) -> Result<Container> {
    let containers = engine.containers(Some(project)).await?;
    containers
        .into_iter()
        .find(|c| c.service() == Some(service) && c.state == State::Running)
        .ok_or_else(|| {
            Error::environment(
                msg!("backup.error.not_running")
                    .arg("service", service)
                    .arg("project", project),
            )
            .hint(msg!("backup.hint.not_running").arg("cmd", follow_up("install", dir)))
        })
}

/// The plan: step `dump` (pg_dump, facts, counts), then `archive` (written, pruned).
pub async fn backup_with(
    engine: &dyn Engine,
    source: &Source,
    opts: &BackupOptions,
    sink: &dyn EventSink,
) -> Result<BackupReport> {
    sink.emit(Event::StepStarted(StepId::Dump));
    let staging = fail(sink, StepId::Dump, staging_dir(&source.backups_dir()))?;
    let (manifest, members) = fail(
        sink,
        StepId::Dump,
        dump_step(engine, source, staging.path(), sink).await,
    )?;
    sink.emit(Event::StepDone {
        step: StepId::Dump,
        msg: Some(msg!("backup.dump.done").arg("size", mib(members[0].1.size))),
    });

    sink.emit(Event::StepStarted(StepId::Archive));
    let report = fail(
        sink,
        StepId::Archive,
        archive_step(source, opts, staging.path(), manifest, &members),
    )?;
    for p in &report.pruned {
        progress(sink, StepId::Archive, msg!("backup.pruned").arg("file", p.display()));
    }
    sink.emit(Event::StepDone {
        step: StepId::Archive,
        msg: Some(
            msg!("backup.archive.done")
                .arg("file", report.path.display())
                .arg("size", mib(report.size)),
        ),
    });
    Ok(report)
}

/// Emits `StepFailed` for an error of `step` and hands it on.
pub(crate) fn fail<T>(sink: &dyn EventSink, step: StepId, r: Result<T>) -> Result<T> {
    r.inspect_err(|error| {
        sink.emit(Event::StepFailed {
            step,
            error: error.clone(),
            logs: Vec::new(),
        })
    })
}

/// `litellm-stack <command>` for the install in `dir`, quoted for the user's shell.
pub fn follow_up(command: &str, dir: &Path) -> String {
    let os = crate::platform::Os::current();
    crate::howto::follow_up(
        &crate::howto::program_name(),
        command,
        dir,
        &os.default_dir(),
        os.shell(),
    )
}

/// `12.3` (MiB, one decimal).
pub fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1u64 << 20) as f64)
}

/// A fresh owner-only staging folder in `backups/`, after removing those of stopped runs.
fn staging_dir(backups: &Path) -> Result<tempfile::TempDir> {
    std::fs::create_dir_all(backups).map_err(|e| Error::io(backups, &e))?;
    if let Ok(entries) = std::fs::read_dir(backups) {
        let an_hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        for e in entries.flatten() {
            let old = e.metadata().and_then(|m| m.modified()).is_ok_and(|t| t < an_hour_ago);
            let name = e.file_name().to_string_lossy().to_string();
            if old && name.starts_with(STAGING_PREFIX) {
                let _ = std::fs::remove_dir_all(e.path());
            } else if old && name.starts_with(PARTIAL_PREFIX) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    tempfile::Builder::new()
        .prefix(STAGING_PREFIX)
        .tempdir_in(backups)
        .map_err(|e| Error::io(backups, &e))
}

type Members = Vec<(String, MemberFacts, PathBuf)>;

async fn dump_step(
    engine: &dyn Engine,
    source: &Source,
    staging: &Path,
    sink: &dyn EventSink,
) -> Result<(Manifest, Vec<(String, MemberFacts)>)> {
    let postgres = running(engine, &source.project, "postgres", &source.dir).await?;
    let db = Db {
        container: &postgres.id,
        user: &source.db_user,
        name: &source.db_name,
    };
    let created = now_rfc3339();
    let (postgres_version, postgres_major) = db::server_version(engine, &db).await?;
    let newest_migration = db::newest_migration(engine, &db).await?;
    let dump_path = staging.join(DUMP_MEMBER);
    let last = Mutex::new(Instant::now());
    let report = |bytes: u64| {
        let Ok(mut last) = last.lock() else { return };
        if last.elapsed().as_secs_f32() >= 1.0 {
            *last = Instant::now();
            progress(sink, StepId::Dump, msg!("backup.dump.progress").arg("size", mib(bytes)));
        }
    };
    db::dump(engine, &db, &dump_path, &report).await?;
    progress(sink, StepId::Dump, msg!("backup.dump.counting"));
    let counts = db::count_in_dump(engine, &postgres.id, &dump_path).await?;
    let litellm_version = litellm_version(engine, source).await;

    let mut members: Members = vec![(DUMP_MEMBER.to_string(), archive::file_facts(&dump_path)?, dump_path)];
    for name in FILE_MEMBERS {
        let from = join_rel(&source.dir, name);
        if !from.is_file() {
            if name == ".env" {
                return Err(Error::input(msg!("backup.error.no_env").arg("path", from.display())));
            }
            continue;
        }
        let to = staging.join(name);
        std::fs::copy(&from, &to).map_err(|e| Error::io(&from, &e))?;
        members.push((name.to_string(), archive::file_facts(&to)?, to));
    }
    let manifest = Manifest {
        format: archive::FORMAT,
        created,
        project: source.project.clone(),
        litellm_version,
        litellm_image: source.litellm_image.clone(),
        postgres_image: source.postgres_image.clone(),
        postgres_major,
        postgres_version: Some(postgres_version),
        database_user: source.db_user.clone(),
        database_name: source.db_name.clone(),
        newest_migration,
        counts,
        salt_key_fingerprint: source.salt_key_fingerprint.clone(),
        members: members.iter().map(|(n, f, _)| (n.clone(), f.clone())).collect(),
    };
    Ok((manifest, members.into_iter().map(|(n, f, _)| (n, f)).collect()))
}

/// The proxy's own version, asked of its container; `None` when it is not running.
async fn litellm_version(engine: &dyn Engine, source: &Source) -> Option<String> {
    let c = running(engine, &source.project, "litellm", &source.dir).await.ok()?;
    let io = ExecIo::capture(&[
        "python3",
        "-c",
        "import importlib.metadata as m; print(m.version('litellm'))",
    ]);
    let out = engine.exec_io(&c.id, &io).await.ok()?;
    let v = out.stdout_text();
    (out.ok() && !v.is_empty() && v.len() < 40).then_some(v)
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

fn archive_step(
    source: &Source,
    opts: &BackupOptions,
    staging: &Path,
    manifest: Manifest,
    members: &[(String, MemberFacts)],
) -> Result<BackupReport> {
    let target = match &opts.out {
        Some(out) => crate::workspace::absolutize(out),
        None => source.backups_dir().join(archive_name(&crate::workspace::stamp_now())),
    };
    let parent = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, &e))?;
    // Owner-only from its creation (tempfile makes it 0600): the archive holds the secrets.
    let tmp = tempfile::Builder::new()
        .prefix(PARTIAL_PREFIX)
        .tempfile_in(&parent)
        .map_err(|e| Error::io(&parent, &e))?;
    let files: Vec<(String, PathBuf)> = members.iter().map(|(n, _)| (n.clone(), staging.join(n))).collect();
    archive::write(tmp.as_file(), &manifest, &files, &target)?;
    let target = free_name(target);
    tmp.persist(&target).map_err(|e| Error::io(&target, &e.error))?;
    crate::render::write::restrict(&target)?;
    let size = std::fs::metadata(&target).map_err(|e| Error::io(&target, &e))?.len();
    let pruned = match &opts.out {
        Some(_) => Vec::new(),
        None => prune(
            &source.backups_dir(),
            source.keep,
            &[Some(&target), opts.protect.as_deref()],
        )?,
    };
    Ok(BackupReport {
        path: target,
        size,
        manifest,
        pruned,
    })
}

/// `litellm-backup-20261203T083000Z.tar.gz`: names sort by time.
pub fn archive_name(stamp: &str) -> String {
    format!("{ARCHIVE_PREFIX}{stamp}{ARCHIVE_SUFFIX}")
}

/// Two backups in one second: the second gets `-2`, and so on.
fn free_name(target: PathBuf) -> PathBuf {
    if !target.exists() {
        return target;
    }
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let stem = name.strip_suffix(ARCHIVE_SUFFIX).unwrap_or(&name).to_string();
    (2..)
        .map(|i| target.with_file_name(format!("{stem}-{i}{ARCHIVE_SUFFIX}")))
        .find(|p| !p.exists())
        .unwrap_or(target)
}

/// The archives in `backups/`, newest first.
pub fn archives(backups: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(backups) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.file_name()
                    .map(|n| n.to_string_lossy())
                    .is_some_and(|n| n.starts_with(ARCHIVE_PREFIX) && n.ends_with(ARCHIVE_SUFFIX))
        })
        .collect();
    found.sort_by_key(|p| sort_key(p));
    found.reverse();
    found
}

/// `…Z.tar.gz` sorts before `…Z-2.tar.gz` of the same second.
fn sort_key(p: &Path) -> (String, u32) {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let stem = name.strip_suffix(ARCHIVE_SUFFIX).unwrap_or(&name);
    match stem.rsplit_once('-') {
        Some((base, n)) if n.chars().all(|c| c.is_ascii_digit()) && !n.is_empty() => {
            (base.to_string(), n.parse().unwrap_or(0))
        }
        _ => (stem.to_string(), 1),
    }
}

/// Deletes all but the newest `keep` archives; the newest and `protect` are never deleted.
pub fn prune(backups: &Path, keep: u32, protect: &[Option<&Path>]) -> Result<Vec<PathBuf>> {
    let same = |a: &Path, b: &Path| a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y);
    let mut pruned = Vec::new();
    for p in archives(backups).into_iter().skip(keep.max(1) as usize) {
        if protect.iter().flatten().any(|q| same(&p, q)) {
            continue;
        }
        std::fs::remove_file(&p).map_err(|e| Error::io(&p, &e))?;
        pruned.push(p);
    }
    Ok(pruned)
}

/// An archive of `backups/` as `backup list` shows it.
#[derive(Debug)]
pub struct Listed {
    pub path: PathBuf,
    pub size: u64,
    pub manifest: Result<Manifest>,
}

pub fn list(source_dir: &Path) -> Vec<Listed> {
    archives(&join_rel(source_dir, "backups"))
        .into_iter()
        .map(|path| Listed {
            size: std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0),
            manifest: read_manifest(&path),
            path,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_keeps_the_newest_and_what_is_protected() {
        let d = tempfile::tempdir().expect("tempdir");
        let names = [
            "20261201T000000Z",
            "20261202T000000Z",
            "20261203T000000Z",
            "20261203T000000Z-2",
            "20261203T000000Z-10",
        ];
        for n in names {
            std::fs::write(d.path().join(archive_name(n)), b"x").expect("write");
        }
        std::fs::write(d.path().join("notes.txt"), b"x").expect("write");
        let newest: Vec<String> = archives(d.path())
            .iter()
            .map(|p| p.file_name().expect("name").to_string_lossy().to_string())
            .collect();
        assert_eq!(newest[0], archive_name("20261203T000000Z-10"));
        assert_eq!(newest[2], archive_name("20261203T000000Z"));
        let protect = d.path().join(archive_name("20261201T000000Z"));
        let pruned = prune(d.path(), 2, &[Some(&protect)]).expect("prune");
        assert_eq!(pruned.len(), 2, "{pruned:?}");
        assert_eq!(archives(d.path()).len(), 3);
        assert!(protect.exists());
        // keep 0 is refused by the answers' validator; here it still never deletes the newest.
        prune(d.path(), 0, &[]).expect("prune");
        assert_eq!(archives(d.path()).len(), 1);
        assert!(d.path().join("notes.txt").exists());
    }

    // Setting a directory's mtime through a handle is Unix's.
    #[cfg(unix)]
    #[test]
    fn a_partial_archive_is_never_listed_nor_pruned_and_an_old_one_goes_at_the_next_run() {
        let d = tempfile::tempdir().expect("tempdir");
        let partial = d.path().join(format!("{PARTIAL_PREFIX}abc"));
        let fresh = d.path().join(format!("{PARTIAL_PREFIX}def"));
        let stale_staging = d.path().join(format!("{STAGING_PREFIX}old"));
        for f in [&partial, &fresh] {
            std::fs::write(f, b"half").expect("write");
        }
        std::fs::create_dir(&stale_staging).expect("mkdir");
        std::fs::write(d.path().join(archive_name("20261203T000000Z")), b"x").expect("write");
        assert_eq!(archives(d.path()).len(), 1);
        prune(d.path(), 1, &[]).expect("prune");
        assert!(partial.exists() && fresh.exists());
        let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
        for f in [&partial, &stale_staging] {
            std::fs::File::options()
                .write(true)
                .open(f)
                .or_else(|_| std::fs::File::open(f))
                .and_then(|h| h.set_modified(two_hours_ago))
                .expect("set mtime");
        }
        let staging = staging_dir(d.path()).expect("staging");
        assert!(
            !partial.exists() && !stale_staging.exists(),
            "the stopped run's leftovers stay"
        );
        assert!(fresh.exists(), "a run going on now lost its file");
        drop(staging);
    }
}
