//! The install's feed into the wizard's state: each step event moves the progress screen, the
//! end of the run opens the done or the failure screen. Pure, like `update`, which calls it.

use crate::error::Error;
use crate::report::progress::Shown;
use crate::steps::{Event, StepId};

use super::app::{App, DoneState, FailureState, InstallReport, LogLine, Overlay, PullRow, Screen, StepRow, StepState};

/// Lines of progress kept per step: the latest few tell where it is.
const STEP_LINES: usize = 3;

pub(super) fn on_event(app: &mut App, event: Event) {
    let p = &mut app.progress;
    match event {
        Event::StepStarted(id) => {
            // A step not in the list (an upgrade's rollback) is shown from its start.
            if p.row_mut(id).is_none() {
                p.steps.push(StepRow::pending(id));
            }
            if let Some(r) = p.row_mut(id) {
                r.state = StepState::Running;
                r.lines.clear();
            }
        }
        Event::StepProgress { step, msg } => {
            // Readiness: a line per change of state and a heartbeat, not every attempt.
            let msg = if step == StepId::Readiness {
                match p.readiness.filter(&msg, std::time::Instant::now()) {
                    Shown::Changed(m) | Shown::StillWaiting(m) => m,
                    Shown::Hidden => return,
                }
            } else {
                msg
            };
            p.push_log(LogLine::Step(msg.clone()));
            if let Some(r) = p.row_mut(step) {
                r.lines.push(msg);
                if r.lines.len() > STEP_LINES {
                    r.lines.remove(0);
                }
            }
        }
        Event::StepDone { step, msg } => {
            if let Some(m) = &msg {
                p.push_log(LogLine::Step(m.clone()));
            }
            if let Some(r) = p.row_mut(step) {
                r.state = StepState::Done;
                r.lines = msg.into_iter().collect();
            }
        }
        Event::StepFailed { step, error, logs } => {
            if let Some(r) = p.row_mut(step) {
                r.state = StepState::Failed;
                r.lines = vec![error.what.clone()];
            }
            let logs = if logs.is_empty() {
                p.last_service_lines(12)
            } else {
                logs
            };
            app.failure = Some(FailureState {
                step: Some(step),
                error,
                logs,
                log_path: p.log_path.clone(),
            });
        }
        Event::Pull {
            image,
            layers_done,
            layers_total,
            bytes_done,
            bytes_total,
            status,
        } => {
            let row = PullRow {
                image,
                layers_done,
                layers_total,
                bytes_done,
                bytes_total,
                status,
            };
            match p.pulls.iter_mut().find(|r| r.image == row.image) {
                Some(r) => *r = row,
                None => p.pulls.push(row),
            }
        }
        Event::Log { service, line } => {
            p.push_log(LogLine::Service { service, line });
        }
        // The runtime turns it into `Msg::LogOpened`; seen here only from a test's feed.
        Event::LogOpened(path) => p.log_path = Some(path),
        Event::Warning(msg) => {
            p.push_log(LogLine::Warning(msg.clone()));
            p.warnings.push(msg);
        }
    }
}

/// A port the install's own preflight found taken: its fix speaks of the answers file; in the
/// wizard the port is changed on screen 6, reached from the failure screen through the review.
/// Used where the wizard shows the error; what is printed after it ends keeps the original.
pub(crate) fn in_wizard_terms(mut error: Error, os: crate::platform::Os) -> Error {
    let port = error.what.args.iter().find_map(|(n, v)| match v {
        crate::i18n::Arg::Text(t) if *n == "port" => Some(t.clone()),
        _ => None,
    });
    match (error.what.key, port) {
        ("engine.preflight.port_taken", Some(port)) => {
            let cmd = port
                .parse()
                .map(|p| crate::steps::preflight::port_owner_command(os.shell(), p))
                .unwrap_or_default();
            error.hint = Some(msg!("newcomer.failed.port_taken").arg("cmd", cmd));
        }
        ("engine.preflight.port_container" | "engine.preflight.addr_unavailable", Some(_)) => {
            error.hint = Some(msg!("newcomer.failed.port_other"));
        }
        _ => {}
    }
    error
}

pub(super) fn on_finished(app: &mut App, result: Result<InstallReport, Error>) {
    match result {
        Ok(mut report) => {
            if report.log_path.is_none() {
                report.log_path = app.progress.log_path.clone();
            }
            app.done = Some(DoneState {
                report,
                key_revealed: false,
                scroll: 0,
            });
            app.failure = None;
            app.screen = Screen::Done;
        }
        Err(error) => {
            let log_path = app.progress.log_path.clone();
            let failure = match app.failure.take() {
                Some(mut f) => {
                    f.log_path = log_path;
                    f
                }
                None => FailureState {
                    step: app.progress.current().map(|r| r.id),
                    error,
                    logs: app.progress.last_service_lines(12),
                    log_path,
                },
            };
            app.failure = Some(failure);
            app.screen = Screen::Failed;
        }
    }
    app.overlay = app.overlay.filter(|o| *o == Overlay::Help);
}
