//! Steps A–D: the tree and the files, through one `Workspace::write` (unchanged files are not
//! touched, changed ones are backed up first), reported per step by the files each step owns.

use super::install::InstallOptions;
use super::{Event, EventSink, StepError, StepId, failed, progress};
use crate::error::Result;
use crate::render::write::{ChangeKind, kind_msg};
use crate::workspace::{Workspace, WriteReport};

pub(crate) fn write_files(
    ws: &Workspace,
    opts: &InstallOptions,
    sink: &dyn EventSink,
    secrets: &[String],
) -> Result<Vec<String>> {
    sink.emit(Event::StepStarted(StepId::Tree));
    let report: WriteReport = failed(
        secrets,
        sink,
        StepId::Tree,
        ws.write(&opts.backup_stamp).map_err(StepError::from),
    )?;
    sink.emit(Event::StepDone {
        step: StepId::Tree,
        msg: Some(msg!("engine.files.tree").arg("dir", ws.dir().display())),
    });
    let owner = |path: &str| match path {
        ".env" => StepId::Env,
        "config.yaml" => StepId::Config,
        _ => StepId::Compose,
    };
    for step in [StepId::Env, StepId::Config, StepId::Compose] {
        sink.emit(Event::StepStarted(step));
        if step == StepId::Env && ws.env_had_crlf {
            sink.emit(Event::Warning(msg!("warn.env_crlf")));
        }
        // The owner-only ACL of `.env` could not be set (Windows): said, not printed aside.
        if step == StepId::Env {
            for w in &report.warnings {
                sink.emit(Event::Warning(w.clone()));
            }
        }
        for c in report.changes.iter().filter(|c| owner(&c.path) == step) {
            progress(
                sink,
                step,
                msg!("engine.files.change")
                    .nested("kind", kind_msg(c.kind))
                    .arg("path", &c.path),
            );
            let backup_prefix = format!("backups/files/{}.", c.path.replace('/', "_"));
            for b in report.backups.iter().filter(|b| b.starts_with(&backup_prefix)) {
                progress(sink, step, msg!("render.backup").arg("path", b));
            }
        }
        sink.emit(Event::StepDone { step, msg: None });
    }
    Ok(report
        .changes
        .iter()
        .filter(|c| c.kind != ChangeKind::Unchanged)
        .map(|c| c.path.clone())
        .collect())
}
