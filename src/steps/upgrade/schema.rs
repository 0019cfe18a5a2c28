//! The schema side of an upgrade: a downgrade refused unless `--restore` gives a backup the
//! target can run, and that backup's database switched in before the target starts.

use super::super::backup::{self, Source};
use super::super::restore::RestorePlan;
use super::super::start::STOP_TIMEOUT_S;
use super::super::{Event, EventSink, StepId};
use super::{UpgradePlan, newest_migration};
use crate::engine::Engine;
use crate::error::{Error, Result};

/// Migrations only go forward: a target whose newest shipped migration is older than the
/// database's newest applied one cannot run on it. Refused (exit 3) unless `--restore` gives a
/// backup whose schema the target knows.
pub(super) async fn schema_fits(plan: &UpgradePlan, engine: &dyn Engine, source: &Source) -> Result<()> {
    let image = plan.new.answers.images.reference("litellm");
    let Some(shipped) = super::super::restore::shipped_by_image(engine, &image).await else {
        return Ok(());
    };
    let (applied, what) = match &plan.restore {
        Some(r) => (r.manifest.newest_migration.clone(), r.archive.display().to_string()),
        None => (newest_migration(engine, source).await?, String::new()),
    };
    match applied {
        Some(applied) if applied > shipped => {
            let e = if plan.restore.is_some() {
                Error::environment(
                    msg!("upgrade.error.restore_ahead")
                        .arg("file", &what)
                        .arg("migration", &applied)
                        .arg("image", &image)
                        .arg("shipped", &shipped),
                )
                .hint(msg!("upgrade.hint.restore_ahead"))
            } else {
                Error::environment(
                    msg!("upgrade.error.downgrade")
                        .arg("image", &image)
                        .arg("shipped", &shipped)
                        .arg("migration", &applied),
                )
                .hint(msg!("upgrade.hint.downgrade").arg("dir", source.backups_dir().display()))
            };
            Err(e)
        }
        _ => Ok(()),
    }
}

/// `--restore`: the archive's database switched in with no LiteLLM running (the old one
/// would migrate it forward again on its start).
pub(super) async fn switch_in(
    r: &RestorePlan,
    engine: &dyn Engine,
    source: &Source,
    sink: &dyn EventSink,
) -> Result<()> {
    sink.emit(Event::StepStarted(StepId::CheckArchive));
    let staging = backup::fail(sink, StepId::CheckArchive, backup::verify_staging())?;
    backup::fail(
        sink,
        StepId::CheckArchive,
        backup::check(&r.archive, Some(staging.path())).map(drop),
    )?;
    sink.emit(Event::StepDone {
        step: StepId::CheckArchive,
        msg: Some(msg!("backup.verify.checksums").arg("count", r.manifest.members.len())),
    });
    sink.emit(Event::StepStarted(StepId::Restore));
    let r2 = async {
        remove_litellm(engine, &source.project).await?;
        let dump = staging.path().join(backup::DUMP_MEMBER);
        super::super::restore::switch(engine, source, &r.manifest, &dump, sink).await
    }
    .await;
    backup::fail(sink, StepId::Restore, r2)?;
    sink.emit(Event::StepDone {
        step: StepId::Restore,
        msg: Some(msg!("restore.done")),
    });
    Ok(())
}

async fn remove_litellm(engine: &dyn Engine, project: &str) -> Result<()> {
    for c in engine.containers(Some(project)).await? {
        if c.service() == Some("litellm") {
            engine.stop_container(&c.id, STOP_TIMEOUT_S).await?;
            engine.remove_container(&c.id).await?;
        }
    }
    Ok(())
}
