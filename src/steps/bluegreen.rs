//! A change of LiteLLM with no downtime (issue 16): when the start step must recreate the
//! proxy, the new container starts beside the running one on the stack network, is tested
//! directly (readiness with its database connected, then the API test), and only then does
//! the old one stop, gracefully, finishing the requests it has in flight.
//!
//! How nginx switches: both containers carry the network alias `litellm`, which nginx resolves
//! through Docker's DNS at request time (`resolver 127.0.0.11 valid=10s`, a variable upstream:
//! src/render/nginx.rs), so nginx sends a request to either of them and on a refused
//! connection tries the other. A starting LiteLLM keeps its port closed until its startup is
//! done (config read, database connected), so it takes no client request before; the old one,
//! once told to stop, closes its port at once and finishes what it is serving. nginx is
//! reloaded (`nginx -s reload`, graceful: old workers finish their requests) before and after
//! the old one goes, so its workers ask Docker's DNS afresh and never wait on the address of a
//! container that is gone.
//!
//! Names: the new container starts as `<project>-litellm-next` and takes the usual name once
//! the old one is gone, so `docker compose ps` shows one `litellm` and `docker compose up -d`
//! recreates nothing (it carries the labels and hashes of the normal path). When LiteLLM also
//! publishes a host port, which two containers cannot hold at once, the `-next` container
//! runs without it as a bridge: the old one goes, the final container (with the port) starts
//! and is tested, then the bridge goes the same way.
//!
//! When this is not safe or not possible, the start step stops the old container first, as
//! before, and says why ([`decide`]): the image changes and the new version's pending database
//! migrations are not all additive, or cannot be checked (src/steps/upgrade/migrations.rs: a
//! new image whose pending migrations only add to the schema switches like a configuration
//! change, the new container applying them while the old one serves), Postgres, Redis or nginx
//! change in the same run, there is no nginx, or the host cannot reach the containers'
//! addresses (Docker Desktop, a remote engine).

use std::time::{Duration, Instant};

use futures_util::stream::BoxStream;

use super::backup::Db;
use super::reconcile::{Planned, ServiceAction};
use super::supervise::{FAILURE_LOG_LINES, Watched, forward_logs, watch};
use super::upgrade::migrations::{self, Verdict};
use super::{EventSink, StepError, StepId, progress};
use crate::engine::spec::network_name;
use crate::engine::{ContainerEvent, ContainerSpec, Engine, LABEL_COMPOSE_IMAGE, State};
use crate::error::Result;
use crate::health::{self, Endpoints, ReadinessOptions};
use crate::i18n::Msg;
use crate::stack::{LITELLM_PORT, Stack};
use crate::workspace::Workspace;

/// How long a replaced proxy may take to finish its requests in flight (a long streamed
/// completion) before it is killed.
pub(crate) const GRACEFUL_STOP_S: u32 = 300;

/// nginx keeps a DNS answer 10 s (`valid=10s`): by this long after a container started, every
/// nginx worker has asked again and knows it, even if the reload failed.
const NGINX_DNS_VALID: Duration = Duration::from_secs(11);

/// How long the host gets to answer on the running proxy's own address.
const REACH_TIMEOUT: Duration = Duration::from_secs(3);

/// What the start step does about LiteLLM this run.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Decision {
    /// LiteLLM is not recreated, or nothing serves now: the normal path.
    NotNeeded,
    /// The new one beside the old one, then the switch.
    Switch,
    /// The old one stops first; the message says why.
    StopThenStart(Msg),
}

/// The start step's decision: [`decide`], and when only LiteLLM's new image stands in the way,
/// its pending migrations checked ([`migrations::check`]) and said.
pub(crate) async fn decision(
    ws: &Workspace,
    engine: &dyn Engine,
    sink: &dyn EventSink,
    planned: &[Planned],
) -> Decision {
    let first = decide(&ws.stack, planned, None);
    if first != Decision::StopThenStart(msg!("bluegreen.fallback.image")) {
        return first;
    }
    let image = planned
        .iter()
        .find(|p| p.spec.service == "litellm")
        .map(|p| p.spec.image.clone())
        .unwrap_or_default();
    let postgres = planned.iter().find(|p| p.spec.service == "postgres");
    let verdict = match postgres.map(|p| p.current.as_ref().filter(|c| c.state == State::Running)) {
        // No database: nothing to migrate.
        None => Verdict::Additive(Vec::new()),
        Some(None) => Verdict::Unknown(msg!("upgradebg.error.no_history")),
        Some(Some(pg)) => {
            let user = ws.dotenv.get("POSTGRES_USER").map(|s| s.expose()).unwrap_or_default();
            let name = ws.dotenv.get("POSTGRES_DB").map(|s| s.expose()).unwrap_or_default();
            let db = Db {
                container: &pg.id,
                user,
                name,
            };
            migrations::check(engine, &image, &db).await
        }
    };
    if matches!(verdict, Verdict::Additive(_)) {
        progress(sink, StepId::Start, verdict.msg());
    }
    decide(&ws.stack, planned, Some(&verdict))
}

/// Pure: from the plan, whether LiteLLM's recreation may run beside the old container.
/// `migrations`: the verdict on the new image's pending migrations, when its image changes
/// (`None`: not checked, which stops the old one first).
pub(crate) fn decide(stack: &Stack, planned: &[Planned], migrations: Option<&Verdict>) -> Decision {
    let Some(litellm) = planned.iter().find(|p| p.spec.service == "litellm") else {
        return Decision::NotNeeded;
    };
    let Some(old) = litellm.current.as_ref() else {
        return Decision::NotNeeded;
    };
    if litellm.action != ServiceAction::Recreated || old.state != State::Running || old.name != litellm.spec.name {
        return Decision::NotNeeded;
    }
    let action = |service: &str| planned.iter().find(|p| p.spec.service == service).map(|p| p.action);
    let why = if stack.service("nginx").is_none() {
        Some(msg!("bluegreen.fallback.no_nginx"))
    } else if action("nginx") != Some(ServiceAction::Unchanged) {
        Some(msg!("bluegreen.fallback.changes").arg("service", "nginx"))
    } else if let Some(dep) = ["postgres", "redis"]
        .into_iter()
        .find(|s| action(s).is_some_and(|a| a != ServiceAction::Unchanged))
    {
        Some(msg!("bluegreen.fallback.changes").arg("service", dep))
    } else if litellm.spec.labels.get(LABEL_COMPOSE_IMAGE) != Some(&old.image_id) {
        match migrations {
            Some(Verdict::Additive(_)) => None,
            Some(v) => Some(v.msg()),
            None => Some(msg!("bluegreen.fallback.image")),
        }
    } else {
        None
    };
    match why {
        Some(why) => Decision::StopThenStart(why),
        None => Decision::Switch,
    }
}

/// The health checks' progress, shown as the start step's.
struct AsStart<'a>(&'a dyn EventSink);

impl health::Reporter for AsStart<'_> {
    fn report(&self, p: health::Progress) {
        progress(self.0, StepId::Start, p.msg);
    }
}

/// Replaces the running LiteLLM (`p.current`) by `p.spec` without downtime. `None`: the host
/// cannot reach the containers' addresses, nothing was done, the caller takes the normal
/// path. On a failure the old container keeps serving and the new one is removed; the error
/// carries its last log lines.
pub(crate) async fn replace(
    ws: &Workspace,
    engine: &dyn Engine,
    sink: &dyn EventSink,
    events: &mut BoxStream<'static, Result<ContainerEvent>>,
    p: &Planned,
    nginx: Option<&str>,
) -> std::result::Result<Option<String>, StepError> {
    let Some(old) = p.current.as_ref() else {
        return Ok(None);
    };
    let net = network_name(&ws.stack.project);
    let reachable = match engine.container_ip(&old.id, &net).await? {
        Some(ip) => health::liveliness_answers(&base(&ip), REACH_TIMEOUT).await,
        None => false,
    };
    if !reachable {
        progress(sink, StepId::Start, msg!("bluegreen.fallback.unreachable"));
        return Ok(None);
    }
    progress(sink, StepId::Start, msg!("bluegreen.begin"));
    let mut next = p.spec.clone();
    next.name = format!("{}-litellm-next", ws.stack.project);
    let bridge = !next.ports.is_empty();
    next.ports.clear();
    // A `-next` left by an interrupted run is the project's orphan, removed before; one made
    // by hand without our labels would block the name.
    engine.remove_container(&next.name).await?;

    let next_id = start_beside(ws, engine, sink, events, &next, nginx, true).await?;
    switch_from(engine, sink, nginx, &old.id, &old.name, next_id.started).await?;
    if !bridge {
        engine.rename_container(&next_id.id, &p.spec.name).await?;
        progress(sink, StepId::Start, msg!("bluegreen.done").arg("name", &p.spec.name));
        return Ok(Some(next_id.id));
    }
    // The host port is free now: the final container, with it, beside the bridge.
    progress(sink, StepId::Start, msg!("bluegreen.final").arg("name", &p.spec.name));
    let last = start_beside(ws, engine, sink, events, &p.spec, nginx, false).await?;
    switch_from(engine, sink, nginx, &next_id.id, &next.name, last.started).await?;
    progress(sink, StepId::Start, msg!("bluegreen.done").arg("name", &p.spec.name));
    Ok(Some(last.id))
}

/// The last lines of the last new container removed after failing its checks, until taken:
/// the upgrade's rollback saves them under `logs/` like those of a container it removes.
static REMOVED_LOGS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

pub(crate) fn take_removed_logs() -> Vec<String> {
    REMOVED_LOGS
        .lock()
        .map(|mut l| std::mem::take(&mut *l))
        .unwrap_or_default()
}

fn base(ip: &str) -> String {
    format!("http://{ip}:{LITELLM_PORT}")
}

struct Started {
    id: String,
    started: Instant,
}

/// Creates and starts `spec` beside the running proxy, then tests it on its own address:
/// readiness with the database connected, and with `api_test` the API test too. On a failure
/// it is removed (its last log lines kept in the error).
#[allow(clippy::too_many_arguments)]
async fn start_beside(
    ws: &Workspace,
    engine: &dyn Engine,
    sink: &dyn EventSink,
    events: &mut BoxStream<'static, Result<ContainerEvent>>,
    spec: &ContainerSpec,
    nginx: Option<&str>,
    api_test: bool,
) -> std::result::Result<Started, StepError> {
    let id = engine.create_container(spec).await?;
    let started = Instant::now();
    let checked = async {
        engine.start_container(&id).await?;
        progress(sink, StepId::Start, msg!("bluegreen.started").arg("name", &spec.name));
        check(ws, engine, sink, events, &id, api_test).await
    }
    .await;
    match checked {
        Ok(()) => Ok(Started { id, started }),
        Err(mut e) => {
            // Stopped first (its restart policy would bring it back into the alias), then
            // nginx forgets its address, then its last lines are read and it goes.
            let _ = engine.stop_container(&id, super::start::STOP_TIMEOUT_S).await;
            reload_nginx(engine, nginx).await;
            if e.logs.is_empty() {
                e.logs = engine.logs(&id, FAILURE_LOG_LINES).await.unwrap_or_default();
            }
            if let Ok(mut kept) = REMOVED_LOGS.lock() {
                kept.clone_from(&e.logs);
            }
            let _ = engine.remove_container(&id).await;
            sink.emit(super::Event::Warning(
                msg!("bluegreen.kept_old").arg("name", &spec.name),
            ));
            Err(e)
        }
    }
}

async fn check(
    ws: &Workspace,
    engine: &dyn Engine,
    sink: &dyn EventSink,
    events: &mut BoxStream<'static, Result<ContainerEvent>>,
    id: &str,
    api_test: bool,
) -> std::result::Result<(), StepError> {
    let net = network_name(&ws.stack.project);
    let secrets = ws.dotenv.secret_values();
    let now = engine.inspect_container(id).await?;
    let mut watched = [Watched {
        service: "litellm".into(),
        id: id.to_string(),
        restarts: now.as_ref().map_or(0, |c| c.restart_count),
        started_at: now.and_then(|c| c.started_at),
    }];
    let ip = engine.container_ip(id, &net).await?.unwrap_or_default();
    let direct = Endpoints {
        proxy: Some(base(&ip)),
        ..Endpoints::default()
    };
    let deadline = ws
        .stack
        .service("litellm")
        .and_then(|s| s.healthcheck.as_ref())
        .map_or(190, |h| h.deadline_s());
    let readiness = ReadinessOptions {
        deadline: Duration::from_secs(u64::from(deadline)),
        database_configured: true,
    };
    let reporter = AsStart(sink);
    let forward = forward_logs(engine, "litellm", Some(id.to_string()), &secrets, sink);
    tokio::pin!(forward);
    tokio::select! {
        r = health::wait_until_ready(&direct, &readiness, &reporter) => { r?; }
        e = watch(engine, events, &mut watched) => return Err(e),
        e = &mut forward => return Err(e),
    }
    if !api_test {
        return Ok(());
    }
    let master_key = ws.dotenv.get("LITELLM_MASTER_KEY").cloned().unwrap_or_default();
    let models = ws.answers.model_names();
    let api = tokio::select! {
        r = health::api_test(&direct, &master_key, &models, health::ApiOptions::default(), &reporter) => r?,
        e = watch(engine, events, &mut watched) => return Err(e),
        e = &mut forward => return Err(e),
    };
    if let Some(alias) = &api.virtual_key {
        let db = super::testkey::Database {
            project: &ws.stack.project,
            user: ws.dotenv.get("POSTGRES_USER").map(|s| s.expose()).unwrap_or_default(),
            name: ws.dotenv.get("POSTGRES_DB").map(|s| s.expose()).unwrap_or_default(),
        };
        super::testkey::purge(engine, &db, alias).await?;
    }
    Ok(())
}

/// nginx knows the new container (`started` is when it joined the network); the old one stops
/// gracefully and goes.
async fn switch_from(
    engine: &dyn Engine,
    sink: &dyn EventSink,
    nginx: Option<&str>,
    old_id: &str,
    old_name: &str,
    started: Instant,
) -> std::result::Result<(), StepError> {
    let reloaded = reload_nginx(engine, nginx).await;
    let left = NGINX_DNS_VALID.saturating_sub(started.elapsed());
    if !reloaded && !left.is_zero() {
        tokio::time::sleep(left).await;
    } else if reloaded {
        // The new workers take over the port while the old ones finish their requests.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    progress(
        sink,
        StepId::Start,
        msg!("bluegreen.stopping")
            .arg("name", old_name)
            .arg("seconds", GRACEFUL_STOP_S),
    );
    engine.stop_container(old_id, GRACEFUL_STOP_S).await?;
    // At once: until its workers ask Docker's DNS again, nginx may still try the address of
    // the container just gone (and wait for its connect timeout before trying the other).
    let reloaded = reload_nginx(engine, nginx).await;
    engine.remove_container(old_id).await?;
    if !reloaded && nginx.is_some() {
        sink.emit(super::Event::Warning(msg!("bluegreen.reload_failed")));
    }
    Ok(())
}

/// `nginx -s reload` in the nginx container: its workers start afresh (asking Docker's DNS
/// again), the old ones finish their requests first. True when nginx took it.
async fn reload_nginx(engine: &dyn Engine, nginx: Option<&str>) -> bool {
    let Some(id) = nginx else { return false };
    // reload: `-c` names the mounted file, the one the master runs with.
    let cmd = [
        "nginx".to_string(),
        "-c".to_string(),
        crate::stack::NGINX_CONF_IN_CONTAINER.to_string(),
        "-s".to_string(),
        "reload".to_string(),
    ];
    matches!(engine.exec(id, &cmd).await, Ok(Some(0)))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::answers::Answers;
    use crate::engine::{Container, Health, LABEL_CONFIG_HASH, spec};
    use crate::platform::Os;
    use crate::secrets::{ExistingEnv, Secrets};

    fn plan(nginx: bool) -> (Stack, Vec<Planned>) {
        let mut a = Answers::defaults_for(Os::Linux);
        a.dir = std::env::temp_dir().join("lst-bluegreen-unit");
        a.project = Some("unit".into());
        a.services.nginx = nginx;
        let dotenv = crate::render::env::build(&a, &Secrets::placeholders(), &ExistingEnv::default(), &|_| None);
        let stack = Stack::from_answers(&a, Os::Linux);
        let planned = stack
            .services
            .iter()
            .map(|s| {
                let spec = spec::container_spec(&stack, s, &dotenv, "sha256:img").expect("spec");
                let mut labels: BTreeMap<String, String> = spec.labels.clone();
                let recreate = s.name == "litellm";
                if recreate {
                    labels.insert(LABEL_CONFIG_HASH.into(), "config-before".into());
                }
                let current = Container {
                    id: format!("id-{}", s.name),
                    name: spec.name.clone(),
                    labels,
                    state: State::Running,
                    health: Health::Healthy,
                    image: spec.image.clone(),
                    image_id: "sha256:img".into(),
                    ports: vec![],
                    restart_count: 0,
                    exit_code: None,
                    oom_killed: false,
                    error: None,
                    started_at: None,
                    created: None,
                };
                let action = if recreate {
                    ServiceAction::Recreated
                } else {
                    ServiceAction::Unchanged
                };
                Planned {
                    spec,
                    current: Some(current),
                    action,
                }
            })
            .collect();
        (stack, planned)
    }

    fn litellm(planned: &mut [Planned]) -> &mut Planned {
        planned
            .iter_mut()
            .find(|p| p.spec.service == "litellm")
            .expect("litellm")
    }

    #[test]
    fn a_config_change_on_the_same_image_switches() {
        let (stack, planned) = plan(true);
        assert_eq!(decide(&stack, &planned, None), Decision::Switch);
    }

    #[test]
    fn nothing_to_switch_when_litellm_stays_or_nothing_serves() {
        let (stack, mut planned) = plan(true);
        litellm(&mut planned).action = ServiceAction::Unchanged;
        assert_eq!(decide(&stack, &planned, None), Decision::NotNeeded);
        let (stack, mut planned) = plan(true);
        if let Some(c) = litellm(&mut planned).current.as_mut() {
            c.state = State::Exited;
        }
        assert_eq!(decide(&stack, &planned, None), Decision::NotNeeded);
        let (stack, mut planned) = plan(true);
        litellm(&mut planned).current = None;
        assert_eq!(decide(&stack, &planned, None), Decision::NotNeeded);
    }

    #[test]
    fn a_new_image_postgres_redis_or_nginx_changing_or_no_nginx_stop_first() {
        let fallback = |d: Decision| matches!(d, Decision::StopThenStart(_));
        let (stack, mut planned) = plan(true);
        if let Some(c) = litellm(&mut planned).current.as_mut() {
            c.image_id = "sha256:older".into();
        }
        assert_eq!(
            decide(&stack, &planned, None),
            Decision::StopThenStart(msg!("bluegreen.fallback.image")),
            "a new image may bring migrations the old version does not expect"
        );
        for service in ["postgres", "redis", "nginx"] {
            let (stack, mut planned) = plan(true);
            if let Some(p) = planned.iter_mut().find(|p| p.spec.service == service) {
                p.action = ServiceAction::Recreated;
            }
            assert!(fallback(decide(&stack, &planned, None)), "{service}");
        }
        let (stack, planned) = plan(false);
        assert!(fallback(decide(&stack, &planned, None)));
    }

    #[test]
    fn a_new_image_switches_when_its_pending_migrations_are_additive() {
        let (stack, mut planned) = plan(true);
        if let Some(c) = litellm(&mut planned).current.as_mut() {
            c.image_id = "sha256:older".into();
        }
        let additive = Verdict::Additive(vec!["20251101000000_add_x".into()]);
        assert_eq!(decide(&stack, &planned, Some(&additive)), Decision::Switch);
        let unsafe_one = Verdict::Unsafe {
            migration: "20251102000000_drop_y".into(),
            kind: "DROP COLUMN".into(),
            statement: "ALTER TABLE \"T\" DROP COLUMN \"y\"".into(),
        };
        let Decision::StopThenStart(why) = decide(&stack, &planned, Some(&unsafe_one)) else {
            panic!("an unsafe migration must stop the old one first");
        };
        for lang in crate::i18n::Lang::ALL {
            let text = why.text(lang);
            assert!(
                text.contains("20251102000000_drop_y") && text.contains("DROP COLUMN"),
                "{text}"
            );
        }
        let unknown = Verdict::Unknown(msg!("upgradebg.error.no_history"));
        assert!(matches!(
            decide(&stack, &planned, Some(&unknown)),
            Decision::StopThenStart(_)
        ));
        // Postgres changing in the same run still stops it first, additive or not.
        if let Some(p) = planned.iter_mut().find(|p| p.spec.service == "postgres") {
            p.action = ServiceAction::Recreated;
        }
        assert_eq!(
            decide(&stack, &planned, Some(&additive)),
            Decision::StopThenStart(msg!("bluegreen.fallback.changes").arg("service", "postgres"))
        );
    }
}
