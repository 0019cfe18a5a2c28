//! `install`, unattended: runs the step plan and prints its events, as lines in the user's
//! language or as JSON lines (`--json`). Ctrl-C stops the run cleanly; a re-run continues.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;

use crate::cli::{InstallArgs, parse_duration};
use crate::engine;
use crate::error::{Error, Exit, Result};
use crate::health::{Endpoints, human_duration};
use crate::i18n::{Lang, Msg};
use crate::platform::Os;
use crate::steps::runner::{InstallOptions, InstallReport, run_install};
use crate::steps::{Event, EventSink, StepId};
use crate::workspace::{Workspace, load_answers, stamp_now};

/// The async runtime of a command. Two workers: the machines this runs on are small.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::failed(Msg::new("engine.runtime.failed")).detail(e))
}

/// Prints events as they come: text lines (errors and warnings on stderr) or JSON lines.
pub struct EventPrinter {
    pub lang: Lang,
    pub json: bool,
    /// A `StepFailed` was printed: the command's error needs no second printing.
    pub failure_printed: AtomicBool,
}

fn step_number(step: StepId) -> usize {
    StepId::ALL.iter().position(|s| *s == step).map_or(0, |i| i + 1)
}

fn step_key(step: StepId) -> serde_json::Value {
    serde_json::to_value(step).unwrap_or_default()
}

fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1u64 << 20) as f64)
}

impl EventPrinter {
    pub fn new(lang: Lang, json: bool) -> EventPrinter {
        EventPrinter {
            lang,
            json,
            failure_printed: AtomicBool::new(false),
        }
    }

    fn out(&self, line: &str) {
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    }

    fn err(&self, line: &str) {
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }

    fn text(&self, m: &Msg) -> String {
        m.text(self.lang)
    }

    /// An error that no `StepFailed` event carried (connecting, bad flags).
    pub fn error(&self, e: &Error) {
        if self.json {
            self.out(&error_json(None, e, &[], self.lang).to_string());
        } else {
            self.err(&format!(
                "{}{}",
                Msg::new("label.error").text(self.lang),
                e.render(self.lang)
            ));
        }
    }

    pub fn json_line(&self, v: serde_json::Value) {
        self.out(&v.to_string());
    }
}

fn error_json(step: Option<StepId>, e: &Error, logs: &[String], lang: Lang) -> serde_json::Value {
    json!({
        "event": "step_failed",
        "step": step.map(step_key),
        "exit": e.exit.code(),
        "error": e.what.text(lang),
        "detail": e.detail,
        "hint": e.hint.as_ref().map(|h| h.text(lang)),
        "logs": logs,
    })
}

impl EventSink for EventPrinter {
    fn emit(&self, event: Event) {
        crate::steps::log::log_event(&event);
        let lang = self.lang;
        if self.json {
            let v = match &event {
                Event::StepStarted(s) => {
                    json!({"event": "step_started", "step": step_key(*s), "title": self.text(&s.title())})
                }
                Event::StepProgress { step, msg } => {
                    json!({"event": "step_progress", "step": step_key(*step), "message": self.text(msg)})
                }
                Event::StepDone { step, msg } => json!({
                    "event": "step_done", "step": step_key(*step),
                    "message": msg.as_ref().map(|m| self.text(m)),
                }),
                Event::StepSkipped { step, reason } => {
                    json!({"event": "step_skipped", "step": step_key(*step), "reason": self.text(reason)})
                }
                Event::StepFailed { step, error, logs } => {
                    self.failure_printed.store(true, Ordering::SeqCst);
                    error_json(Some(*step), error, logs, lang)
                }
                Event::Pull {
                    image,
                    layers_done,
                    layers_total,
                    bytes_done,
                    bytes_total,
                    status,
                } => json!({
                    "event": "pull", "image": image, "layers_done": layers_done, "layers_total": layers_total,
                    "bytes_done": bytes_done, "bytes_total": bytes_total, "status": status,
                }),
                Event::Log { service, line } => json!({"event": "log", "service": service, "line": line}),
                Event::Warning(m) => json!({"event": "warning", "message": self.text(m)}),
            };
            self.out(&v.to_string());
            return;
        }
        match &event {
            Event::StepStarted(s) => self.out(&format!(
                "[{}/{}] {}",
                step_number(*s),
                StepId::ALL.len(),
                self.text(&s.title())
            )),
            Event::StepProgress { msg, .. } => self.out(&format!("      {}", self.text(msg))),
            Event::StepDone { msg, .. } => {
                let m = msg.clone().unwrap_or_else(|| Msg::new("engine.print.done"));
                self.out(&format!("    ✓ {}", self.text(&m)));
            }
            Event::StepSkipped { reason, .. } => self.out(&format!("    - {}", self.text(reason))),
            Event::StepFailed { step, error, logs } => {
                self.failure_printed.store(true, Ordering::SeqCst);
                self.err(&format!(
                    "    ✗ {}",
                    Msg::new("engine.print.step_failed")
                        .nested("step", step.title())
                        .text(lang)
                ));
                self.err(&format!("{}{}", Msg::new("label.error").text(lang), error.render(lang)));
                if !logs.is_empty() {
                    self.err(&Msg::new("engine.print.logs").arg("count", logs.len()).text(lang));
                    for l in logs {
                        self.err(&format!("  | {l}"));
                    }
                }
            }
            Event::Pull {
                image,
                layers_done,
                layers_total,
                bytes_done,
                bytes_total,
                status,
            } => self.out(&format!(
                "      {}",
                Msg::new("engine.print.pull")
                    .arg("image", image)
                    .arg("layers_done", layers_done)
                    .arg("layers_total", layers_total)
                    .arg("done", mib(*bytes_done))
                    .arg("total", mib(*bytes_total))
                    .arg("status", status)
                    .text(lang)
            )),
            Event::Log { service, line } => self.out(&format!("      [{service}] {line}")),
            Event::Warning(m) => self.err(&format!("{}{}", Msg::new("label.warning").text(lang), self.text(m))),
        }
    }
}

fn print_report(p: &EventPrinter, ws: &Workspace, r: &InstallReport) {
    let url = Endpoints::from_answers(&ws.answers)
        .client_base()
        .unwrap_or_default()
        .to_string();
    if p.json {
        p.json_line(json!({
            "event": "done",
            "up_to_date": r.up_to_date(),
            "gateway": url,
            "dir": ws.dir(),
            "engine": {"endpoint": r.engine.endpoint, "version": r.engine.version, "api": r.engine.api_version},
            "files_changed": r.files_changed,
            "images_pulled": r.images_pulled,
            "services": r.services,
            "ready_after_ms": r.ready.elapsed.as_millis() as u64,
            "elapsed_ms": r.elapsed.as_millis() as u64,
            "models": r.api.models,
        }));
        return;
    }
    if r.up_to_date() {
        p.out(&p.text(&Msg::new("engine.install.up_to_date")));
    } else {
        p.out(
            &p.text(
                &Msg::new("engine.install.done")
                    .arg("url", &url)
                    .arg("elapsed", human_duration(r.elapsed)),
            ),
        );
    }
    p.out(&p.text(&Msg::new("engine.install.key_where").arg("path", ws.dir().join(".env").display())));
}

pub fn run(lang: Lang, args: &InstallArgs) -> Result<Exit> {
    let printer = EventPrinter::new(lang, args.json);
    match install(&printer, args) {
        Ok(exit) => Ok(exit),
        Err(e) => {
            if !printer.failure_printed.load(Ordering::SeqCst) {
                printer.error(&e);
            }
            Ok(e.exit)
        }
    }
}

fn install(printer: &EventPrinter, args: &InstallArgs) -> Result<Exit> {
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
            Ok(path) if result.is_err() && !printer.json => printer.err(
                &Msg::new("engine.install.log_file")
                    .arg("path", path.display())
                    .text(printer.lang),
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!("no log file: {}", e.render(Lang::En)),
        }
    }
    result
}

fn run_logged(printer: &EventPrinter, ws: &Workspace, opts: &InstallOptions) -> Result<Exit> {
    runtime()?.block_on(async {
        let engine = engine::connect().await?;
        tokio::select! {
            r = run_install(ws, opts, &engine, printer) => {
                let report = r?;
                print_report(printer, ws, &report);
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
