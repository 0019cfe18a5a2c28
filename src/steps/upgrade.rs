//! `upgrade`: from one pinned version to the next, with the way back built in.
//!
//! [`plan`] reads the install's saved answers (what runs now) and the target (the `--answers`
//! file or the saved answers, with `--litellm REF` as LiteLLM's image): only images may differ,
//! config changes are `install`'s. It changes nothing. Then [`run`]:
//! 1. preflight: the install's checks, the stack running, room for the new image and a backup;
//! 2. images: every new image pulled while the old containers keep serving;
//! 3. an automatic backup (the `backup` plan, an archive under `backups/`), which also records
//!    the newest migration applied before the upgrade;
//! 4. the plan (service: old image → new image), then the install's start step with the new
//!    images: only what changed is recreated, in dependency order;
//! 5. readiness (database connected) and the API test as the gate; only then are the new
//!    images written into the saved answers and `docker-compose.yml`.
//!
//! When step 4 or 5 fails, [`rollback`]: the new LiteLLM's last log lines are saved under
//! `logs/`, its container removed; when its migrations ran (the newest applied migration is
//! not the one the backup recorded) the pre-upgrade backup's database is switched back in;
//! then the old images' containers are recreated from the old answers and pass the same gate.
//! The images lock is put back as it was. The error says what failed and where the logs are.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use super::backup::{self, BackupOptions, Db, Source};
use super::images::images_step;
use super::install::{InstallOptions, readiness_and_api};
use super::restore::RestorePlan;
use super::start::start_step;
use super::{Event, EventSink, StepError, StepId, failed, progress};
use crate::answers::{Answers, PullPolicy, SAVED_ANSWERS};
use crate::engine::Engine;
use crate::engine::pull::IMAGES_LOCK;
use crate::error::{Error, Result};
use crate::i18n::Lang;
use crate::platform::{Os, join_rel};
use crate::render::write::write_atomic;
use crate::workspace::{Workspace, holds_install, load_answers};

pub mod journal;
// upgradebg: the pending migrations' verdict, for the start step's blue/green decision.
pub(crate) mod migrations;
mod rollback;
mod schema;

pub use rollback::roll_back_unfinished;
use rollback::rollback;
use schema::{schema_fits, switch_in};

/// Room an upgrade needs besides the backup: a new LiteLLM image (about 1.1–1.5 GB unpacked).
const NEW_IMAGE_BYTES: u64 = 2 << 30;
/// How many of the new version's log lines are kept when it is rolled back.
const SAVED_LOG_LINES: usize = 500;

/// What the user asked for.
#[derive(Debug, Clone, Default)]
pub struct UpgradeRequest {
    pub dir: Option<PathBuf>,
    pub answers: Option<PathBuf>,
    /// LiteLLM's full image reference.
    pub litellm: Option<String>,
    /// A backup whose database goes in before the new version starts: what a downgrade needs
    /// (the target's migrations end before the schema's).
    pub restore: Option<PathBuf>,
    pub readiness_deadline: Duration,
}

/// One service whose image changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageChange {
    pub service: String,
    pub from: String,
    pub to: String,
}

pub struct UpgradePlan {
    /// The install as it runs now (its images are pulled never: they are here).
    pub old: Workspace,
    /// The install as it will run.
    pub new: Workspace,
    pub changes: Vec<ImageChange>,
    /// `--restore`: read, its salt key checked against the install's `.env`.
    pub restore: Option<RestorePlan>,
    deadline: Duration,
    stamp: String,
}

impl UpgradePlan {
    pub fn dir(&self) -> &Path {
        self.new.dir()
    }
}

#[derive(Debug, Clone)]
pub struct UpgradeReport {
    pub changes: Vec<ImageChange>,
    /// The pre-upgrade backup.
    pub backup: PathBuf,
    /// LiteLLM's version before and after, as the proxy reports it.
    pub from_version: Option<String>,
    pub to_version: Option<String>,
    /// The newest migration applied, before and after.
    pub migrations_before: Option<String>,
    pub migrations_after: Option<String>,
    pub log_path: Option<PathBuf>,
    pub elapsed: Duration,
}

/// Reads what runs now and what is asked; changes nothing (exit 2 on bad input).
pub fn plan(req: &UpgradeRequest, os: Os) -> Result<UpgradePlan> {
    let mut target = load_answers(req.answers.as_deref(), req.dir.as_deref(), os)?;
    let dir = target.dir.clone();
    let saved = join_rel(&dir, SAVED_ANSWERS);
    if !holds_install(&dir) || !saved.is_file() {
        return Err(Error::input(msg!("upgrade.error.no_install").arg("dir", dir.display()))
            .hint(msg!("upgrade.hint.no_install").arg("cmd", backup::follow_up("install", &dir))));
    }
    let mut current = Answers::load(&saved)?;
    current.dir = dir.clone();
    if let Some(r) = &req.litellm {
        target.images.litellm = r.trim().to_string();
    }
    let env = |k: &str| std::env::var(k).ok();
    let new = Workspace::prepare_for_write(target, os, &env, false)?;
    let mut old = Workspace::prepare(current, os, &env)?;
    old.answers.pull = PullPolicy::Never;
    only_images_differ(&old, &new)?;
    let changes = new
        .stack
        .services
        .iter()
        .filter_map(|s| {
            let from = old.stack.service(s.name)?.image.clone();
            (from != s.image).then(|| ImageChange {
                service: s.name.to_string(),
                from,
                to: s.image.clone(),
            })
        })
        .collect();
    let restore = match &req.restore {
        Some(file) => Some(super::restore::plan(file, Some(&dir), None, os)?),
        None => None,
    };
    Ok(UpgradePlan {
        old,
        new,
        changes,
        restore,
        deadline: req.readiness_deadline,
        stamp: crate::workspace::stamp_now(),
    })
}

/// An upgrade changes images only: every other file renders as it does now, the same services.
fn only_images_differ(old: &Workspace, new: &Workspace) -> Result<()> {
    let mut differ: Vec<String> = new
        .files
        .iter()
        .filter(|f| f.path != SAVED_ANSWERS && f.path != "docker-compose.yml")
        .filter(|f| old.files.iter().find(|o| o.path == f.path).map(|o| &o.contents) != Some(&f.contents))
        .map(|f| f.path.clone())
        .collect();
    // The compose file is the stack: with the old images in it, it must be the same stack.
    let mut same_images = new.stack.clone();
    for s in same_images.services.iter_mut() {
        if let Some(o) = old.stack.service(s.name) {
            s.image = o.image.clone();
        }
    }
    if same_images != old.stack {
        differ.push("docker-compose.yml".into());
    }
    if differ.is_empty() {
        return Ok(());
    }
    Err(
        Error::input(msg!("upgrade.error.not_only_images").arg("files", differ.join(", ")))
            .hint(msg!("upgrade.hint.not_only_images").arg("cmd", backup::follow_up("install", new.dir()))),
    )
}

/// The error an upgrade ends with after a rollback (done or failed): the last word of the
/// run, said even though the failure that caused it was said already.
pub fn ended_in_rollback(e: &Error) -> bool {
    matches!(
        e.what.key,
        "upgrade.error.rolled_back" | "upgrade.error.rollback_failed"
    )
}

/// Logs every event (in English, masked) and forwards it.
struct Logged<'a>(&'a dyn EventSink);

impl EventSink for Logged<'_> {
    fn emit(&self, event: Event) {
        super::log::log_event(&event);
        self.0.emit(event);
    }
}

/// Runs the upgrade; on a failure after the first container changed, rolls back by itself.
pub async fn run(plan: &UpgradePlan, sink: &dyn EventSink) -> Result<UpgradeReport> {
    super::session::register_secrets(&plan.new);
    let sink = &Logged(sink);
    let log_path = match crate::logging::open_file(plan.dir(), &plan.stamp) {
        Ok(p) => {
            sink.emit(Event::LogOpened(p.clone()));
            Some(p)
        }
        Err(e) => {
            sink.emit(Event::Warning(
                msg!("wizard.warn.no_log_file").arg("error", e.render(Lang::En)),
            ));
            None
        }
    };
    tracing::info!("upgrade of {}", plan.dir().display());
    let lock_path = join_rel(plan.dir(), IMAGES_LOCK);
    let lock_before = std::fs::read(&lock_path).ok();
    // The journal (`journal.rs`): what a re-run after a kill needs to finish or go back.
    let lock_text = lock_before.as_ref().map(|b| String::from_utf8_lossy(b).into_owned());
    journal::write(plan.dir(), &journal::Journal::new(plan, lock_text))?;
    let r = upgrade(plan, log_path.clone(), sink).await;
    journal::settle(plan.dir(), r.as_ref().err());
    if r.is_err() {
        // The lock keeps naming what runs: the old images (the rollback's images step wrote
        // the same; this also covers a failure before or during it).
        if let Some(bytes) = &lock_before {
            let _ = write_atomic(&lock_path, bytes, false);
        }
    }
    if let Err(e) = &r {
        tracing::error!("upgrade failed: {}", e.render(Lang::En));
    }
    r
}

async fn upgrade(plan: &UpgradePlan, log_path: Option<PathBuf>, sink: &dyn EventSink) -> Result<UpgradeReport> {
    let started = Instant::now();
    let secrets = plan.new.dotenv.secret_values();
    let project = &plan.new.stack.project;
    sink.emit(Event::StepStarted(StepId::Preflight));
    let engine = super::backup::fail(sink, StepId::Preflight, super::session::connect().await)?;
    failed(
        &secrets,
        sink,
        StepId::Preflight,
        super::preflight::run(&engine, &plan.new.answers, project, plan.new.os, sink)
            .await
            .map_err(StepError::from),
    )?;
    let source = backup::fail(sink, StepId::Preflight, Source::of(&plan.old.answers))?;
    backup::fail(sink, StepId::Preflight, room_check(&engine, &source, sink).await)?;
    sink.emit(Event::StepDone {
        step: StepId::Preflight,
        msg: None,
    });

    let opts = InstallOptions {
        readiness_deadline: plan.deadline,
        images_file: None,
        backup_stamp: plan.stamp.clone(),
    };
    sink.emit(Event::StepStarted(StepId::Images));
    let (new_ids, _) = failed(
        &secrets,
        sink,
        StepId::Images,
        images_step(&plan.new, &opts, &engine, sink).await,
    )?;

    backup::fail(sink, StepId::Images, schema_fits(plan, &engine, &source).await)?;

    let opts_backup = BackupOptions {
        out: None,
        protect: plan.restore.as_ref().map(|r| r.archive.clone()),
    };
    let backup = backup::backup_with(&engine, &source, &opts_backup, sink).await?;

    sink.emit(Event::StepStarted(StepId::UpgradePlan));
    for c in &plan.changes {
        progress(
            sink,
            StepId::UpgradePlan,
            msg!("upgrade.plan.change")
                .arg("service", &c.service)
                .arg("from", &c.from)
                .arg("to", &c.to),
        );
    }
    sink.emit(Event::StepDone {
        step: StepId::UpgradePlan,
        msg: Some(msg!("upgrade.plan.done").arg("count", plan.changes.len())),
    });

    // The point of change: from here on, a stop (Ctrl-C, a kill) rolls back.
    journal::set_phase(plan.dir(), journal::Phase::Changing, Some(&backup.path))?;
    let switched = match &plan.restore {
        Some(r) => switch_in(r, &engine, &source, sink).await,
        None => Ok(()),
    };
    let gate = match switched {
        Ok(()) => start_and_gate(plan, &engine, &new_ids, sink).await,
        Err(e) => Err(e),
    };
    let (ready, api) = match gate {
        Ok(r) => r,
        Err(cause) => return Err(rollback(plan, &engine, &source, &backup, &opts, cause, sink).await),
    };

    // The new version passed: from now on the answers and the compose file name its images.
    plan.new
        .write(&plan.stamp)
        .map_err(|e| e.hint(msg!("upgrade.hint.not_saved").arg("cmd", backup::follow_up("install", plan.dir()))))?;
    progress(
        sink,
        StepId::ApiTest,
        msg!("upgrade.progress.saved").arg("answers", SAVED_ANSWERS),
    );
    let migrations_after = newest_migration(&engine, &source).await.ok().flatten();
    Ok(UpgradeReport {
        changes: plan.changes.clone(),
        backup: backup.path,
        from_version: backup.manifest.litellm_version,
        to_version: ready.proxy_version.or(api.proxy_version),
        migrations_before: backup.manifest.newest_migration,
        migrations_after,
        log_path,
        elapsed: started.elapsed(),
    })
}

/// The new images' containers made and started, then readiness and the API test.
async fn start_and_gate(
    plan: &UpgradePlan,
    engine: &dyn Engine,
    ids: &std::collections::HashMap<String, String>,
    sink: &dyn EventSink,
) -> Result<(crate::health::ReadyReport, crate::health::ApiReport)> {
    let secrets = plan.new.dotenv.secret_values();
    sink.emit(Event::StepStarted(StepId::Start));
    let mut events = engine
        .events(&plan.new.stack.project)
        .map(|r| r.map_err(Error::from))
        .boxed();
    let (_, mut watched) = failed(
        &secrets,
        sink,
        StepId::Start,
        start_step(&plan.new, engine, sink, ids, &mut events).await,
    )?;
    sink.emit(Event::StepDone {
        step: StepId::Start,
        msg: None,
    });
    readiness_and_api(&plan.new, plan.deadline, engine, sink, &mut events, &mut watched).await
}

/// Room in the install dir for the backup (about twice the database: the dump and the
/// archive), plus the new image, which the engine keeps in its own data root.
async fn room_check(engine: &dyn Engine, source: &Source, sink: &dyn EventSink) -> Result<()> {
    let postgres = backup::running(engine, &source.project, "postgres", &source.dir).await?;
    backup::running(engine, &source.project, "litellm", &source.dir).await?;
    let db = Db {
        container: &postgres.id,
        user: &source.db_user,
        name: &source.db_name,
    };
    let size: u64 = backup::query(engine, &db, "SELECT pg_database_size(current_database())")
        .await?
        .parse()
        .unwrap_or(0);
    let need = size.saturating_mul(2) + NEW_IMAGE_BYTES;
    let free = super::preflight::free_space(&source.dir)?;
    let gib = |b: u64| format!("{:.1}", b as f64 / (1u64 << 30) as f64);
    if free < need {
        return Err(Error::environment(
            msg!("upgrade.error.disk")
                .arg("path", source.dir.display())
                .arg("free", gib(free))
                .arg("need", gib(need)),
        )
        .hint(msg!("upgrade.hint.disk")));
    }
    progress(
        sink,
        StepId::Preflight,
        msg!("upgrade.progress.room")
            .arg("free", gib(free))
            .arg("need", gib(need)),
    );
    Ok(())
}

async fn newest_migration(engine: &dyn Engine, source: &Source) -> Result<Option<String>> {
    let postgres = backup::running(engine, &source.project, "postgres", &source.dir).await?;
    let db = Db {
        container: &postgres.id,
        user: &source.db_user,
        name: &source.db_name,
    };
    backup::newest_migration(engine, &db).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::ExistingEnv;

    /// Workspaces of the same install dir and `.env`, with answers changed by `change`.
    fn pair(change: impl FnOnce(&mut Answers)) -> (Workspace, Workspace) {
        let mut a = Answers::defaults_for(Os::Linux);
        a.dir = std::env::temp_dir().join("lst-upgrade-unit");
        let first = Workspace::prepare_with_env(a.clone(), Os::Linux, ExistingEnv::default(), &|_| None).expect("ws");
        let env_text = &first.files.iter().find(|f| f.path == ".env").expect(".env").contents;
        let env = || ExistingEnv::parse(Path::new(".env"), env_text.as_bytes()).expect("parse");
        let old = Workspace::prepare_with_env(a.clone(), Os::Linux, env(), &|_| None).expect("old");
        change(&mut a);
        let new = Workspace::prepare_with_env(a, Os::Linux, env(), &|_| None).expect("new");
        (old, new)
    }

    #[test]
    fn only_images_may_differ_in_an_upgrade() {
        let (old, new) = pair(|a| a.images.litellm = "example.test/litellm:2.0".into());
        assert!(only_images_differ(&old, &new).is_ok());
        let (old, new) = pair(|a| a.ports.nginx = 8088);
        let e = only_images_differ(&old, &new).expect_err("a port is a config change");
        assert_eq!(e.exit, crate::error::Exit::Input);
        assert!(
            e.render(Lang::En).contains("docker-compose.yml"),
            "{}",
            e.render(Lang::En)
        );
        let (old, new) = pair(|a| a.smoke_test_model = !a.smoke_test_model);
        let text = only_images_differ(&old, &new).expect_err("models").render(Lang::En);
        assert!(text.contains("config.yaml") && text.contains("install"), "{text}");
    }
}
