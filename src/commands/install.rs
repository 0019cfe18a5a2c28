//! `install`, unattended: runs the step plan and prints its events, as lines in the user's
//! language or as JSON lines (`--json`). Ctrl-C stops the run cleanly; a re-run continues.

use crate::cli::{InstallArgs, parse_duration};
use crate::engine;
use crate::error::{Error, Exit, Result};
use crate::health::Endpoints;
use crate::i18n::{Lang, Msg};
use crate::platform::Os;
use crate::report::Printer;
use crate::steps::runner::{InstallOptions, run_install};
use crate::steps::{Event, EventSink};
use crate::workspace::{Workspace, load_answers, stamp_now};

/// The async runtime of a command. Two workers: the machines this runs on are small.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::failed(Msg::new("engine.runtime.failed")).detail(e))
}

/// Every event goes to the log file as well as to the printer.
struct Logged<'a>(&'a Printer);

impl EventSink for Logged<'_> {
    fn emit(&self, event: Event) {
        crate::logging::log_event(&event);
        self.0.emit(event);
    }
}

pub fn run(lang: Lang, args: &InstallArgs) -> Result<Exit> {
    let printer = Printer::new(lang, args.json);
    match install(&printer, args) {
        Ok(exit) => Ok(exit),
        Err(e) => {
            printer.error_once(&e);
            Ok(e.exit)
        }
    }
}

fn install(printer: &Printer, args: &InstallArgs) -> Result<Exit> {
    let os = Os::current();
    let answers = load_answers(args.target.answers.as_deref(), args.target.dir.as_deref(), os)?;
    let deadline = parse_duration(&args.timeout).ok_or_else(|| {
        Error::input(Msg::new("engine.install.bad_timeout").arg("value", &args.timeout))
            .hint(Msg::new("engine.install.bad_timeout.hint"))
    })?;
    let ws = Workspace::prepare(answers, os, &|k| std::env::var(k).ok())?;
    let opts = InstallOptions {
        readiness_deadline: deadline,
        images_file: args.images.clone(),
        backup_stamp: stamp_now(),
    };
    crate::logging::init();
    crate::logging::add_secrets(ws.dotenv.secret_values());
    tracing::info!("unattended install into {}", ws.dir().display());
    let result = run_logged(printer, &ws, &opts);
    // The log goes into the install dir only once the run has written there: a run stopped by
    // its preflight leaves nothing behind.
    if ws.dir().join(".env").exists() {
        match crate::logging::open_file(ws.dir(), &opts.backup_stamp) {
            Ok(path) if result.is_err() && !printer.json => {
                printer.note(&Msg::new("engine.install.log_file").arg("path", path.display()))
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("no log file: {}", e.render(Lang::En)),
        }
    }
    result
}

fn run_logged(printer: &Printer, ws: &Workspace, opts: &InstallOptions) -> Result<Exit> {
    runtime()?.block_on(async {
        let engine = engine::connect().await?;
        let sink = Logged(printer);
        tokio::select! {
            r = run_install(ws, opts, &engine, &sink) => {
                let report = r?;
                let gateway = Endpoints::from_answers(&ws.answers).client_base().unwrap_or_default().to_string();
                printer.installed(&report, ws.dir(), &gateway);
                Ok(Exit::Ok)
            }
            _ = tokio::signal::ctrl_c() => {
                // Dropping the run is safe at any await: each object was created labelled in one
                // call, and a re-run picks up from what exists.
                let e = Error::failed(Msg::new("engine.install.interrupted"))
                    .hint(Msg::new("engine.install.interrupted.hint"));
                Err(e)
            }
        }
    })
}
