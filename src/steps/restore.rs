//! `restore FILE`: the archive's database back into the stack, onto an existing install or
//! into a new directory (on another machine too: the archive carries `.env`, `config.yaml` and
//! the answers).
//!
//! Before anything changes, [`plan`] refuses (exit 3) an archive whose salt-key fingerprint is
//! not that of the `.env` the stack would run with: the install dir's own `.env` when it has
//! one, else the archive's. Then [`run`]:
//! 1. `check_archive`: every member's checksum, unpacked into an owner-only temp folder;
//! 2. a new directory gets the archive's `.env`, `config.yaml`, answers (with this `dir`) and
//!    images lock; then the install's own plan makes sure the stack runs (a no-op on a
//!    running, unchanged one);
//! 3. on an existing install, the current data is backed up first (so a restore can be
//!    undone by restoring that archive);
//! 4. `restore`: the dump goes into a fresh database `<db>_restoring` while the gateway keeps
//!    serving the old one; its rows are counted against the manifest; only then is LiteLLM
//!    stopped, the two databases swapped by name in one transaction (`<db>` → `<db>_replaced`,
//!    `<db>_restoring` → `<db>`: there is always exactly one `<db>`, old or new, never a half
//!    one), the replaced one dropped, and LiteLLM started again (also when the swap failed; it
//!    applies any newer migration of its image);
//! 5. readiness and the API test, as `verify` runs them.
//!
//! A Ctrl-C drops the run at whatever it awaits; [`after_interrupt`] then ends its `pg_dump` /
//! `pg_restore` still running in the container, drops the half-made `<db>_restoring` (and a
//! `<db>_replaced`), and starts LiteLLM if it is stopped: before the swap the old database
//! serves untouched, after it the restored one does. A re-run of the same restore completes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::backup::{self, BackupOptions, Db, Manifest, Source, fail};
use super::install::InstallOptions;
use super::start::STOP_TIMEOUT_S;
use super::{Event, EventSink, StepId, progress};
use crate::answers::Answers;
use crate::error::{Error, Result};
use crate::platform::{Os, join_rel};
use crate::render::write::write_atomic;
use crate::secrets::ExistingEnv;
use crate::workspace::{Workspace, load_answers};

#[derive(Debug, Clone)]
pub struct RestorePlan {
    pub archive: PathBuf,
    pub manifest: Manifest,
    pub dir: PathBuf,
    /// No `.env` there yet: the archive's own files make the install.
    pub new_dir: bool,
    answers_file: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct RestoreReport {
    pub dir: PathBuf,
    /// The backup of the data the restore replaced.
    pub previous: Option<PathBuf>,
    pub manifest: Manifest,
}

/// Reads the manifest and checks the salt key; changes nothing.
pub fn plan(file: &Path, dir_flag: Option<&Path>, answers_file: Option<&Path>, os: Os) -> Result<RestorePlan> {
    let archive = crate::workspace::absolutize(file);
    let manifest = backup::read_manifest(&archive)?;
    let dir = load_answers(answers_file, dir_flag, os)?.dir;
    let env_path = join_rel(&dir, ".env");
    let new_dir = !env_path.is_file();
    if !new_dir {
        let env = ExistingEnv::read(&env_path)?;
        let ours = env
            .get("LITELLM_SALT_KEY")
            .filter(|s| !s.is_empty())
            .map(super::guards::fingerprint);
        if ours.is_none() || ours != manifest.salt_key_fingerprint {
            return Err(Error::environment(
                msg!("restore.error.salt")
                    .arg("file", archive.display())
                    .arg("env", env_path.display()),
            )
            .hint(msg!("restore.hint.salt").arg("env", env_path.display())));
        }
    }
    Ok(RestorePlan {
        archive,
        manifest,
        dir,
        new_dir,
        answers_file: answers_file.map(Path::to_path_buf),
    })
}

pub async fn run(plan: &RestorePlan, os: Os, sink: &dyn EventSink) -> Result<RestoreReport> {
    sink.emit(Event::StepStarted(StepId::CheckArchive));
    let staging = fail(sink, StepId::CheckArchive, backup::verify_staging())?;
    fail(
        sink,
        StepId::CheckArchive,
        backup::check(&plan.archive, Some(staging.path())).map(drop),
    )?;
    sink.emit(Event::StepDone {
        step: StepId::CheckArchive,
        msg: Some(msg!("backup.verify.checksums").arg("count", plan.manifest.members.len())),
    });
    let engine = fail(sink, StepId::CheckArchive, super::session::connect().await)?;
    // The image the stack will run: the install's, or (a new dir) the one the archive names.
    let litellm_image = if plan.new_dir {
        plan.manifest.litellm_image.clone()
    } else {
        load_answers(plan.answers_file.as_deref(), Some(&plan.dir), os)?
            .images
            .reference("litellm")
    };
    let shipped = shipped_by_image(&engine, &litellm_image).await;
    fail(
        sink,
        StepId::CheckArchive,
        migrations_fit(plan, &litellm_image, shipped.as_deref()),
    )?;
    if plan.new_dir {
        fail(sink, StepId::CheckArchive, place_files(staging.path(), &plan.dir, os))?;
    }

    let answers = load_answers(plan.answers_file.as_deref(), Some(&plan.dir), os)?;
    let ws = Workspace::prepare(answers.clone(), os, &|k| std::env::var(k).ok())?;
    let finished = super::session::install(&ws, &InstallOptions::default(), sink).await;
    finished.result?;

    let source = Source::of(&answers)?;
    if shipped.is_none() {
        // The image was not here before the install pulled it: ask its running container.
        let shipped = shipped_by_container(&engine, &source).await;
        fail(
            sink,
            StepId::Restore,
            migrations_fit(plan, &litellm_image, shipped.as_deref()),
        )?;
    }
    let previous = if plan.new_dir {
        None
    } else {
        let opts = BackupOptions {
            out: None,
            protect: Some(plan.archive.clone()),
        };
        Some(backup::backup_with(&engine, &source, &opts, sink).await?.path)
    };

    sink.emit(Event::StepStarted(StepId::Restore));
    let dump = staging.path().join(backup::DUMP_MEMBER);
    let r = switch(&engine, &source, &plan.manifest, &dump, sink).await;
    fail(sink, StepId::Restore, r)?;
    sink.emit(Event::StepDone {
        step: StepId::Restore,
        msg: Some(msg!("restore.done")),
    });

    let mut checks = super::verify::plan(&answers, os, Duration::from_secs(300))?;
    // The restored database may not know the install's metrics key: a new one then.
    checks.repair_metrics_key = true;
    if let Err((step, error)) = super::verify::run(&checks, sink).await {
        sink.emit(Event::StepFailed {
            step,
            error: error.clone(),
            logs: Vec::new(),
        });
        return Err(error);
    }
    Ok(RestoreReport {
        dir: plan.dir.clone(),
        previous,
        manifest: plan.manifest.clone(),
    })
}

/// Lists the newest migration LiteLLM ships (`litellm_proxy_extras/migrations`).
const NEWEST_SHIPPED: &str = "import os, litellm_proxy_extras as x; d = os.path.join(os.path.dirname(x.__file__), 'migrations'); print(max(n for n in os.listdir(d) if n[:1].isdigit()))";

/// The newest migration the image ships, from a one-shot container of it; `None` when the
/// image is not on the engine or does not say.
pub(crate) async fn shipped_by_image(engine: &dyn crate::engine::Engine, image: &str) -> Option<String> {
    engine.image(image).await.ok()??;
    let job = crate::engine::OneShot {
        image: image.to_string(),
        user: String::new(),
        entrypoint: vec!["python3".into(), "-c".into(), NEWEST_SHIPPED.into()],
        binds: Vec::new(),
        labels: std::collections::BTreeMap::from([(crate::engine::LABEL_MANAGED.to_string(), "true".to_string())]),
    };
    let (code, lines) = engine.run_once(&job).await.ok()?;
    let last = lines.last()?.trim().to_string();
    (code == 0 && last.chars().next().is_some_and(|c| c.is_ascii_digit())).then_some(last)
}

async fn shipped_by_container(engine: &dyn crate::engine::Engine, source: &Source) -> Option<String> {
    let c = backup::running(engine, &source.project, "litellm", &source.dir)
        .await
        .ok()?;
    let out = engine
        .exec_io(
            &c.id,
            &crate::engine::ExecIo::capture(&["python3", "-c", NEWEST_SHIPPED]),
        )
        .await
        .ok()?;
    let last = out.stdout_text();
    (out.ok() && last.chars().next().is_some_and(|c| c.is_ascii_digit())).then_some(last)
}

/// Migrations only go forward: an archive whose database has a migration newer than any the
/// image ships needs a newer LiteLLM (exit 3, naming the version it was made with).
fn migrations_fit(plan: &RestorePlan, image: &str, shipped: Option<&str>) -> Result<()> {
    match (plan.manifest.newest_migration.as_deref(), shipped) {
        (Some(archive), Some(shipped)) if archive > shipped => Err(Error::environment(
            msg!("restore.error.migrations_ahead")
                .arg("file", plan.archive.display())
                .arg("migration", archive)
                .arg("image", image)
                .arg("shipped", shipped),
        )
        .hint(
            msg!("restore.hint.migrations_ahead")
                .arg("version", plan.manifest.litellm_version.as_deref().unwrap_or("?"))
                .arg("image", &plan.manifest.litellm_image),
        )),
        _ => Ok(()),
    }
}

/// A new install dir from the archive: its `.env` (owner-only), config, images lock, and its
/// answers with `dir` set to where they now are.
fn place_files(staging: &Path, dir: &Path, os: Os) -> Result<()> {
    for name in backup::FILE_MEMBERS {
        let from = staging.join(name);
        if !from.is_file() {
            continue;
        }
        let bytes = std::fs::read(&from).map_err(|e| Error::io(&from, &e))?;
        let bytes = if name == crate::answers::SAVED_ANSWERS {
            let mut a = Answers::parse(&from, &String::from_utf8_lossy(&bytes))?;
            a.dir = dir.to_path_buf();
            a.validate(os)?;
            a.to_saved_yaml().into_bytes()
        } else {
            bytes
        };
        let to = join_rel(dir, name);
        write_atomic(&to, &bytes, name == ".env")?;
        if name == ".env" {
            crate::render::write::restrict(&to)?;
        }
    }
    Ok(())
}

/// The dump into a fresh database, counted, then switched in with LiteLLM stopped.
pub(crate) async fn switch(
    engine: &dyn crate::engine::Engine,
    source: &Source,
    manifest: &Manifest,
    dump: &Path,
    sink: &dyn EventSink,
) -> Result<()> {
    let postgres = backup::running(engine, &source.project, "postgres", &source.dir).await?;
    let fresh = format!("{}_restoring", source.db_name);
    let (user, live) = (&source.db_user, &source.db_name);
    let maintenance = Db {
        container: &postgres.id,
        user,
        name: "postgres",
    };
    backup::admin(
        engine,
        &maintenance,
        &[
            format!("DROP DATABASE IF EXISTS \"{fresh}\" WITH (FORCE)"),
            format!("CREATE DATABASE \"{fresh}\" OWNER \"{user}\""),
        ],
    )
    .await?;
    progress(
        sink,
        StepId::Restore,
        msg!("restore.progress.loading").arg("database", &fresh),
    );
    let target = Db {
        container: &postgres.id,
        user,
        name: &fresh,
    };
    backup::restore_dump(engine, &target, dump).await?;
    let tables: Vec<&str> = manifest.counts.keys().map(String::as_str).collect();
    let counts = backup::count_in_db(engine, &target, &tables).await?;
    backup::compare_counts(&manifest.counts, &counts)?;
    progress(
        sink,
        StepId::Restore,
        msg!("restore.progress.counts").arg("counts", backup::counts_text(&counts)),
    );

    let litellm = engine
        .containers(Some(&source.project))
        .await?
        .into_iter()
        .find(|c| c.service() == Some("litellm"));
    if let Some(c) = &litellm {
        engine.stop_container(&c.id, STOP_TIMEOUT_S).await?;
        progress(sink, StepId::Restore, msg!("restore.progress.stopped"));
    }
    // Whatever the switch does, LiteLLM runs again after it: on the new data, or on the old.
    let switched = rename_into_place(engine, &maintenance, live, &fresh).await;
    if switched.is_ok() {
        progress(
            sink,
            StepId::Restore,
            msg!("restore.progress.switched").arg("database", live),
        );
    }
    if let Some(c) = &litellm {
        engine.start_container(&c.id).await?;
        progress(sink, StepId::Restore, msg!("restore.progress.started"));
    }
    switched
}

/// `<db>_replaced`: the database a switch replaced, dropped right after it.
fn replaced_name(live: &str) -> String {
    format!("{live}_replaced")
}

/// The restored database `fresh` in the place of `live`, in one transaction (both renames or
/// neither: at no moment is there no `live`, nor a half-loaded one in its place), then the
/// replaced one dropped (a backup of it was made first).
async fn rename_into_place(
    engine: &dyn crate::engine::Engine,
    maintenance: &Db<'_>,
    live: &str,
    fresh: &str,
) -> Result<()> {
    let replaced = replaced_name(live);
    let live_exists = database_exists(engine, maintenance, live).await?;
    let swap = if live_exists {
        format!(
            "BEGIN; ALTER DATABASE \"{live}\" RENAME TO \"{replaced}\"; ALTER DATABASE \"{fresh}\" RENAME TO \"{live}\"; COMMIT"
        )
    } else {
        format!("ALTER DATABASE \"{fresh}\" RENAME TO \"{live}\"")
    };
    backup::admin(
        engine,
        maintenance,
        &[
            format!("DROP DATABASE IF EXISTS \"{replaced}\" WITH (FORCE)"),
            // A database cannot be renamed while someone is in it (LiteLLM is stopped; a
            // doctor or a person's psql may be).
            format!(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname IN ('{live}', '{fresh}') AND pid <> pg_backend_pid()"
            ),
            swap,
            format!("DROP DATABASE IF EXISTS \"{replaced}\" WITH (FORCE)"),
        ],
    )
    .await
}

async fn database_exists(engine: &dyn crate::engine::Engine, maintenance: &Db<'_>, name: &str) -> Result<bool> {
    let n = backup::query(
        engine,
        maintenance,
        &format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'"),
    )
    .await?;
    Ok(n == "1")
}

/// What a backup or restore stopped by Ctrl-C leaves, undone at once, so that the stack serves
/// as before: the dump or restore still running in the container is ended (`end_sessions`),
/// the half-loaded `<db>_restoring` dropped (the serving database was never touched before the
/// switch), a `<db>_replaced` left by a switch dropped, and (`restore`) LiteLLM started if it is
/// stopped. The temp files went with the run (they are dropped with it).
pub async fn after_interrupt(engine: &dyn crate::engine::Engine, source: &Source, start_litellm: bool) -> Result<()> {
    let Ok(postgres) = backup::running(engine, &source.project, "postgres", &source.dir).await else {
        return Ok(());
    };
    let maintenance = Db {
        container: &postgres.id,
        user: &source.db_user,
        name: "postgres",
    };
    backup::end_sessions(engine, &maintenance).await?;
    if start_litellm {
        let live = &source.db_name;
        let fresh = format!("{live}_restoring");
        let mut statements = vec![format!("DROP DATABASE IF EXISTS \"{fresh}\" WITH (FORCE)")];
        if database_exists(engine, &maintenance, live).await? {
            statements.push(format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                replaced_name(live)
            ));
        }
        backup::admin(engine, &maintenance, &statements).await?;
        let litellm = engine
            .containers(Some(&source.project))
            .await?
            .into_iter()
            .find(|c| c.service() == Some("litellm"));
        if let Some(c) = litellm.filter(|c| c.state != crate::engine::State::Running) {
            engine.start_container(&c.id).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_with(newest: Option<&str>) -> RestorePlan {
        RestorePlan {
            archive: PathBuf::from("/b/litellm-backup-x.tar.gz"),
            manifest: Manifest {
                format: 1,
                created: String::new(),
                project: "p".into(),
                litellm_version: Some("1.108.7".into()),
                litellm_image: "litellm:1.108.7".into(),
                postgres_image: String::new(),
                postgres_major: None,
                postgres_version: None,
                database_user: "u".into(),
                database_name: "d".into(),
                newest_migration: newest.map(str::to_string),
                counts: Default::default(),
                salt_key_fingerprint: None,
                members: Default::default(),
            },
            dir: PathBuf::from("/x"),
            new_dir: false,
            answers_file: None,
        }
    }

    #[test]
    fn an_archive_with_newer_migrations_than_the_image_needs_its_version() {
        let p = plan_with(Some("20261015000000_managed_object_end_user_id"));
        let e = migrations_fit(&p, "litellm:1.106.12", Some("20260901000000_older")).expect_err("ahead");
        assert_eq!(e.exit, crate::error::Exit::Environment);
        let text = e.render(crate::i18n::Lang::En);
        assert!(text.contains("1.108.7") && text.contains("20261015000000"), "{text}");
        assert!(migrations_fit(&p, "i", Some("20261015000000_managed_object_end_user_id")).is_ok());
        assert!(migrations_fit(&p, "i", Some("20261101000000_newer")).is_ok());
        assert!(migrations_fit(&p, "i", None).is_ok());
        assert!(migrations_fit(&plan_with(None), "i", Some("1")).is_ok());
    }
}
