//! A run as every front end starts it: the secrets registered with the log, the engine
//! connected (exit 3 when none answers), the plan run with its events logged and forwarded, and
//! the log file opened in the install dir once the run has made that dir (a run stopped by its
//! preflight leaves nothing behind). The wizard and `commands/install.rs` both call [`install`];
//! neither connects, logs or orders steps itself.

use std::path::PathBuf;
use std::sync::Mutex;

use super::install::{InstallOptions, InstallReport, run_install};
use super::{Event, EventSink, StepId};
use crate::error::{Error, Result};
use crate::health::Endpoints;
use crate::howto::{HandCheck, hand_checks};
use crate::i18n::Lang;
use crate::secrets::Secret;
use crate::workspace::Workspace;

/// What a finished install leaves for the done screen or the final report.
#[derive(Debug)]
pub struct Finished {
    pub result: Result<InstallReport>,
    /// The run's log file, when the run got as far as making the install dir.
    pub log_path: Option<PathBuf>,
}

/// Logs every event, opens the log file once the install dir exists, and forwards.
struct Logged<'a> {
    inner: &'a dyn EventSink,
    ws: &'a Workspace,
    stamp: &'a str,
    log_path: Mutex<Option<PathBuf>>,
}

impl EventSink for Logged<'_> {
    fn emit(&self, event: Event) {
        super::log::log_event(&event);
        let dir_made = matches!(event, Event::StepDone { step: StepId::Tree, .. });
        self.inner.emit(event);
        if dir_made {
            self.open_log();
        }
    }
}

impl Logged<'_> {
    fn open_log(&self) {
        let Ok(mut slot) = self.log_path.lock() else {
            return;
        };
        if slot.is_some() {
            return;
        }
        match crate::logging::open_file(self.ws.dir(), self.stamp) {
            Ok(path) => {
                *slot = Some(path.clone());
                self.inner.emit(Event::LogOpened(path));
            }
            Err(e) => self.inner.emit(Event::Warning(
                msg!("wizard.warn.no_log_file").arg("error", e.render(Lang::En)),
            )),
        }
    }
}

/// Starts the log (in memory until the install dir exists). Idempotent.
pub fn init_logging() {
    crate::logging::init();
}

/// Registers the secrets of `ws` with the log, so that no line of it can show them.
pub fn register_secrets(ws: &Workspace) {
    crate::logging::init();
    crate::logging::add_secrets(ws.dotenv.secret_values());
}

/// Connects to the engine and runs the install plan, reporting to `sink`. Dropping the future
/// (Ctrl-C) is safe at any await; a re-run continues from what exists.
pub async fn install(ws: &Workspace, opts: &InstallOptions, sink: &dyn EventSink) -> Finished {
    register_secrets(ws);
    tracing::info!("install into {}", ws.dir().display());
    let logged = Logged {
        inner: sink,
        ws,
        stamp: &opts.backup_stamp,
        log_path: Mutex::new(None),
    };
    let result = connect_and_run(ws, opts, &logged).await;
    if let Err(e) = &result {
        tracing::error!("install failed: {}", e.render(Lang::En));
    }
    let log_path = logged.log_path.lock().ok().and_then(|p| p.clone());
    Finished { result, log_path }
}

async fn connect_and_run(ws: &Workspace, opts: &InstallOptions, sink: &dyn EventSink) -> Result<InstallReport> {
    // Connecting is the first thing the preflight step waits on.
    sink.emit(Event::StepStarted(StepId::Preflight));
    let engine = match crate::engine::connect().await {
        Ok(engine) => engine,
        Err(error) => {
            let error = Error::from(error);
            sink.emit(Event::StepFailed {
                step: StepId::Preflight,
                error: error.clone(),
                logs: Vec::new(),
            });
            return Err(error);
        }
    };
    run_install(ws, opts, &engine, sink).await
}

/// Connects to the engine for a day-2 command: exit 3 with the fix when none answers.
pub async fn connect() -> Result<crate::engine::DockerEngine> {
    Ok(crate::engine::connect().await?)
}

/// What the done screen and the final report tell about an install, from its answers.
#[derive(Debug, Clone)]
pub struct DoneFacts {
    /// The URL clients use.
    pub gateway_url: String,
    /// The checks a person can paste, in the shell of the install's OS.
    pub hand_checks: Vec<HandCheck>,
    /// nginx listens on more than loopback: other machines can use the gateway.
    pub reachable_from_network: bool,
    pub master_key: Secret,
}

pub fn done_facts(ws: &Workspace) -> DoneFacts {
    let a = &ws.answers;
    let endpoints = Endpoints::from_answers(a);
    DoneFacts {
        gateway_url: endpoints.client_base().unwrap_or_default().to_string(),
        hand_checks: hand_checks(&endpoints, ws.os.shell(), ws.dir(), a.smoke_test_model),
        reachable_from_network: a.services.nginx && a.bind.nginx != "127.0.0.1",
        master_key: ws.dotenv.get("LITELLM_MASTER_KEY").cloned().unwrap_or_default(),
    }
}

/// The error a run stopped by Ctrl-C ends with.
pub fn interrupted() -> Error {
    Error::interrupted(msg!("engine.install.interrupted")).hint(msg!("engine.install.interrupted.hint"))
}
