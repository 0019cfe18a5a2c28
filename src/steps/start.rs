//! Step E: the network, the volumes and the containers, created or recreated as the reconcile
//! plan says, started in dependency order: services that need nothing first, together, then
//! each one once what it needs meets its condition (errata 15). In an install the images may
//! still be downloading: each service waits for its own image only (issue 16).

use std::collections::HashMap;

use futures_util::StreamExt;
use futures_util::stream::BoxStream;

use super::images::ImageGate;
use super::ownership::fix_prometheus_ownership;
use super::reconcile::{Planned, ServiceAction, ServiceOutcome, plan_actions};
use super::supervise::{Target, Watched, failure, wait_for};
use super::{EventSink, StepError, StepId, progress};
use crate::engine::diagnose::{Failure, diagnose};
use crate::engine::spec::{self, network_labels, network_name, volume_labels, volume_name};
use crate::engine::{ContainerEvent, ContainerSpec, Engine};
use crate::error::{Error, Result};
use crate::i18n::Msg;
use crate::stack::Condition;
use crate::workspace::Workspace;

/// How long a container gets to stop before it is killed.
pub(crate) const STOP_TIMEOUT_S: u32 = 10;

/// Step E with every image already present. Returns what was done per service, and the
/// containers to watch from now on.
pub(crate) async fn start_step(
    ws: &Workspace,
    engine: &dyn Engine,
    sink: &dyn EventSink,
    image_ids: &HashMap<String, String>,
    events: &mut BoxStream<'static, Result<ContainerEvent>>,
) -> std::result::Result<(Vec<ServiceOutcome>, Vec<Watched>), StepError> {
    let by_ref = ws
        .stack
        .services
        .iter()
        .filter_map(|s| image_ids.get(s.name).map(|id| (s.image.clone(), id.clone())))
        .collect();
    start_as_images_arrive(ws, engine, sink, &ImageGate::new(by_ref), events).await
}

/// Step E while the images may still be downloading: each service is planned and brought up
/// once its image is on `gate` (and what it needs meets its condition), so Postgres and Redis
/// initialise while LiteLLM's large image is still coming.
pub(crate) async fn start_as_images_arrive(
    ws: &Workspace,
    engine: &dyn Engine,
    sink: &dyn EventSink,
    gate: &ImageGate,
    events: &mut BoxStream<'static, Result<ContainerEvent>>,
) -> std::result::Result<(Vec<ServiceOutcome>, Vec<Watched>), StepError> {
    let stack = &ws.stack;
    let project = &stack.project;
    // The spec of a service once its image is there.
    let spec_of = |s: &'static str| async move {
        let service = stack
            .service(s)
            .ok_or_else(|| Error::failed(msg!("engine.start.unknown_service").arg("service", s)))?;
        let id = gate.id(&service.image).await;
        spec::container_spec(stack, service, &ws.dotenv, &id)
    };

    let net = network_name(project);
    if engine.ensure_network(&net, &network_labels(project)).await? {
        progress(sink, StepId::Start, msg!("engine.start.network").arg("name", &net));
    }
    for v in &stack.volumes {
        let name = volume_name(project, v);
        if engine.ensure_volume(&name, &volume_labels(project, v)).await? {
            progress(sink, StepId::Start, msg!("engine.start.volume").arg("name", &name));
        }
    }

    let existing = engine.containers(Some(project)).await?;
    // Which container is each service's does not depend on its image: a plan made with no
    // image ID says it, before any image is there.
    let mut placeholder = Vec::new();
    for s in &stack.services {
        placeholder.push(spec::container_spec(stack, s, &ws.dotenv, "")?);
    }
    let provisional = plan_actions(stack, placeholder, &existing);
    // Containers of the project that the plan has no place for: a service turned off, a
    // duplicate made by hand. They would hold ports or answer on the network.
    for c in &existing {
        let kept = provisional
            .iter()
            .any(|p| p.current.as_ref().is_some_and(|k| k.id == c.id));
        if !kept {
            engine.stop_container(&c.id, STOP_TIMEOUT_S).await?;
            engine.remove_container(&c.id).await?;
            progress(sink, StepId::Start, msg!("engine.start.orphan").arg("name", &c.name));
        }
    }
    let nginx = provisional
        .iter()
        .find(|p| p.spec.service == "nginx")
        .and_then(|p| p.current.as_ref().map(|c| c.id.clone()));

    // Services that need nothing start first, each the moment its image is there; the others
    // follow in the stack's order, each once its image is there and its dependencies meet
    // their condition (errata 15).
    let (free, rest): (Vec<&'static str>, Vec<&'static str>) = stack
        .services
        .iter()
        .map(|s| s.name)
        .partition(|name| stack.service(name).is_none_or(|s| s.depends_on.is_empty()));
    let mut watched: Vec<Watched> = Vec::new();
    let mut outcomes = Vec::new();
    let mut planned_specs: Vec<ContainerSpec> = Vec::new();
    let (spec_of, existing_ref) = (&spec_of, &existing);
    let mut first: futures_util::stream::FuturesUnordered<_> = free
        .iter()
        .map(|&name| async move {
            let spec = spec_of(name).await?;
            let p = plan_actions(stack, vec![spec], existing_ref)
                .pop()
                .ok_or_else(|| Error::failed(msg!("engine.start.unknown_service").arg("service", name)))?;
            let id = bring_up(engine, &p, None).await?;
            Ok::<_, StepError>((p, id))
        })
        .collect();
    while let Some(up) = first.next().await {
        let (p, id) = up?;
        planned_specs.push(p.spec.clone());
        record(engine, sink, &p, id, &mut watched, &mut outcomes).await?;
    }
    drop(first);
    for name in rest {
        let service = stack
            .service(name)
            .ok_or_else(|| Error::failed(msg!("engine.start.unknown_service").arg("service", name)))?;
        let spec = spec_of(name).await?;
        // Planned beside the services before it, so that one restarted for a recreated
        // dependency is (reconcile).
        let mut specs = planned_specs.clone();
        specs.push(spec);
        let Some(mut p) = plan_actions(stack, specs, &existing).pop() else {
            continue;
        };
        // bluegreen: LiteLLM recreated beside the running one when that is safe (bluegreen.rs);
        // that decision looks at the whole plan, so it waits for every image.
        let mut switch = false;
        if name == "litellm" && p.current.is_some() {
            let mut all = Vec::new();
            for s in &stack.services {
                all.push(spec_of(s.name).await?);
            }
            let planned = plan_actions(stack, all, &existing);
            let decision = super::bluegreen::decision(ws, engine, sink, &planned).await;
            switch = decision == super::bluegreen::Decision::Switch;
            if let super::bluegreen::Decision::StopThenStart(why) = decision {
                progress(sink, StepId::Start, why);
            }
            if let Some(full) = planned.into_iter().find(|q| q.spec.service == name) {
                p = full;
            }
        }
        planned_specs.push(p.spec.clone());
        if name == "prometheus" {
            fix_prometheus_ownership(ws, engine, sink).await?;
        }
        // Made (the old one removed) while what it needs comes up; started once it is there.
        let mut made = None;
        if matches!(p.action, ServiceAction::Created | ServiceAction::Recreated) && !switch {
            if let Some(old) = &p.current {
                engine.stop_container(&old.id, STOP_TIMEOUT_S).await?;
                engine.remove_container(&old.id).await?;
            }
            made = Some(engine.create_container(&p.spec).await?);
        }
        for (dep, cond) in &service.depends_on {
            let Some(w) = watched.iter().find(|w| w.service == *dep).cloned() else {
                continue;
            };
            let check = stack.service(dep).and_then(|d| d.healthcheck.as_ref());
            let (target, probe, deadline) = match cond {
                Condition::Healthy => (
                    Target::Healthy,
                    check.map(|h| h.shell.as_str()),
                    check.map_or(60, |h| h.deadline_s()),
                ),
                Condition::Started => (Target::Running, None, 60),
            };
            let waiting = msg!("engine.start.waiting")
                .arg("service", service.name)
                .arg("dep", dep);
            wait_for(engine, events, &w, target, probe, deadline, || {
                progress(sink, StepId::Start, waiting.clone())
            })
            .await?;
        }
        let beside = match switch {
            true => super::bluegreen::replace(ws, engine, sink, events, &p, nginx.as_deref()).await?,
            false => None,
        };
        let id = match beside {
            Some(id) => id,
            None => bring_up(engine, &p, made).await?,
        };
        record(engine, sink, &p, id, &mut watched, &mut outcomes).await?;
    }
    // reload: a changed nginx.conf into the running nginx, or what each one loaded recorded.
    super::reload::after_start(ws, engine, sink, &mut outcomes).await?;
    Ok((outcomes, watched))
}

/// Does what the plan says for one service; `made` is its container when already created.
/// Returns the container's ID.
async fn bring_up(engine: &dyn Engine, p: &Planned, made: Option<String>) -> std::result::Result<String, StepError> {
    let service = p.spec.service.as_str();
    let existing = || p.current.as_ref().map(|c| c.id.clone()).unwrap_or_default();
    Ok(match p.action {
        ServiceAction::Created | ServiceAction::Recreated => {
            let id = match made {
                Some(id) => id,
                None => {
                    if let Some(old) = &p.current {
                        engine.stop_container(&old.id, STOP_TIMEOUT_S).await?;
                        engine.remove_container(&old.id).await?;
                    }
                    engine.create_container(&p.spec).await?
                }
            };
            start_or_explain(engine, service, &id).await?;
            id
        }
        ServiceAction::Started => {
            let id = existing();
            start_or_explain(engine, service, &id).await?;
            id
        }
        ServiceAction::Restarted => {
            let id = existing();
            engine.restart_container(&id, STOP_TIMEOUT_S).await?;
            id
        }
        ServiceAction::Unchanged | ServiceAction::Reloaded => existing(),
    })
}

/// Says what was done for a service and starts watching its container.
async fn record(
    engine: &dyn Engine,
    sink: &dyn EventSink,
    p: &Planned,
    id: String,
    watched: &mut Vec<Watched>,
    outcomes: &mut Vec<ServiceOutcome>,
) -> std::result::Result<(), StepError> {
    let key = match p.action {
        ServiceAction::Created => key!("engine.start.created"),
        ServiceAction::Recreated => key!("engine.start.recreated"),
        ServiceAction::Started => key!("engine.start.started"),
        ServiceAction::Restarted => key!("engine.start.restarted"),
        ServiceAction::Unchanged | ServiceAction::Reloaded => key!("engine.start.unchanged"),
    };
    progress(
        sink,
        StepId::Start,
        Msg::new(key).arg("service", &p.spec.service).arg("name", &p.spec.name),
    );
    let now = engine.inspect_container(&id).await?;
    watched.push(Watched {
        service: p.spec.service.clone(),
        id: id.clone(),
        restarts: now.as_ref().map_or(0, |c| c.restart_count),
        started_at: now.and_then(|c| c.started_at),
    });
    outcomes.push(ServiceOutcome {
        service: p.spec.service.clone(),
        action: p.action,
        container_id: id,
    });
    Ok(())
}

/// Starts a container; when the engine refuses (a port, a mount), the failure says why.
async fn start_or_explain(engine: &dyn Engine, service: &str, id: &str) -> std::result::Result<(), StepError> {
    match engine.start_container(id).await {
        Ok(()) => Ok(()),
        Err(e) => {
            let detail = e.detail.clone();
            let mut f = failure(engine, service, id, Failure::StartRefused).await;
            if let Some(hint) = diagnose(service, std::slice::from_ref(&detail), None) {
                f.error.hint = Some(hint);
            }
            f.error.detail = Some(detail);
            Err(f)
        }
    }
}
