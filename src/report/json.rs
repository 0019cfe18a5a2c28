//! Events and results as JSON lines: the schema of `docs/events.schema.json`. Every line is
//! one object whose `event` names what it is. Every localized text sits beside the catalog
//! key it came from (`code`, `hint_code`), which stays the same across languages and releases;
//! scripts match on `event`, `step` and the codes, never on the text.

use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::{Verified, millis, text};
use crate::error::Error;
use crate::howto::HandCheck;
use crate::i18n::{Lang, Msg};
use crate::platform::Shell;
use crate::steps::install::InstallReport;
use crate::steps::{Event, StepId};

/// A message as JSON: its catalog key and its text.
#[derive(Debug, Serialize)]
struct Coded {
    code: &'static str,
    message: String,
}

impl Coded {
    fn new(m: &Msg, lang: Lang) -> Coded {
        Coded {
            code: m.key,
            message: m.text(lang),
        }
    }
}

/// The lines of the schema, one variant per `event` name.
#[derive(Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum JsonLine<'a> {
    StepStarted {
        step: StepId,
        code: &'static str,
        title: String,
    },
    StepProgress {
        step: StepId,
        #[serde(flatten)]
        message: Coded,
    },
    StepDone {
        step: StepId,
        code: Option<&'static str>,
        message: Option<String>,
    },
    StepFailed {
        /// `null`: the command failed before or outside its steps (flags, answers).
        step: Option<StepId>,
        exit: i32,
        code: &'static str,
        error: String,
        /// Text from elsewhere (the engine, a parser), not translated.
        detail: Option<&'a str>,
        hint_code: Option<&'static str>,
        hint: Option<String>,
        logs: &'a [String],
    },
    Pull {
        image: &'a str,
        layers_done: u32,
        layers_total: u32,
        bytes_done: u64,
        bytes_total: u64,
        status: &'a str,
    },
    Log {
        service: &'a str,
        line: &'a str,
    },
    LogOpened {
        path: &'a std::path::Path,
    },
    Warning {
        #[serde(flatten)]
        message: Coded,
    },
    HandChecks {
        shell: &'static str,
        checks: Vec<HandCheckLine<'a>>,
    },
}

#[derive(Debug, Serialize)]
struct HandCheckLine<'a> {
    code: &'static str,
    what: String,
    command: &'a str,
}

fn to_value(line: &impl Serialize) -> Value {
    // These types serialize infallibly (strings, numbers, options): no map with non-string keys.
    serde_json::to_value(line).unwrap_or_default()
}

/// One event as its JSON line.
pub fn event(event: &Event, lang: Lang) -> Value {
    let line = match event {
        Event::StepStarted(s) => JsonLine::StepStarted {
            step: *s,
            code: s.title().key,
            title: s.title().text(lang),
        },
        Event::StepProgress { step, msg } => JsonLine::StepProgress {
            step: *step,
            message: Coded::new(msg, lang),
        },
        Event::StepDone { step, msg } => JsonLine::StepDone {
            step: *step,
            code: msg.as_ref().map(|m| m.key),
            message: msg.as_ref().map(|m| m.text(lang)),
        },
        Event::StepFailed { step, error: e, logs } => return error(Some(*step), e, logs, lang),
        Event::Pull {
            image,
            layers_done,
            layers_total,
            bytes_done,
            bytes_total,
            status,
        } => JsonLine::Pull {
            image,
            layers_done: *layers_done,
            layers_total: *layers_total,
            bytes_done: *bytes_done,
            bytes_total: *bytes_total,
            status,
        },
        Event::Log { service, line } => JsonLine::Log { service, line },
        Event::LogOpened(path) => JsonLine::LogOpened { path },
        Event::Warning(m) => JsonLine::Warning {
            message: Coded::new(m, lang),
        },
    };
    to_value(&line)
}

/// A failure as a `step_failed` line; `step` is `None` for one outside the steps.
pub fn error(step: Option<StepId>, e: &Error, logs: &[String], lang: Lang) -> Value {
    to_value(&JsonLine::StepFailed {
        step,
        exit: e.exit.code(),
        code: e.what.key,
        error: e.what.text(lang),
        detail: e.detail.as_deref(),
        hint_code: e.hint.as_ref().map(|h| h.key),
        hint: e.hint.as_ref().map(|h| h.text(lang)),
        logs,
    })
}

/// The checks to repeat by hand, in the user's shell.
pub fn hand_checks(shell: Shell, checks: &[HandCheck], lang: Lang) -> Value {
    to_value(&JsonLine::HandChecks {
        shell: text::shell_name(shell),
        checks: checks
            .iter()
            .map(|c| HandCheckLine {
                code: c.what.key,
                what: c.what.text(lang),
                command: &c.command,
            })
            .collect(),
    })
}

/// `install`'s final result: the `done` line.
pub fn installed(r: &InstallReport, dir: &Path, gateway: &str, lang: Lang) -> Value {
    let summary = Coded::new(&text::installed_msg(r, gateway), lang);
    serde_json::json!({
        "event": "done",
        "code": summary.code,
        "message": summary.message,
        "up_to_date": r.up_to_date(),
        "gateway": gateway,
        "dir": dir,
        "engine": {"endpoint": r.engine.endpoint, "version": r.engine.version, "api": r.engine.api_version},
        "files_changed": r.files_changed,
        "images_pulled": r.images_pulled,
        "services": r.services,
        "ready_after_ms": millis(r.ready.elapsed),
        "elapsed_ms": millis(r.elapsed),
        "models": r.api.models,
        "timeline": r.timeline.iter().map(|m| serde_json::json!({
            "at_ms": millis(m.at),
            "kind": m.kind,
            "name": m.name,
        })).collect::<Vec<_>>(),
    })
}

/// `verify`'s final result: the `verified` line.
pub fn verified(v: &Verified, lang: Lang) -> Value {
    let summary = Coded::new(&text::verified_msg(v), lang);
    serde_json::json!({
        "event": "verified",
        "code": summary.code,
        "message": summary.message,
        "elapsed_ms": millis(v.elapsed),
        "attempts": v.attempts,
        "proxy_version": v.proxy_version,
        "cache": v.cache,
        "models": v.models,
        "db_models": v.db_models,
        "virtual_key": v.virtual_key,
        "smoke_answer": v.smoke_answer,
        "streamed_chunks": v.streamed_chunks,
        "metrics_protected": v.metrics_protected,
        "prometheus_target_up": v.prometheus_target_up,
        "warnings": v.warnings.iter().map(|w| Coded::new(w, lang)).collect::<Vec<_>>(),
    })
}
