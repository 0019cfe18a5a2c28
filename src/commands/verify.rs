//! `verify`: readiness and the API test against a running stack (SOP steps F and G), then
//! the same checks as commands to repeat by hand.

use std::time::Duration;

use serde_json::json;

use crate::cli::{Target, parse_duration};
use crate::error::{Error, Exit, Result};
use crate::health::{self, ApiReport, Endpoints, ReadinessOptions, ReadyReport};
use crate::howto::{HandCheck, hand_checks};
use crate::i18n::Msg;
use crate::output::Printer;
use crate::platform::{Os, Shell, join_rel};
use crate::secrets::ExistingEnv;
use crate::steps::{Event, EventSink, StepId};
use crate::workspace::load_answers;

pub fn run(t: &Target, timeout: &str, p: &Printer) -> Result<Exit> {
    let deadline = parse_duration(timeout).filter(|d| !d.is_zero()).ok_or_else(|| {
        Error::input(Msg::new("health.error.timeout_flag").arg("value", timeout))
            .hint(Msg::new("health.hint.timeout_flag"))
    })?;
    let os = Os::current();
    let answers = load_answers(t.answers.as_deref(), t.dir.as_deref(), os)?;
    let env_path = join_rel(&answers.dir, ".env");
    let master_key = ExistingEnv::read(&env_path)?
        .get("LITELLM_MASTER_KEY")
        .filter(|k| !k.is_empty())
        .cloned()
        .ok_or_else(|| {
            Error::input(Msg::new("health.error.no_master_key").arg("path", env_path.display()))
                .hint(Msg::new("health.hint.no_master_key"))
        })?;
    let ep = Endpoints::from_answers(&answers);
    let checks = hand_checks(&ep, os.shell(), &answers.dir, answers.smoke_test_model);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::failed(Msg::new("health.error.client")).detail(e))?;
    let sink = PrintSink(p);
    let expected = answers.model_names();
    let outcome: Result<(ReadyReport, ApiReport)> = runtime.block_on(async {
        let options = ReadinessOptions {
            deadline,
            // Every generated stack has PostgreSQL.
            database_configured: true,
        };
        sink.step(StepId::Readiness);
        let ready = health::wait_until_ready(&ep, &options, &sink).await?;
        sink.step(StepId::ApiTest);
        let api = health::api_test(&ep, &master_key, &expected, &sink).await?;
        Ok((ready, api))
    });
    match outcome {
        Ok((ready, api)) => {
            print_success(p, &ready, &api);
            print_hand_checks(p, os.shell(), &checks);
            Ok(Exit::Ok)
        }
        Err(e) => {
            // The commands let the user see for themselves what failed.
            print_hand_checks(p, os.shell(), &checks);
            Err(e)
        }
    }
}

/// Prints events as they come: a line of text, or a JSON object per line.
struct PrintSink<'a>(&'a Printer);

impl PrintSink<'_> {
    fn step(&self, step: StepId) {
        let p = self.0;
        if p.json {
            p.json_value(&json!({"event": "step_started", "step": step}));
        } else {
            p.line(&step.title().text(p.lang));
        }
    }
}

impl EventSink for PrintSink<'_> {
    fn emit(&self, event: Event) {
        let p = self.0;
        let (kind, step, msg) = match &event {
            Event::StepProgress { step, msg } => ("progress", Some(*step), msg),
            Event::Warning(msg) => ("warning", None, msg),
            // The health checks emit only progress; other events are the runner's.
            _ => return,
        };
        if p.json {
            p.json_value(&json!({"event": kind, "step": step, "message": msg.text(p.lang)}));
        } else if kind == "warning" {
            p.warn(msg);
        } else {
            p.line(&format!("  {}", msg.text(p.lang)));
        }
    }
}

fn print_success(p: &Printer, ready: &ReadyReport, api: &ApiReport) {
    let warnings: Vec<&Msg> = ready.warnings.iter().chain(&api.warnings).collect();
    if p.json {
        p.json_value(&json!({
            "event": "verified",
            "elapsed_ms": millis(ready.elapsed),
            "attempts": ready.attempts,
            "proxy_version": ready.proxy_version.as_ref().or(api.proxy_version.as_ref()),
            "cache": api.cache,
            "models": api.models,
            "smoke_answer": api.smoke_answer,
            "streamed_chunks": api.streamed_chunks,
            "metrics_protected": api.metrics_protected,
            "prometheus_target_up": api.prometheus_target_up,
            "warnings": warnings.iter().map(|w| w.text(p.lang)).collect::<Vec<_>>(),
        }));
        return;
    }
    for w in &warnings {
        p.warn(w);
    }
    let version = match ready.proxy_version.as_ref().or(api.proxy_version.as_ref()) {
        Some(v) => Msg::new("health.verify.version").arg("version", v),
        None => Msg::new("health.verify.no_version"),
    };
    p.line(
        &Msg::new("health.verify.ready")
            .arg("elapsed", health::human_duration(ready.elapsed))
            .arg("attempts", ready.attempts)
            .nested("version", version)
            .text(p.lang),
    );
    p.line(&Msg::new("health.verify.passed").text(p.lang));
}

fn print_hand_checks(p: &Printer, shell: Shell, checks: &[HandCheck]) {
    let shell_name = match shell {
        Shell::Bash => "bash",
        Shell::PowerShell => "PowerShell",
    };
    if p.json {
        p.json_value(&json!({
            "event": "hand_checks",
            "shell": shell_name,
            "checks": checks.iter().map(|c| json!({"what": c.what.text(p.lang), "command": c.command})).collect::<Vec<_>>(),
        }));
        return;
    }
    p.line("");
    p.line(
        &Msg::new("health.verify.howto_title")
            .arg("shell", shell_name)
            .text(p.lang),
    );
    for c in checks {
        p.line(&format!("  # {}", c.what.text(p.lang)));
        p.line(&format!("  {}", c.command));
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
