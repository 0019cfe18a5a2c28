//! The install plan, in the SOP's order: preflight, A–D (files), images, E (start), F
//! (readiness), G (API test). Each part lives in its own file; this one only orders them and
//! reports each step's start, end or failure.
//!
//! On failure the step's `StepFailed` event carries the error (what, why, what to do) and the
//! container's last 50 log lines; what was created stays, so `status` and `logs` can look at
//! it, and a re-run continues from there. Dropping the future (Ctrl-C) is safe at any await:
//! every object is created labelled in one engine call.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::files::write_files;
use super::guards;
use super::images::images_step;
use super::reconcile::{ServiceAction, ServiceOutcome};
use super::start::start_step;
use super::supervise::{Watched, forward_logs, settle_check, settle_health, watch};
use super::{Event, EventSink, StepError, StepId, failed, preflight};
use crate::engine::{ContainerEvent, Engine, EngineInfo};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

use crate::error::{Error, Result};
use crate::health::{self, ApiReport, Endpoints, ReadinessOptions, ReadyReport};
use crate::workspace::Workspace;

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

pub async fn run_install(
    ws: &Workspace,
    opts: &InstallOptions,
    engine: &dyn Engine,
    sink: &dyn EventSink,
) -> Result<InstallReport> {
    let started = Instant::now();
    let secrets = ws.dotenv.secret_values();
    // The session emitted the preflight's start before connecting to the engine.
    let info = failed(
        &secrets,
        sink,
        StepId::Preflight,
        preflight::run(engine, &ws.answers, &ws.stack.project, ws.os, sink)
            .await
            .map_err(StepError::from),
    )?;
    // Before anything is written: another install's project, the salt key of the data.
    failed(
        &secrets,
        sink,
        StepId::Preflight,
        data_guards(ws, engine).await.map_err(StepError::from),
    )?;
    sink.emit(Event::StepDone {
        step: StepId::Preflight,
        msg: None,
    });

    let files_changed = write_files(ws, opts, sink, &secrets)?;
    guards::record_salt_key(ws)?;

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
            msg!("engine.start.all_unchanged")
        } else {
            msg!("engine.start.done").arg("count", services.len())
        }),
    });

    let (ready, api) = readiness_and_api(ws, opts.readiness_deadline, engine, sink, &mut events, &mut watched).await?;

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

/// Steps F and G while the started containers are watched: readiness (with the database
/// connected), then the API test, its temporary key's archive row purged. The install's gate,
/// and the upgrade's (for the new version, and for the old one after a rollback).
pub(crate) async fn readiness_and_api(
    ws: &Workspace,
    deadline: Duration,
    engine: &dyn Engine,
    sink: &dyn EventSink,
    events: &mut BoxStream<'static, Result<ContainerEvent>>,
    watched: &mut [Watched],
) -> Result<(ReadyReport, ApiReport)> {
    let secrets = ws.dotenv.secret_values();
    let endpoints = Endpoints::from_answers(&ws.answers);
    sink.emit(Event::StepStarted(StepId::Readiness));
    let readiness = ReadinessOptions {
        deadline,
        database_configured: true,
    };
    // LiteLLM's own lines (its migrations, its config errors) go to the log pane while it
    // comes up; the future ends only on a line that settles the failure.
    let litellm = watched.iter().find(|w| w.service == "litellm").map(|w| w.id.clone());
    let forward = forward_logs(engine, "litellm", litellm, &secrets, sink);
    tokio::pin!(forward);
    let ready = tokio::select! {
        r = health::wait_until_ready(&endpoints, &readiness, sink) => r.map_err(StepError::from),
        e = watch(engine, events, watched) => Err(e),
        e = &mut forward => Err(e),
    };
    let ready = failed(&secrets, sink, StepId::Readiness, ready)?;
    let settled = settle_check(engine, watched).await;
    failed(&secrets, sink, StepId::Readiness, settled)?;
    for w in ready.warnings.iter() {
        sink.emit(Event::Warning(w.clone()));
    }
    sink.emit(Event::StepDone {
        step: StepId::Readiness,
        msg: Some(msg!("engine.readiness.done").arg("elapsed", health::human_duration(ready.elapsed))),
    });

    sink.emit(Event::StepStarted(StepId::ApiTest));
    let master_key = ws.dotenv.get("LITELLM_MASTER_KEY").cloned().unwrap_or_default();
    // Prometheus's metrics-only key, before the API test looks at its target.
    let made = super::metrics_key::ensure(&ws.answers, ws.os, &master_key, sink).await;
    failed(&secrets, sink, StepId::ApiTest, made.map(drop).map_err(StepError::from))?;
    let models = ws.answers.model_names();
    let api = tokio::select! {
        r = health::api_test(&endpoints, &master_key, &models, health::ApiOptions::default(), sink) => r.map_err(StepError::from),
        e = watch(engine, events, watched) => Err(e),
        e = &mut forward => Err(e),
    };
    let api = failed(&secrets, sink, StepId::ApiTest, api)?;
    if let Some(alias) = &api.virtual_key {
        let db = super::testkey::Database {
            project: &ws.stack.project,
            user: ws.dotenv.get("POSTGRES_USER").map(|s| s.expose()).unwrap_or_default(),
            name: ws.dotenv.get("POSTGRES_DB").map(|s| s.expose()).unwrap_or_default(),
        };
        let purged = super::testkey::purge(engine, &db, alias).await.map_err(StepError::from);
        if failed(&secrets, sink, StepId::ApiTest, purged)? {
            super::progress(sink, StepId::ApiTest, msg!("testkey.done"));
        }
    }
    for w in api.warnings.iter() {
        sink.emit(Event::Warning(w.clone()));
    }
    // Docker's own health status catches up with our probe, so `docker compose ps` says
    // "healthy" when the report is printed.
    let bounds: Vec<(&str, Duration)> = ws
        .stack
        .services
        .iter()
        .filter_map(|s| {
            let h = s.healthcheck.as_ref()?;
            Some((s.name, Duration::from_secs(u64::from(h.interval_s + h.timeout_s + 1))))
        })
        .collect();
    let settled = settle_health(engine, events, watched, &bounds).await;
    for service in failed(&secrets, sink, StepId::ApiTest, settled)? {
        sink.emit(Event::Warning(
            msg!("engine.health.still_starting").arg("service", service),
        ));
    }
    sink.emit(Event::StepDone {
        step: StepId::ApiTest,
        msg: None,
    });

    Ok((ready, api))
}

async fn data_guards(ws: &Workspace, engine: &dyn Engine) -> Result<()> {
    guards::check_project(engine, &ws.stack.project, ws.dir()).await?;
    let initialised = match guards::bind_data_initialised(&ws.answers) {
        Some(on_disk) => on_disk,
        None => guards::volume_initialised(engine, &ws.answers, &ws.stack.project).await?,
    };
    guards::check_salt_key(ws.dir(), initialised)
}
