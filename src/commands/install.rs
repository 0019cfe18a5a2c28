//! `install`, unattended: the answers turned into a run of the step session, its events printed
//! by the report printer as lines in the user's language or as JSON lines (`--json`). Ctrl-C
//! stops the run cleanly; a re-run continues.

use crate::cli::{InstallArgs, parse_duration};
use crate::error::{Error, Exit, Result};
use crate::i18n::Lang;
use crate::platform::Os;
use crate::report::Printer;
use crate::steps::install::InstallOptions;
use crate::steps::session;
use crate::workspace::{Workspace, load_answers, stamp_now};

/// The async runtime of a command. Two workers: the machines this runs on are small.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::failed(msg!("engine.runtime.failed")).detail(e))
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
        Error::input(msg!("engine.install.bad_timeout").arg("value", &args.timeout))
            .hint(msg!("engine.install.bad_timeout.hint"))
    })?;
    let ws = Workspace::prepare_for_write(answers, os, &|k| std::env::var(k).ok(), false)?;
    // An upgrade killed half-way is settled first: recreating from the answers' (old) images
    // could otherwise run the old version on the new version's migrations.
    super::upgrade::settle_unfinished_blocking(ws.dir(), os, deadline, printer)?;
    let opts = InstallOptions {
        readiness_deadline: deadline,
        images_file: args.images.clone(),
        backup_stamp: stamp_now(),
    };
    let finished = runtime()?.block_on(async {
        tokio::select! {
            f = session::install(&ws, &opts, printer) => Some(f),
            // Dropping the run is safe at any await: each object was created labelled in one
            // call, and a re-run picks up from what exists.
            _ = tokio::signal::ctrl_c() => None,
        }
    });
    let Some(finished) = finished else {
        return Err(session::interrupted());
    };
    match finished.result {
        Ok(report) => {
            let gateway = session::done_facts(&ws).gateway_url;
            printer.installed(&report, ws.dir(), &gateway);
            Ok(Exit::Ok)
        }
        Err(e) => {
            if let (Some(path), false) = (&finished.log_path, printer.json) {
                printer.note(&msg!("engine.install.log_file").arg("path", path.display()));
            }
            Err(e)
        }
    }
}
