//! The one printer of the headless commands: every event, warning, error and final result
//! goes through [`Printer`], as text lines in the user's language or as JSON lines
//! (`--json`, schema in `docs/events.schema.json`). Commands decide what happened; this module
//! decides how it looks. `text` and `json` are pure (event in, lines out) so tests read them.

pub mod day2;
pub mod doctor;
pub mod json;
pub mod progress;
pub mod table;
pub mod text;

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::error::Error;
use crate::howto::HandCheck;
use crate::i18n::{Lang, Msg};
use crate::platform::Shell;
use crate::steps::install::InstallReport;
use crate::steps::{Event, EventSink};

/// How step events look as text. JSON lines are the same in both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StepStyle {
    /// A plan run in order (`install`): `[3/9] title`, a tick per finished step, a cross and the
    /// error for a failed one.
    #[default]
    Numbered,
    /// A few checks (`verify`): the title alone, progress under it, the error alone.
    Checks,
}

/// Where a text line goes: results on stdout; warnings and errors on stderr, so that a
/// redirected stdout keeps only what the command produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Out,
    Err,
}

/// One line of text output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub stream: Stream,
    pub text: String,
}

impl Line {
    pub fn out(text: impl Into<String>) -> Line {
        Line {
            stream: Stream::Out,
            text: text.into(),
        }
    }
    pub fn err(text: impl Into<String>) -> Line {
        Line {
            stream: Stream::Err,
            text: text.into(),
        }
    }
}

pub use crate::steps::verify::Verified;

/// The printer of one command run. Emitting events to it prints them.
#[derive(Debug)]
pub struct Printer {
    pub lang: Lang,
    pub json: bool,
    pub style: StepStyle,
    /// A failure (a `StepFailed` event or an error) was printed: the command's error needs no
    /// second printing.
    failure_printed: AtomicBool,
    /// Readiness as text: a line per change of state and a heartbeat (`progress`).
    readiness: std::sync::Mutex<progress::ReadinessLines>,
}

impl Printer {
    pub fn new(lang: Lang, json: bool) -> Printer {
        Printer {
            lang,
            json,
            style: StepStyle::default(),
            failure_printed: AtomicBool::new(false),
            readiness: std::sync::Mutex::new(progress::ReadinessLines::default()),
        }
    }

    pub fn with_style(mut self, style: StepStyle) -> Printer {
        self.style = style;
        self
    }

    /// A line of text on stdout, as is.
    pub fn line(&self, s: &str) {
        let _ = writeln!(std::io::stdout().lock(), "{s}");
    }

    /// A JSON value on one stdout line.
    pub fn json_value(&self, v: &serde_json::Value) {
        self.line(&v.to_string());
    }

    /// A line of text on stderr (a note beside the output: where the log file is).
    pub fn note(&self, m: &Msg) {
        self.write(&[Line::err(m.text(self.lang))]);
    }

    /// A warning: `Warning: …` on stderr, or a `warning` event.
    pub fn warn(&self, m: &Msg) {
        self.emit(Event::Warning(m.clone()));
    }

    /// An error that no `StepFailed` event carried (bad flags, answers, no engine): `Error: …`
    /// on stderr, or a `step_failed` event without a step.
    pub fn error(&self, e: &Error) {
        self.failure_printed.store(true, Ordering::SeqCst);
        if self.json {
            self.json_value(&json::error(None, e, &[], self.lang));
        } else {
            self.write(&text::error(e, self.lang));
        }
    }

    /// `error`, unless this run already printed its failure.
    pub fn error_once(&self, e: &Error) {
        if !self.failure_printed() {
            self.error(e);
        }
    }

    pub fn failure_printed(&self) -> bool {
        self.failure_printed.load(Ordering::SeqCst)
    }

    /// `install`'s final result: the `done` event, or where the gateway is and the key.
    pub fn installed(&self, r: &InstallReport, dir: &Path, gateway: &str) {
        if self.json {
            self.json_value(&json::installed(r, dir, gateway, self.lang));
        } else {
            self.write(&text::installed(r, dir, gateway, self.lang));
        }
    }

    /// `verify`'s final result, with the checks to repeat by hand. As text, the result comes
    /// first; as JSON, the `verified` object is the last line, as every final result is.
    pub fn verified(&self, v: &Verified, shell: Shell, checks: &[HandCheck]) {
        if self.json {
            self.json_value(&json::hand_checks(shell, checks, self.lang));
            self.json_value(&json::verified(v, self.lang));
        } else {
            self.write(&text::verified(v, self.lang));
            self.write(&text::hand_checks(shell, checks, self.lang));
        }
    }

    /// The checks to repeat by hand: the `hand_checks` event, or the commands under a title.
    pub fn hand_checks(&self, shell: Shell, checks: &[HandCheck]) {
        if self.json {
            self.json_value(&json::hand_checks(shell, checks, self.lang));
        } else {
            self.write(&text::hand_checks(shell, checks, self.lang));
        }
    }

    fn write(&self, lines: &[Line]) {
        for l in lines {
            let _ = match l.stream {
                Stream::Out => writeln!(std::io::stdout().lock(), "{}", l.text),
                Stream::Err => writeln!(std::io::stderr().lock(), "{}", l.text),
            };
        }
    }
}

impl EventSink for Printer {
    fn emit(&self, event: Event) {
        if matches!(event, Event::StepFailed { .. }) {
            self.failure_printed.store(true, Ordering::SeqCst);
        }
        if self.json {
            self.json_value(&json::event(&event, self.lang));
            return;
        }
        // Every attempt is in the log file and the JSON lines; the text shows what changes.
        let event = match event {
            Event::StepProgress {
                step: crate::steps::StepId::Readiness,
                msg,
            } => {
                let shown = match self.readiness.lock() {
                    Ok(mut r) => r.filter(&msg, std::time::Instant::now()),
                    Err(_) => progress::Shown::Changed(msg),
                };
                match shown {
                    progress::Shown::Changed(msg) | progress::Shown::StillWaiting(msg) => Event::StepProgress {
                        step: crate::steps::StepId::Readiness,
                        msg,
                    },
                    progress::Shown::Hidden => return,
                }
            }
            other => other,
        };
        self.write(&text::event(&event, self.lang, self.style));
    }
}

pub use crate::i18n::human_duration;

/// Milliseconds for JSON, saturating.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
