//! A changed `nginx/nginx.conf` (or `prometheus/prometheus.yml`) reloaded into the running
//! container, not the container recreated
//! (issue 16: no downtime on change). Its folder is mounted (src/stack.rs), so the container
//! sees the file a re-run wrote, and its content is not in the container's hash; instead the
//! install dir keeps, per container, which content each one has loaded
//! (`.litellm-stack/loaded-config.json`, no secret in it).
//!
//! At the end of step E, for nginx:
//! - created, recreated, started or restarted this run: it read the file at its start; that
//!   content is recorded;
//! - otherwise running, and the content it loaded differs from the file (or is not known: the
//!   container was started by someone else since): the file is checked by nginx itself
//!   (`nginx -t -c …` in the running container), then `nginx -s reload` (graceful: the old
//!   workers finish their requests, the new ones take new connections, nothing is refused),
//!   and the run waits until the master's workers are new ones and the healthcheck passes;
//!   then the content is recorded. A file nginx refuses fails the run (exit 1) naming the file
//!   and nginx's message; the running nginx keeps serving its previous configuration and
//!   nothing is recorded, so the next run checks again.
//!
//! Prometheus the same way (`prometheus/` mounted, `--config.file` in it): the file checked
//! with `promtool check config` in its container when the image has promtool, then SIGHUP
//! through the engine (Prometheus reloads its configuration on it, keeping the previous one
//! when it refuses the file), and the run waits until Prometheus's own metrics say a load
//! succeeded after the signal (`prometheus_config_last_reload_success_timestamp_seconds`
//! moved, `prometheus_config_last_reload_successful` 1) and `/-/ready` answers.

mod services;

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::reconcile::{ServiceAction, ServiceOutcome};
use super::{EventSink, StepError, StepId, progress};
use crate::engine::spec::sha256_hex;
use crate::engine::{Container, Engine, State};
use crate::error::{Error, Result};
use crate::platform::join_rel;
use crate::render::write::write_atomic;
use crate::stack::{NGINX_CONF_FILE, PROMETHEUS_CONF_FILE};
use crate::workspace::Workspace;

/// Which configuration each running container has loaded, relative to the install dir.
pub const LOADED: &str = ".litellm-stack/loaded-config.json";
const FORMAT: u32 = 1;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Loaded {
    pub format: u32,
    /// By container ID.
    pub containers: BTreeMap<String, Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub service: String,
    /// The file, relative to the install dir.
    pub file: String,
    /// SHA-256 of the content the container has loaded.
    pub sha256: String,
    /// The container's start time when it loaded it (the engine's `StartedAt`): a container
    /// restarted since read the file again, whatever it held then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
}

pub fn path(dir: &Path) -> std::path::PathBuf {
    join_rel(dir, LOADED)
}

/// The record, empty when there is none. One that cannot be read as ours counts as empty:
/// what a container loaded is then unknown, and it is checked and reloaded, which is safe.
pub fn read(dir: &Path) -> Loaded {
    std::fs::read(path(dir))
        .ok()
        .and_then(|b| serde_json::from_slice::<Loaded>(&b).ok())
        .filter(|l| l.format == FORMAT)
        .unwrap_or_default()
}

pub fn write(dir: &Path, loaded: &Loaded) -> Result<()> {
    let p = path(dir);
    if let Some(parent) = p.parent() {
        // Never written through a link planted there (run as root it could lead anywhere).
        for at in [parent, p.as_path()] {
            if std::fs::symlink_metadata(at).is_ok_and(|m| m.file_type().is_symlink()) {
                let target = std::fs::read_link(at)
                    .map(|t| t.display().to_string())
                    .unwrap_or_default();
                return Err(Error::input(
                    msg!("hardening.symlink")
                        .arg("path", at.display())
                        .arg("target", target),
                )
                .hint(msg!("hardening.symlink_hint").arg("path", at.display())));
            }
        }
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, &e))?;
    }
    let mut text = serde_json::to_string_pretty(loaded).unwrap_or_default();
    text.push('\n');
    write_atomic(&p, text.as_bytes(), false)
}

/// Why a reload is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// The file differs from what the container loaded.
    Changed,
    /// What the container loaded is not known (no record of it, or it started since).
    Unknown,
}

/// What to do about one service's configuration this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// It loaded the file as it is (or cannot be asked: not running).
    Nothing,
    /// It read the file at its start this run (or before it, the file being older): record it.
    Record,
    /// Check the file, reload, record.
    Reload(Why),
}

/// What the container of a service needs, from what the start step did with it (`action`),
/// its state, the record of what it loaded, and the file's content hash and modification
/// time (seconds since 1970). Pure.
pub fn decide(
    action: ServiceAction,
    container: &Container,
    recorded: Option<&Entry>,
    disk_sha: &str,
    file_modified: Option<i64>,
) -> Decision {
    match action {
        ServiceAction::Created | ServiceAction::Recreated | ServiceAction::Started | ServiceAction::Restarted => {
            return Decision::Record;
        }
        ServiceAction::Unchanged | ServiceAction::Reloaded => {}
    }
    if container.state != State::Running {
        // Restarting: it reads the file when it comes back; paused: it cannot be asked.
        return Decision::Nothing;
    }
    match recorded {
        Some(e) if e.started_at.is_some() && e.started_at == container.started_at => {
            if e.sha256 == disk_sha {
                Decision::Nothing
            } else {
                Decision::Reload(Why::Changed)
            }
        }
        // Started by someone else (Compose, a restart, a reboot): it read the file at its start.
        // A file older than that start is what it loaded; a newer one may not be.
        _ => match (file_modified, started_s(container)) {
            (Some(file), Some(started)) if file < started => Decision::Record,
            _ => Decision::Reload(Why::Unknown),
        },
    }
}

/// The container's start in whole seconds since 1970.
fn started_s(c: &Container) -> Option<i64> {
    let t = humantime::parse_rfc3339_weak(c.started_at.as_deref()?.trim()).ok()?;
    let s = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    i64::try_from(s).ok()
}

fn modified_s(path: &Path) -> Option<i64> {
    let m = std::fs::metadata(path).ok()?.modified().ok()?;
    i64::try_from(m.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs()).ok()
}

/// A service whose configuration is reloaded in place.
struct Reloadable {
    service: &'static str,
    /// Relative to the install dir.
    file: &'static str,
}

const RELOADABLE: [Reloadable; 2] = [
    Reloadable {
        service: "nginx",
        file: NGINX_CONF_FILE,
    },
    Reloadable {
        service: "prometheus",
        file: PROMETHEUS_CONF_FILE,
    },
];

/// After step E brought the services up: each reloadable service's configuration recorded,
/// or checked and reloaded (see the module's comment). `outcomes` says what step E did; a
/// reloaded service's becomes [`ServiceAction::Reloaded`].
pub(crate) async fn after_start(
    ws: &Workspace,
    engine: &dyn Engine,
    sink: &dyn EventSink,
    outcomes: &mut [ServiceOutcome],
) -> std::result::Result<(), StepError> {
    let before = read(ws.dir());
    // What the containers there now have loaded, as far as known; others' records go.
    let mut loaded = Loaded {
        format: FORMAT,
        containers: before
            .containers
            .iter()
            .filter(|(id, _)| outcomes.iter().any(|o| &o.container_id == *id))
            .map(|(id, e)| (id.clone(), e.clone()))
            .collect(),
    };
    let mut failure = None;
    for r in RELOADABLE.iter() {
        let Some(outcome) = outcomes.iter_mut().find(|o| o.service == r.service) else {
            continue;
        };
        let file = join_rel(ws.dir(), r.file);
        let Ok(bytes) = std::fs::read(&file) else {
            continue;
        };
        let sha = sha256_hex(&bytes);
        let Some(container) = engine.inspect_container(&outcome.container_id).await? else {
            continue;
        };
        let recorded = before.containers.get(&container.id);
        let entry = |sha: &str| Entry {
            service: r.service.to_string(),
            file: r.file.to_string(),
            sha256: sha.to_string(),
            started_at: container.started_at.clone(),
        };
        match decide(outcome.action, &container, recorded, &sha, modified_s(&file)) {
            Decision::Nothing => {}
            Decision::Record => {
                loaded.containers.insert(container.id.clone(), entry(&sha));
            }
            Decision::Reload(why) => {
                let key = match why {
                    Why::Changed => key!("reload.changed"),
                    Why::Unknown => key!("reload.unknown"),
                };
                progress(
                    sink,
                    StepId::Start,
                    crate::i18n::Msg::new(key).arg("service", r.service).arg("file", r.file),
                );
                let probe = ws
                    .stack
                    .service(r.service)
                    .and_then(|s| s.healthcheck.as_ref())
                    .map(|h| h.shell.as_str());
                let reloaded = match r.service {
                    "prometheus" => services::reload_prometheus(engine, sink, &container.id, &file, probe).await,
                    _ => services::reload_nginx(engine, sink, &container.id, &file, probe).await,
                };
                match reloaded {
                    Ok(()) => {
                        loaded.containers.insert(container.id.clone(), entry(&sha));
                        outcome.action = ServiceAction::Reloaded;
                        progress(
                            sink,
                            StepId::Start,
                            msg!("reload.done").arg("service", r.service).arg("file", r.file),
                        );
                    }
                    // What it loaded before stays its record; the other services are
                    // still seen to, the first failure is the run's.
                    Err(e) => {
                        failure = failure.or(Some(e));
                    }
                }
            }
        }
    }
    if loaded != before {
        write(ws.dir(), &loaded)?;
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Health;

    fn running(started_at: &str) -> Container {
        Container {
            id: "abc".into(),
            name: "demo-nginx-1".into(),
            labels: BTreeMap::new(),
            state: State::Running,
            health: Health::Healthy,
            image: "nginx:1".into(),
            image_id: "sha256:1".into(),
            ports: vec![],
            restart_count: 0,
            exit_code: None,
            oom_killed: false,
            error: None,
            started_at: Some(started_at.into()),
            created: None,
        }
    }

    const STARTED: &str = "2026-12-04T21:00:00.5Z";
    /// `STARTED` in seconds since 1970.
    const STARTED_S: i64 = 1_796_418_000;

    fn entry(sha: &str, started_at: &str) -> Entry {
        Entry {
            service: "nginx".into(),
            file: NGINX_CONF_FILE.into(),
            sha256: sha.into(),
            started_at: Some(started_at.into()),
        }
    }

    #[test]
    fn the_start_time_reads_as_seconds() {
        assert_eq!(started_s(&running(STARTED)), Some(STARTED_S));
    }

    #[test]
    fn a_container_made_or_started_this_run_read_the_file_and_is_recorded() {
        let c = running(STARTED);
        for action in [
            ServiceAction::Created,
            ServiceAction::Recreated,
            ServiceAction::Started,
            ServiceAction::Restarted,
        ] {
            let old = entry("old", STARTED);
            assert_eq!(
                decide(action, &c, Some(&old), "new", Some(STARTED_S + 100)),
                Decision::Record,
                "{action:?}"
            );
            assert_eq!(decide(action, &c, None, "new", None), Decision::Record, "{action:?}");
        }
    }

    #[test]
    fn a_running_container_that_loaded_the_file_as_it_is_is_left_alone() {
        let c = running(STARTED);
        let e = entry("same", STARTED);
        assert_eq!(
            decide(ServiceAction::Unchanged, &c, Some(&e), "same", Some(STARTED_S + 100)),
            Decision::Nothing
        );
    }

    #[test]
    fn a_changed_file_is_reloaded_not_recreated() {
        let c = running(STARTED);
        let e = entry("old", STARTED);
        assert_eq!(
            decide(ServiceAction::Unchanged, &c, Some(&e), "new", Some(STARTED_S + 100)),
            Decision::Reload(Why::Changed)
        );
    }

    #[test]
    fn a_container_started_by_someone_else_is_reloaded_unless_the_file_is_older_than_its_start() {
        // No record (Compose made it, or the record is gone), or one of an earlier start.
        let c = running(STARTED);
        let earlier = entry("same", "2026-12-01T08:00:00Z");
        for recorded in [None, Some(&earlier)] {
            assert_eq!(
                decide(ServiceAction::Unchanged, &c, recorded, "same", Some(STARTED_S + 1)),
                Decision::Reload(Why::Unknown)
            );
            // Written in the second it started: which came first is not known.
            assert_eq!(
                decide(ServiceAction::Unchanged, &c, recorded, "same", Some(STARTED_S)),
                Decision::Reload(Why::Unknown)
            );
            assert_eq!(
                decide(ServiceAction::Unchanged, &c, recorded, "same", Some(STARTED_S - 1)),
                Decision::Record
            );
            assert_eq!(
                decide(ServiceAction::Unchanged, &c, recorded, "same", None),
                Decision::Reload(Why::Unknown)
            );
        }
    }

    #[test]
    fn a_container_not_running_is_not_asked() {
        let e = entry("old", STARTED);
        for state in [State::Restarting, State::Paused, State::Exited] {
            let mut c = running(STARTED);
            c.state = state;
            assert_eq!(
                decide(ServiceAction::Unchanged, &c, Some(&e), "new", None),
                Decision::Nothing,
                "{state:?}"
            );
        }
    }

    #[test]
    fn the_record_round_trips_and_an_unreadable_one_counts_as_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(read(dir.path()), Loaded::default());
        let mut l = Loaded {
            format: FORMAT,
            containers: BTreeMap::new(),
        };
        l.containers.insert("abc".into(), entry("sha", STARTED));
        write(dir.path(), &l).expect("write");
        assert_eq!(read(dir.path()), l);
        std::fs::write(path(dir.path()), "{ not json").expect("write");
        assert_eq!(read(dir.path()), Loaded::default());
        #[cfg(unix)]
        {
            let other = tempfile::tempdir().expect("tempdir");
            let planted = tempfile::tempdir().expect("tempdir");
            std::os::unix::fs::symlink(planted.path(), other.path().join(".litellm-stack")).expect("link");
            assert!(write(other.path(), &l).is_err(), "written through a link");
            assert!(std::fs::read_dir(planted.path()).expect("read").next().is_none());
        }
    }
}
