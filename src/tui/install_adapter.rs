//! STAND-IN for the step runner (`steps::runner`) until it is in this build: writes the files
//! (steps A–D) through `Workspace::write` and emits their events; the engine steps are
//! reported as not run, never as done. Remove once the wizard calls the runner.

use crate::error::Result;
use crate::i18n::Msg as Text;
use crate::render::write::{ChangeKind, FileChange, kind_msg};
use crate::steps::{Event, EventSink, StepId};
use crate::workspace::Workspace;

fn files_of(step: StepId, changes: &[FileChange]) -> Vec<&FileChange> {
    changes
        .iter()
        .filter(|c| match step {
            StepId::Env => c.path == ".env",
            StepId::Config => c.path == "config.yaml",
            StepId::Compose => c.path != ".env" && c.path != "config.yaml",
            _ => false,
        })
        .collect()
}

fn summary(changes: &[&FileChange]) -> Text {
    let count = |k: ChangeKind| changes.iter().filter(|c| c.kind == k).count();
    Text::new("wizard.adapter.files_summary")
        .arg("create", count(ChangeKind::Create))
        .arg("update", count(ChangeKind::Update))
        .arg("unchanged", count(ChangeKind::Unchanged))
}

/// Writes the files only; the engine steps are skipped with the reason.
pub fn write_files_only(ws: &Workspace, sink: &dyn EventSink, stamp: &str) -> Result<()> {
    let not_run = || Text::new("wizard.adapter.engine_not_in_build");
    sink.emit(Event::StepSkipped {
        step: StepId::Preflight,
        reason: not_run(),
    });
    sink.emit(Event::StepStarted(StepId::Tree));
    let report = match ws.write(stamp) {
        Ok(r) => r,
        Err(error) => {
            sink.emit(Event::StepFailed {
                step: StepId::Tree,
                error: error.clone(),
                logs: Vec::new(),
            });
            return Err(error);
        }
    };
    sink.emit(Event::StepDone {
        step: StepId::Tree,
        msg: Some(Text::new("wizard.adapter.tree_done").arg("dir", ws.dir().display())),
    });
    for step in [StepId::Env, StepId::Config, StepId::Compose] {
        let files = files_of(step, &report.changes);
        for c in &files {
            tracing::info!("{} {}", kind_msg(c.kind).text(crate::i18n::Lang::En), c.path);
        }
        sink.emit(Event::StepDone {
            step,
            msg: Some(summary(&files)),
        });
    }
    for b in &report.backups {
        sink.emit(Event::Warning(Text::new("render.backup").arg("path", b)));
    }
    for step in [StepId::Images, StepId::Start, StepId::Readiness, StepId::ApiTest] {
        sink.emit(Event::StepSkipped {
            step,
            reason: not_run(),
        });
    }
    Ok(())
}
