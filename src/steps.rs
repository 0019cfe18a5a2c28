//! The SOP's steps (A–G, `sop/README.md`) as an explicit plan, and the events a run emits.
//! The wizard and the headless printer are two consumers of the same events; neither holds
//! install logic.

use serde::Serialize;

use crate::error::Error;
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
            StepId::Preflight | StepId::Images => None,
        }
    }

    /// The catalog key of the step's title (`step.<id>`).
    pub fn title(self) -> Msg {
        Msg::new(match self {
            StepId::Preflight => "step.preflight",
            StepId::Tree => "step.tree",
            StepId::Env => "step.env",
            StepId::Config => "step.config",
            StepId::Compose => "step.compose",
            StepId::Images => "step.images",
            StepId::Start => "step.start",
            StepId::Readiness => "step.readiness",
            StepId::ApiTest => "step.api_test",
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
    StepSkipped {
        step: StepId,
        reason: Msg,
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
    /// A log line of a service, for the log pane.
    Log {
        service: String,
        line: String,
    },
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

pub mod runner;
