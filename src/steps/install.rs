//! The install plan, in the SOP's order: preflight, A–D (files), images, E (start), F
//! (readiness), G (API test). Each part lives in its own file; this one only orders them and
//! reports each step's start, end or failure. The images step and E overlap when something is
//! pulled: both are started, each service starts once its own image is there, and each step
//! ends with its own event (`images_and_start`). The report keeps the run's timeline.
//!
//! On failure the step's `StepFailed` event carries the error (what, why, what to do) and the
//! container's last 50 log lines; what was created stays, so `status` and `logs` can look at
//! it, and a re-run continues from there. Dropping the future (Ctrl-C) is safe at any await:
//! every object is created labelled in one engine call.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::files::write_files;
use super::guards;
use super::images::{ImagesPlan, finish_images, plan_images, pull_images};
use super::reconcile::{ServiceAction, ServiceOutcome};
use super::start::{STOP_TIMEOUT_S, start_as_images_arrive};
use super::supervise::{Watched, forward_logs, settle_check, settle_health, watch};
use super::{Event, EventSink, StepError, StepId, failed, preflight, progress};
use crate::engine::{Container, ContainerEvent, Engine, EngineInfo, EventAction, Health};
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
    /// When each image's pull finished and each service started and became healthy.
    pub timeline: Vec<Milestone>,
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

    let timeline = Timeline::new(started);
    // The engine's word on each container (started, healthy), for the report's timeline.
    let observe = async {
        let mut seen = engine.events(&ws.stack.project);
        while let Some(e) = seen.next().await {
            let Ok(e) = e else { continue };
            let Some(service) = e.service else { continue };
            match e.action {
                EventAction::Start => timeline.mark(MilestoneKind::Started, &service),
                EventAction::Health(Health::Healthy) => timeline.mark(MilestoneKind::Healthy, &service),
                _ => {}
            }
        }
        std::future::pending::<()>().await
    };
    let body = async {
        sink.emit(Event::StepStarted(StepId::Images));
        let plan = failed(
            &secrets,
            sink,
            StepId::Images,
            plan_images(ws, opts, engine, sink).await,
        )?;
        let (images_pulled, services, mut watched, mut events) =
            images_and_start(ws, engine, sink, &plan, &timeline).await?;
        let all_unchanged = services.iter().all(|s| s.action == ServiceAction::Unchanged);
        sink.emit(Event::StepDone {
            step: StepId::Start,
            msg: Some(if all_unchanged {
                msg!("engine.start.all_unchanged")
            } else {
                msg!("engine.start.done").arg("count", services.len())
            }),
        });
        let (ready, api) =
            readiness_and_api(ws, opts.readiness_deadline, engine, sink, &mut events, &mut watched).await?;
        Ok::<_, Error>((images_pulled, services, ready, api))
    };
    let (images_pulled, services, ready, api) = tokio::select! {
        r = body => r?,
        () = observe => unreachable!("observe never ends"),
    };

    Ok(InstallReport {
        engine: info,
        files_changed,
        images_pulled,
        services,
        ready,
        api,
        elapsed: started.elapsed(),
        timeline: timeline.entries(),
    })
}

type Events = BoxStream<'static, Result<ContainerEvent>>;

/// The images step and step E, overlapped: the pulls run while each service whose image is
/// there is brought up (issue 16). Both steps are started; each ends with its own event. With
/// nothing to pull, they run one after the other as before.
///
/// A failed pull ends the install as the images step's failure: the bring-up under way is
/// dropped (as Ctrl-C would) and the containers made by this run for services that had none
/// are removed, so the engine holds what it held before, plus the network and volumes; a
/// re-run starts over from there. A failed start ends the pulls (their finished layers stay).
async fn images_and_start(
    ws: &Workspace,
    engine: &dyn Engine,
    sink: &dyn EventSink,
    plan: &ImagesPlan,
    timeline: &Timeline,
) -> Result<(Vec<String>, Vec<ServiceOutcome>, Vec<Watched>, Events)> {
    let secrets = ws.dotenv.secret_values();
    let project = &ws.stack.project;
    let gate = plan.gate();
    if plan.to_pull.is_empty() {
        let (_, pulled) = failed(
            &secrets,
            sink,
            StepId::Images,
            finish_images(ws, plan, engine, sink).await,
        )?;
        sink.emit(Event::StepStarted(StepId::Start));
        // Subscribed before the first action, so no container event is missed from here on.
        let mut events = engine.events(project).map(|r| r.map_err(Error::from)).boxed();
        let (services, watched) = failed(
            &secrets,
            sink,
            StepId::Start,
            start_as_images_arrive(ws, engine, sink, &gate, &mut events).await,
        )?;
        return Ok((pulled, services, watched, events));
    }
    // What was there before, so that a failed pull can take back what this run made.
    let before = engine.containers(Some(project)).await.map_err(Error::from)?;
    sink.emit(Event::StepStarted(StepId::Start));
    progress(
        sink,
        StepId::Start,
        msg!("pulls.start.overlap").arg("count", plan.to_pull.len()),
    );
    let mut events = engine.events(project).map(|r| r.map_err(Error::from)).boxed();
    let pulled = |reference: &str| timeline.mark(MilestoneKind::Pulled, reference);
    let images = async {
        pull_images(ws, plan, engine, sink, &gate, &pulled).await?;
        finish_images(ws, plan, engine, sink).await
    };
    let outcome = {
        let start = start_as_images_arrive(ws, engine, sink, &gate, &mut events);
        tokio::pin!(images, start);
        let mut up = None;
        let images = loop {
            tokio::select! {
                r = &mut images => break r,
                r = &mut start, if up.is_none() => match r {
                    Ok(v) => up = Some(v),
                    // The pulls are dropped with this future: cancelled.
                    Err(e) => return failed(&secrets, sink, StepId::Start, Err(e)),
                },
            }
        };
        match images {
            Ok(images) => Ok((
                images,
                match up {
                    Some(v) => Ok(v),
                    None => start.await,
                },
            )),
            Err(e) => Err(e),
        }
    };
    match outcome {
        Ok(((_, pulled), up)) => {
            let (services, watched) = failed(&secrets, sink, StepId::Start, up)?;
            Ok((pulled, services, watched, events))
        }
        Err(e) => {
            take_back(engine, sink, project, &before).await;
            failed(&secrets, sink, StepId::Images, Err(e))
        }
    }
}

/// After a failed pull: the containers of the project that this run made for services that
/// had none before are stopped and removed. Best effort: the install's error is the pull's.
async fn take_back(engine: &dyn Engine, sink: &dyn EventSink, project: &str, before: &[Container]) {
    let Ok(now) = engine.containers(Some(project)).await else {
        return;
    };
    let new: Vec<&Container> = now
        .iter()
        .filter(|c| !before.iter().any(|b| b.id == c.id))
        .filter(|c| {
            !before
                .iter()
                .any(|b| b.service().is_some() && b.service() == c.service())
        })
        .collect();
    if new.is_empty() {
        return;
    }
    progress(sink, StepId::Images, msg!("pulls.cleanup").arg("count", new.len()));
    for c in new {
        let _ = engine.stop_container(&c.id, STOP_TIMEOUT_S).await;
        let _ = engine.remove_container(&c.id).await;
    }
}

/// What the report's timeline records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MilestoneKind {
    /// An image's pull finished (`name` is the image).
    Pulled,
    /// The engine started a service's container (`name` is the service).
    Started,
    /// The engine reported a service's container healthy (its healthcheck passed).
    Healthy,
}

/// One moment of the run, relative to its start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Milestone {
    pub at: Duration,
    pub kind: MilestoneKind,
    pub name: String,
}

/// The moments of a run as they happen: the first of each kind per name.
struct Timeline {
    start: Instant,
    entries: std::sync::Mutex<Vec<Milestone>>,
}

impl Timeline {
    fn new(start: Instant) -> Timeline {
        Timeline {
            start,
            entries: std::sync::Mutex::new(Vec::new()),
        }
    }

    fn mark(&self, kind: MilestoneKind, name: &str) {
        let at = self.start.elapsed();
        if let Ok(mut v) = self.entries.lock() {
            if !v.iter().any(|m| m.kind == kind && m.name == name) {
                v.push(Milestone {
                    at,
                    kind,
                    name: name.to_string(),
                });
            }
        }
    }

    fn entries(&self) -> Vec<Milestone> {
        let mut v = self.entries.lock().map(|v| v.clone()).unwrap_or_default();
        v.sort_by_key(|m| m.at);
        v
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timeline_keeps_the_first_moment_of_each_kind_per_name_in_order() {
        let t = Timeline::new(Instant::now() - Duration::from_secs(5));
        t.mark(MilestoneKind::Started, "postgres");
        t.mark(MilestoneKind::Healthy, "postgres");
        // A restart later in the run is not a new "started".
        t.mark(MilestoneKind::Started, "postgres");
        t.mark(MilestoneKind::Pulled, "registry/litellm:1");
        let v = t.entries();
        let seen: Vec<(MilestoneKind, &str)> = v.iter().map(|m| (m.kind, m.name.as_str())).collect();
        assert_eq!(
            seen,
            [
                (MilestoneKind::Started, "postgres"),
                (MilestoneKind::Healthy, "postgres"),
                (MilestoneKind::Pulled, "registry/litellm:1"),
            ]
        );
        assert!(v.windows(2).all(|w| w[0].at <= w[1].at), "{v:?}");
        assert!(v[0].at >= Duration::from_secs(5), "{v:?}");
    }
}
