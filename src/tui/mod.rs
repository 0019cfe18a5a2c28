//! The guided wizard: ratatui + crossterm, The Elm Architecture. `App` is the state,
//! `update` the only thing that changes it, `view` draws it (one file per screen), and
//! `runtime` ties them to the terminal and to the install's events. crossterm stays in here.

pub mod answers_form;
pub mod app;
mod checks_flow;
mod directory_flow;
pub(crate) mod feed;
pub mod forms;
pub mod input;
pub mod runtime;
pub mod terminal;
pub mod update;
pub mod view;

pub use app::{App, Screen};
pub use input::Key;
pub use runtime::{Effects, Inbox, SystemEffects, run_app};
pub use update::{Cmd, Msg, update};
pub use view::view;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::cli::InstallArgs;
use crate::error::{Error, Exit, Result};
use crate::i18n::Lang;
use crate::platform::Os;
use crate::workspace::load_answers;

use app::Ending;

/// How often the running step's spinner moves.
const TICK: Duration = Duration::from_millis(120);

/// Runs the wizard on this terminal; returns the exit status once the user leaves it.
pub fn run(lang: Lang, args: &InstallArgs) -> Result<Exit> {
    let os = Os::current();
    let base = load_answers(args.target.answers.as_deref(), args.target.dir.as_deref(), os)?;
    // `litellm-stack` alone comes with no `--timeout`: the install's default then.
    let readiness_deadline = if args.timeout.trim().is_empty() {
        runtime::InstallSettings::default().readiness_deadline
    } else {
        crate::cli::parse_duration(&args.timeout).ok_or_else(|| {
            Error::input(msg!("engine.install.bad_timeout").arg("value", &args.timeout))
                .hint(msg!("engine.install.bad_timeout.hint"))
        })?
    };
    let settings = runtime::InstallSettings {
        readiness_deadline,
        images_file: args.images.clone(),
    };
    let info = runtime::inspect_dir(&base.dir);
    let mut app = App::new(lang, os, base, Some(info));
    app.program = crate::howto::program_name();
    crate::steps::session::init_logging();
    tracing::info!(
        "wizard started ({} {})",
        env!("CARGO_PKG_NAME"),
        env!("CARGO_PKG_VERSION")
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::environment(msg!("wizard.error.runtime")).detail(e))?;
    let stop = Arc::new(AtomicBool::new(false));
    let result = rt.block_on(async {
        let (mut inbox, tx, feed) = Inbox::new();
        let mut guard = terminal::TerminalGuard::enter()?;
        if let Ok(size) = guard.terminal.size() {
            let _ = tx.send(Msg::Resize(size.width, size.height));
        }
        terminal::spawn_input_thread(tx.clone(), stop.clone());
        let ticker = tx.clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(TICK);
            loop {
                interval.tick().await;
                if ticker.send(Msg::Tick).is_err() {
                    break;
                }
            }
        });
        spawn_signal_watch(tx.clone());
        let mut effects = SystemEffects::new(tx, feed, os).with_install_settings(settings);
        let r = run_app(&mut guard.terminal, &mut app, &mut inbox, &mut effects).await;
        drop(guard);
        r
    });
    stop.store(true, Ordering::Relaxed);
    // A quit during the install leaves its task behind; what it created stays for a re-run.
    rt.shutdown_background();
    result?;
    Ok(after_exit(&app))
}

/// A `kill` (SIGTERM) or a closed terminal (SIGHUP) ends the wizard with the screen restored.
fn spawn_signal_watch(tx: tokio::sync::mpsc::UnboundedSender<Msg>) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut hup)) = (signal(SignalKind::terminate()), signal(SignalKind::hangup())) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = hup.recv() => {}
        }
        let _ = tx.send(Msg::Terminate);
    });
    #[cfg(not(unix))]
    let _ = tx;
}

/// After the screen is restored: what happened, in plain lines the user can copy; every
/// command carries the install's `--dir` when it is not the default.
fn after_exit(app: &App) -> Exit {
    let p = crate::report::Printer::new(app.lang, false);
    let lang = app.lang;
    match app.ending {
        Some(Ending::Done) => {
            if let Some(done) = &app.done {
                let r = &done.report;
                p.line(&msg!("wizard.after.gateway").arg("url", &r.gateway_url).text(lang));
                p.line(
                    &msg!("wizard.after.key_where")
                        .arg("path", r.dir.join(".env").display())
                        .text(lang),
                );
                p.line(
                    &msg!("wizard.after.checks")
                        .arg("shell", view::done_shell_name(r.os))
                        .text(lang),
                );
                for l in view::done_check_lines(&r.hand_checks, lang) {
                    p.line(&l);
                }
                for l in view::done_follow_up_lines(app, r) {
                    p.line(&l);
                }
                if let Some(log) = &r.log_path {
                    p.line(&msg!("wizard.failed.log_file").arg("path", log.display()).text(lang));
                }
            }
            Exit::Ok
        }
        Some(Ending::Failed) => match &app.failure {
            Some(f) => {
                p.error(&f.error);
                if let Some(log) = &f.log_path {
                    p.line(&msg!("wizard.failed.log_file").arg("path", log.display()).text(lang));
                }
                if let Some(next) = view::failed::next_steps(app) {
                    p.line(&next);
                }
                f.error.exit
            }
            None => Exit::Failed,
        },
        Some(Ending::QuitDuringInstall) => {
            p.line(
                &msg!("newcomer.after.quit_during_install")
                    .arg("cmd", app.follow_up("install"))
                    .text(lang),
            );
            Exit::Interrupted
        }
        // The checklist found what keeps the install from running: said again, with its
        // exit status (3: the environment is not ready).
        Some(Ending::QuitAfterFailedCheck) => {
            let errors: Vec<_> = app.preflight.checks.iter().filter_map(|c| c.as_error()).collect();
            for e in &errors {
                p.error(e);
            }
            p.line(
                &msg!("newcomer.after.quit_after_failed_check")
                    .arg("cmd", app.follow_up("install"))
                    .text(lang),
            );
            errors.first().map_or(Exit::Environment, |e| e.exit)
        }
        Some(Ending::QuitBeforeStart) | None => {
            p.line(
                &msg!("newcomer.after.quit_before_start")
                    .arg("cmd", app.follow_up("install"))
                    .text(lang),
            );
            Exit::Ok
        }
    }
}
