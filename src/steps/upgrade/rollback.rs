//! The way back after a failed upgrade: the new version's logs kept, its containers removed,
//! the pre-upgrade database switched back in when its migrations ran, the previous images'
//! containers recreated and gated. The same way back serves a Ctrl-C after the point of change
//! and a re-run after a kill ([`roll_back_unfinished`], from the upgrade journal).

use std::path::Path;

use futures_util::StreamExt;

use super::super::backup::{self, BackupReport, Source};
use super::super::images::images_step;
use super::super::install::{InstallOptions, readiness_and_api};
use super::super::start::{STOP_TIMEOUT_S, start_step};
use super::super::{Event, EventSink, StepId, failed, progress};
use super::journal::{self, Journal, Phase};
use super::{SAVED_LOG_LINES, UpgradePlan, newest_migration};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::platform::join_rel;
use crate::render::write::write_atomic;

/// The old version back: the new LiteLLM's logs saved and its container removed, the
/// pre-upgrade database switched back in when migrations ran, the old images' containers
/// recreated and gated. Returns the error the upgrade ends with.
pub(super) async fn rollback(
    plan: &UpgradePlan,
    engine: &dyn Engine,
    source: &Source,
    backup: &BackupReport,
    opts: &InstallOptions,
    cause: Error,
    sink: &dyn EventSink,
) -> Error {
    let to = plan
        .changes
        .iter()
        .map(|c| c.to.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    sink.emit(Event::StepStarted(StepId::Rollback));
    // A kill from here on: the next run finishes the way back.
    let _ = journal::set_phase(plan.dir(), Phase::RollingBack, None);
    let logs_file = join_rel(
        plan.dir(),
        &format!("logs/upgrade-{}-litellm.log", plan.stamp.replace('.', "-")),
    );
    let r = roll_back(plan, engine, source, backup, opts, &logs_file, sink).await;
    let logs_at = if logs_file.is_file() {
        logs_file.display().to_string()
    } else {
        "-".into()
    };
    match r {
        Ok(()) => {
            sink.emit(Event::StepDone {
                step: StepId::Rollback,
                msg: Some(msg!("upgrade.rollback.done")),
            });
            Error::failed(
                msg!("upgrade.error.rolled_back")
                    .arg("to", &to)
                    .nested("cause", cause.what.clone()),
            )
            .hint(
                msg!("upgrade.hint.rolled_back")
                    .arg("logs", &logs_at)
                    .arg("backup", backup.path.display()),
            )
        }
        Err(e) => {
            let _ = backup::fail(sink, StepId::Rollback, Err::<(), _>(e.clone()));
            let restore = format!(
                "restore {}",
                crate::howto::quote_path(plan.new.os.shell(), &backup.path.display().to_string())
            );
            Error::failed(
                msg!("upgrade.error.rollback_failed")
                    .arg("to", &to)
                    .nested("cause", cause.what.clone())
                    .nested("rollback", e.what.clone()),
            )
            .hint(
                msg!("upgrade.hint.rollback_failed")
                    .arg("logs", &logs_at)
                    .arg("cmd", backup::follow_up(&restore, plan.dir())),
            )
        }
    }
}

async fn roll_back(
    plan: &UpgradePlan,
    engine: &dyn Engine,
    source: &Source,
    backup: &BackupReport,
    opts: &InstallOptions,
    logs_file: &Path,
    sink: &dyn EventSink,
) -> Result<()> {
    let secrets = plan.new.dotenv.secret_values();
    let project = &plan.new.stack.project;
    // The new version's containers: their last lines kept, then removed, so that nothing of
    // it runs while the old one's data comes back.
    let changed: Vec<&str> = plan.changes.iter().map(|c| c.service.as_str()).collect();
    // upgradebg: no restore when the migrations that ran are additive; then an old LiteLLM that
    // a failed blue/green switch never stopped keeps serving.
    let suits =
        super::migrations::suits_previous(plan, engine, source, backup.manifest.newest_migration.as_deref(), sink)
            .await;
    let mut saved: Vec<String> = super::super::bluegreen::take_removed_logs()
        .iter()
        .map(|l| format!("litellm | {}\n", crate::secrets::redact(l, &secrets)))
        .collect();
    for c in engine.containers(Some(project)).await? {
        let Some(service) = c.service().map(str::to_string) else {
            continue;
        };
        if !changed.contains(&service.as_str()) || (suits && super::migrations::kept_serving(plan, &c, sink)) {
            continue;
        }
        for l in engine.logs(&c.id, SAVED_LOG_LINES).await.unwrap_or_default() {
            let l = crate::secrets::redact(&l, &secrets);
            tracing::info!("{service} (new version) | {l}");
            saved.push(format!("{service} | {l}\n"));
        }
        engine.stop_container(&c.id, STOP_TIMEOUT_S).await?;
        engine.remove_container(&c.id).await?;
        progress(
            sink,
            StepId::Rollback,
            msg!("upgrade.rollback.removed").arg("service", &service),
        );
    }
    if !saved.is_empty() {
        write_atomic(logs_file, saved.concat().as_bytes(), false)?;
        progress(
            sink,
            StepId::Rollback,
            msg!("upgrade.rollback.logs_saved").arg("path", logs_file.display()),
        );
    }

    // Blue/green runs only when the new version's migrations are additive: the old version
    // runs on them, and the database keeps what was written meanwhile.
    let now = newest_migration(engine, source).await?;
    if now != backup.manifest.newest_migration && !suits {
        progress(
            sink,
            StepId::Rollback,
            msg!("upgrade.rollback.migrations")
                .arg("before", backup.manifest.newest_migration.as_deref().unwrap_or("-"))
                .arg("after", now.as_deref().unwrap_or("-")),
        );
        sink.emit(Event::StepStarted(StepId::Restore));
        let staging = backup::verify_staging()?;
        backup::check(&backup.path, Some(staging.path()))?;
        let dump = staging.path().join(backup::DUMP_MEMBER);
        super::super::restore::switch(engine, source, &backup.manifest, &dump, sink).await?;
        sink.emit(Event::StepDone {
            step: StepId::Restore,
            msg: Some(msg!("upgrade.rollback.restored").arg("file", backup.path.display())),
        });
    }

    sink.emit(Event::StepStarted(StepId::Images));
    let (ids, _) = failed(
        &secrets,
        sink,
        StepId::Images,
        images_step(&plan.old, opts, engine, sink).await,
    )?;
    sink.emit(Event::StepStarted(StepId::Start));
    let mut events = engine.events(project).map(|r| r.map_err(Error::from)).boxed();
    let (_, mut watched) = failed(
        &secrets,
        sink,
        StepId::Start,
        start_step(&plan.old, engine, sink, &ids, &mut events).await,
    )?;
    sink.emit(Event::StepDone {
        step: StepId::Start,
        msg: None,
    });
    readiness_and_api(&plan.old, plan.deadline, engine, sink, &mut events, &mut watched).await?;
    Ok(())
}

/// The way back for a run that did not end cleanly: a Ctrl-C after the point of change (`cause`
/// says so), or a run killed at any point, found by the next run through its journal. The
/// plan is the saved answers' (which name the old images until the new ones pass), the
/// changes are the journal's. Returns `Ok` when there was nothing to undo; else the error the
/// rollback ends with (`upgrade.error.rolled_back` when it brought the old version back). The
/// journal is removed when the stack is settled, kept when the rollback failed.
pub async fn roll_back_unfinished(
    dir: &Path,
    os: crate::platform::Os,
    deadline: std::time::Duration,
    j: &Journal,
    cause: Error,
    sink: &dyn EventSink,
) -> std::result::Result<journal::Recovery, Error> {
    // The caller holds the install dir's lock (its own plan's, or the install's workspace):
    // the saved answers are read here without taking it again.
    let mut plan = saved_plan(dir, os, deadline)?;
    let saved = |service: &str| plan.old.stack.service(service).map(|s| s.image.clone());
    let decided = journal::recovery(j, saved);
    if decided != journal::Recovery::RollBack {
        journal::restore_lock(dir, j);
        journal::remove(dir);
        if decided == journal::Recovery::NothingChanged
            && let Ok(source) = Source::of(&plan.old.answers)
            && let Ok(engine) = super::super::session::connect().await
        {
            // A pg_dump the stopped backup left running in the Postgres container.
            let _ = super::super::restore::after_interrupt(&engine, &source, false).await;
        }
        return Ok(decided);
    }
    plan.changes = j.image_changes();
    super::super::session::register_secrets(&plan.new);
    let engine = super::super::session::connect().await?;
    let source = Source::of(&plan.old.answers)?;
    // A restore the killed rollback had under way: its half-made `<db>_restoring` goes.
    super::super::restore::after_interrupt(&engine, &source, true).await?;
    let archive = j
        .backup
        .clone()
        .ok_or_else(|| Error::failed(msg!("upgrade.journal.no_backup").arg("path", journal::path(dir).display())))?;
    let manifest = backup::read_manifest(&archive)?;
    let taken = BackupReport {
        path: archive,
        size: 0,
        manifest,
        pruned: Vec::new(),
    };
    let opts = InstallOptions {
        readiness_deadline: deadline,
        images_file: None,
        backup_stamp: plan.stamp.clone(),
    };
    let e = rollback(&plan, &engine, &source, &taken, &opts, cause, sink).await;
    if e.what.key == "upgrade.error.rolled_back" {
        journal::restore_lock(dir, j);
        journal::remove(dir);
    }
    Err(e)
}

/// The install as the saved answers name it, as both sides of a plan (the changes are set by
/// the caller); takes no lock.
fn saved_plan(dir: &Path, os: crate::platform::Os, deadline: std::time::Duration) -> Result<UpgradePlan> {
    let mut answers = crate::workspace::load_answers(None, Some(dir), os)?;
    answers.validate(os)?;
    answers.pull = crate::answers::PullPolicy::Never;
    let env = |k: &str| std::env::var(k).ok();
    let old = crate::workspace::Workspace::prepare(answers.clone(), os, &env)?;
    let new = crate::workspace::Workspace::prepare(answers, os, &env)?;
    Ok(UpgradePlan {
        old,
        new,
        changes: Vec::new(),
        restore: None,
        deadline,
        stamp: crate::workspace::stamp_now(),
    })
}
