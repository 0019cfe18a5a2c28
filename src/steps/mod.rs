//! All install and day-2 logic. The SOP's steps (A–G, `sop/README.md`) as an explicit plan,
//! and the events a run emits. The wizard and the headless printer are two consumers of the same
//! events; neither holds install logic.
//!
//! One idea per file:
//! - `session`: what every front end calls: connect, the log, run, the facts for the done screen;
//! - `install`: the install plan in order (preflight, A–D, images, E, F, G);
//! - `preflight`: ONE list of checks, shown by the wizard and enforced by the install;
//! - `files`, `images`, `reconcile`, `start`, `supervise`, `ownership`: the install's parts;
//! - `status`, `down`, `images_save`: the day-2 operations.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::i18n::Msg;

/// The steps of an install, in order. Letters are the SOP's flowchart (section 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepId {
    /// Engine reachable, disk, ports (before anything is created).
    Preflight,
    /// A: the directory tree.
    Tree,
    /// B: `.env` (secrets kept or generated).
    Env,
    /// C: `config.yaml`.
    Config,
    /// D: `docker-compose.yml`, `nginx.conf`, `prometheus.yml`.
    Compose,
    /// Images present (pulled or loaded).
    Images,
    /// E: network, volumes, containers, started in dependency order.
    Start,
    /// F: `/health/readiness` answers 200.
    Readiness,
    /// G: the API test.
    ApiTest,
    // backup: the day-2 plans `backup` and `restore` (not in `ALL`: that is the install's).
    /// `pg_dump` of the stack's database, while it keeps serving.
    Dump,
    /// The archive written under `backups/`, older ones pruned.
    Archive,
    /// An archive checked: every member's checksum, its dump restored into a throwaway Postgres.
    CheckArchive,
    /// The database replaced by the archive's.
    Restore,
    // upgrade: the day-2 plan `upgrade`.
    /// Which services change, from which image to which.
    UpgradePlan,
    /// The previous version back after a failed upgrade.
    Rollback,
}

impl StepId {
    pub const ALL: [StepId; 9] = [
        StepId::Preflight,
        StepId::Tree,
        StepId::Env,
        StepId::Config,
        StepId::Compose,
        StepId::Images,
        StepId::Start,
        StepId::Readiness,
        StepId::ApiTest,
    ];

    /// The SOP's letter, where the SOP has the step.
    pub fn sop_letter(self) -> Option<char> {
        match self {
            StepId::Tree => Some('A'),
            StepId::Env => Some('B'),
            StepId::Config => Some('C'),
            StepId::Compose => Some('D'),
            StepId::Start => Some('E'),
            StepId::Readiness => Some('F'),
            StepId::ApiTest => Some('G'),
            StepId::Preflight
            | StepId::Images
            | StepId::Dump
            | StepId::Archive
            | StepId::CheckArchive
            | StepId::Restore
            | StepId::UpgradePlan
            | StepId::Rollback => None,
        }
    }

    /// The catalog key of the step's title (`step.<id>`).
    pub fn title(self) -> Msg {
        Msg::new(match self {
            StepId::Preflight => key!("step.preflight"),
            StepId::Tree => key!("step.tree"),
            StepId::Env => key!("step.env"),
            StepId::Config => key!("step.config"),
            StepId::Compose => key!("step.compose"),
            StepId::Images => key!("step.images"),
            StepId::Start => key!("step.start"),
            StepId::Readiness => key!("step.readiness"),
            StepId::ApiTest => key!("step.api_test"),
            StepId::Dump => key!("backup.step.dump"),
            StepId::Archive => key!("backup.step.archive"),
            StepId::CheckArchive => key!("backup.step.check"),
            StepId::Restore => key!("backup.step.restore"),
            StepId::UpgradePlan => key!("upgrade.step.plan"),
            StepId::Rollback => key!("upgrade.step.rollback"),
        })
    }
}

/// What a run reports as it goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    StepStarted(StepId),
    /// A line of progress inside a step (a check passed, a container started, an attempt).
    StepProgress {
        step: StepId,
        msg: Msg,
    },
    StepDone {
        step: StepId,
        msg: Option<Msg>,
    },
    /// The step failed: the error says what, why and what to do; `logs` are the last lines of
    /// the container concerned, when there is one.
    StepFailed {
        step: StepId,
        error: Error,
        logs: Vec<String>,
    },
    /// Image pull progress, per image: bytes are summed over its layers.
    Pull {
        image: String,
        layers_done: u32,
        layers_total: u32,
        bytes_done: u64,
        bytes_total: u64,
        status: String,
    },
    /// A log line of a service while the install waits on it, for the log pane (secrets
    /// masked).
    Log {
        service: String,
        line: String,
    },
    /// The run's log file was opened (the install dir exists from now on).
    LogOpened(std::path::PathBuf),
    Warning(Msg),
}

/// Where events go. A channel sender, a printer and a test's `Vec` all implement it.
pub trait EventSink: Send + Sync {
    fn emit(&self, event: Event);
}

/// The health checks report through their own type; as an event, a line of theirs is the
/// progress of the step they serve.
impl From<crate::health::Progress> for Event {
    fn from(p: crate::health::Progress) -> Event {
        let step = match p.phase {
            crate::health::Phase::Readiness => StepId::Readiness,
            crate::health::Phase::ApiTest => StepId::ApiTest,
        };
        Event::StepProgress { step, msg: p.msg }
    }
}

impl<T: EventSink + ?Sized> crate::health::Reporter for T {
    fn report(&self, progress: crate::health::Progress) {
        self.emit(progress.into());
    }
}

impl EventSink for tokio::sync::mpsc::UnboundedSender<Event> {
    fn emit(&self, event: Event) {
        // The receiver gone means the front end quit; the run stops at its next await.
        let _ = self.send(event);
    }
}

/// Collects events, for tests.
#[derive(Default)]
pub struct Recorder(pub std::sync::Mutex<Vec<Event>>);

impl EventSink for Recorder {
    fn emit(&self, event: Event) {
        if let Ok(mut v) = self.0.lock() {
            v.push(event);
        }
    }
}

impl Recorder {
    pub fn events(&self) -> Vec<Event> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

/// A step's failure: the error, and the log lines of the container concerned.
pub(crate) struct StepError {
    pub(crate) error: Error,
    pub(crate) logs: Vec<String>,
}

impl From<Error> for StepError {
    fn from(error: Error) -> Self {
        StepError {
            error,
            logs: Vec::new(),
        }
    }
}

impl From<crate::engine::EngineError> for StepError {
    fn from(e: crate::engine::EngineError) -> Self {
        StepError::from(Error::from(e))
    }
}

impl From<crate::health::HealthError> for StepError {
    fn from(e: crate::health::HealthError) -> Self {
        StepError::from(Error::from(e))
    }
}

pub(crate) fn progress(sink: &dyn EventSink, step: StepId, msg: Msg) {
    sink.emit(Event::StepProgress { step, msg });
}

/// Emits `StepFailed` for a failed step and hands the error on. Container logs may echo a
/// secret (a database URL in a traceback): every value from `.env` is masked first.
pub(crate) fn failed<T>(
    secrets: &[String],
    sink: &dyn EventSink,
    step: StepId,
    r: std::result::Result<T, StepError>,
) -> Result<T> {
    r.map_err(|e| {
        let mut error = e.error;
        error.detail = error.detail.map(|d| crate::secrets::redact(&d, secrets));
        let logs = e.logs.iter().map(|l| crate::secrets::redact(l, secrets)).collect();
        sink.emit(Event::StepFailed {
            step,
            error: error.clone(),
            logs,
        });
        error
    })
}

pub mod backup;
// bluegreen:
pub(crate) mod bluegreen;
pub mod doctor;
pub mod down;
pub mod files;
pub mod guards;
pub mod helper;
pub mod images;
pub mod images_save;
pub mod install;
pub mod log;
pub mod logs;
pub mod metrics_key;
pub mod ownership;
pub mod preflight;
pub mod reconcile;
pub mod reload;
pub mod restore;
pub mod session;
pub mod start;
pub mod status;
pub mod supervise;
pub mod support_bundle;
pub mod testkey;
pub mod upgrade;
pub mod verify;
