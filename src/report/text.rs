//! Events and results as the lines a person reads, in their language. Pure: the printer
//! writes what these return.

use std::path::Path;

use super::{Line, StepStyle, Verified, human_duration};
use crate::error::Error;
use crate::howto::HandCheck;
use crate::i18n::{Lang, Msg};
use crate::platform::Shell;
use crate::steps::install::InstallReport;
use crate::steps::{Event, StepId};

/// `3` for the third step of the install plan.
fn step_number(step: StepId) -> usize {
    StepId::ALL.iter().position(|s| *s == step).map_or(0, |i| i + 1)
}

/// Bytes as MiB with one decimal, for pull progress.
fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1u64 << 20) as f64)
}

/// The lines of one event.
pub fn event(event: &Event, lang: Lang, style: StepStyle) -> Vec<Line> {
    let numbered = style == StepStyle::Numbered;
    match event {
        Event::StepStarted(s) if numbered => vec![Line::out(format!(
            "[{}/{}] {}",
            step_number(*s),
            StepId::ALL.len(),
            s.title().text(lang)
        ))],
        Event::StepStarted(s) => vec![Line::out(s.title().text(lang))],
        Event::StepProgress { msg, .. } if numbered => vec![Line::out(format!("      {}", msg.text(lang)))],
        Event::StepProgress { msg, .. } => vec![Line::out(format!("  {}", msg.text(lang)))],
        Event::StepDone { msg, .. } if numbered => {
            let m = msg.clone().unwrap_or_else(|| msg!("engine.print.done"));
            vec![Line::out(format!("    ✓ {}", m.text(lang)))]
        }
        // A check that passed says so in the final result.
        Event::StepDone { .. } => Vec::new(),
        Event::StepFailed { step, error: e, logs } => {
            let mut lines = Vec::new();
            if numbered {
                lines.push(Line::err(format!(
                    "    ✗ {}",
                    msg!("engine.print.step_failed").nested("step", step.title()).text(lang)
                )));
            }
            lines.extend(error(e, lang));
            if !logs.is_empty() {
                lines.push(Line::err(msg!("engine.print.logs").arg("count", logs.len()).text(lang)));
                lines.extend(logs.iter().map(|l| Line::err(format!("  | {l}"))));
            }
            lines
        }
        Event::Pull {
            image,
            layers_done,
            layers_total,
            bytes_done,
            bytes_total,
            status,
        } => vec![Line::out(format!(
            "      {}",
            msg!("engine.print.pull")
                .arg("image", image)
                .arg("layers_done", layers_done)
                .arg("layers_total", layers_total)
                .arg("done", mib(*bytes_done))
                .arg("total", mib(*bytes_total))
                .arg("status", status)
                .text(lang)
        ))],
        // The services' own lines are in the log file and the JSON lines; the text stays the
        // steps' story.
        Event::Log { .. } | Event::LogOpened(_) => vec![],
        Event::Warning(m) => vec![Line::err(format!(
            "{}{}",
            msg!("label.warning").text(lang),
            m.text(lang)
        ))],
    }
}

/// `Error: what`, the detail indented, `Fix: hint`, on stderr.
pub fn error(e: &Error, lang: Lang) -> Vec<Line> {
    vec![Line::err(format!(
        "{}{}",
        msg!("label.error").text(lang),
        e.render(lang)
    ))]
}

/// `install`'s last lines: where the gateway is (or that nothing changed), and the key.
pub fn installed(r: &InstallReport, dir: &Path, gateway: &str, lang: Lang) -> Vec<Line> {
    let mut lines = timeline(r, lang);
    lines.extend([
        Line::out(installed_msg(r, gateway).text(lang)),
        Line::out(
            msg!("engine.install.key_where")
                .arg("path", dir.join(".env").display())
                .text(lang),
        ),
        Line::out(next_commands(dir, lang)),
    ]);
    lines
}

/// The run's timeline, when anything was pulled or started: a title, then a line per moment.
fn timeline(r: &InstallReport, lang: Lang) -> Vec<Line> {
    use crate::steps::install::MilestoneKind;
    if r.timeline.is_empty() {
        return Vec::new();
    }
    let mut lines = vec![Line::out(msg!("pulls.timeline.title").text(lang))];
    for m in &r.timeline {
        let key = match m.kind {
            MilestoneKind::Pulled => key!("pulls.timeline.pulled"),
            MilestoneKind::Started => key!("pulls.timeline.started"),
            MilestoneKind::Healthy => key!("pulls.timeline.healthy"),
        };
        let at = format!("{:>6.1}", m.at.as_secs_f64());
        lines.push(Line::out(format!(
            "  {}",
            Msg::new(key).arg("at", at).arg("name", &m.name).text(lang)
        )));
    }
    lines
}

/// How to see the stack run, with this install's `--dir` when it is not the default.
fn next_commands(dir: &Path, lang: Lang) -> String {
    let os = crate::platform::Os::current();
    let program = crate::howto::program_name();
    let cmd = |c: &str| crate::howto::follow_up(&program, c, dir, &os.default_dir(), os.shell());
    msg!("newcomer.installed.next")
        .arg("status", cmd("status"))
        .arg("logs", cmd("logs"))
        .text(lang)
}

/// The one-line summary of an install, shared by the text and the JSON result.
pub(super) fn installed_msg(r: &InstallReport, gateway: &str) -> Msg {
    if r.up_to_date() {
        msg!("engine.install.up_to_date")
    } else {
        msg!("engine.install.done")
            .arg("url", gateway)
            .arg("elapsed", human_duration(r.elapsed))
    }
}

/// `verify`'s result: ready after how long, and that the API test passed.
pub fn verified(v: &Verified, lang: Lang) -> Vec<Line> {
    vec![
        Line::out(verified_msg(v).text(lang)),
        Line::out(msg!("health.verify.passed").text(lang)),
    ]
}

/// The readiness line of a verify, shared by the text and the JSON result.
pub(super) fn verified_msg(v: &Verified) -> Msg {
    let version = match &v.proxy_version {
        Some(version) => msg!("health.verify.version").arg("version", version),
        None => msg!("health.verify.no_version"),
    };
    // Ready at the first look: no "0.0 s" nor "1 attempts".
    if v.attempts <= 1 {
        return msg!("newcomer.verify.ready_at_once").nested("version", version);
    }
    msg!("health.verify.ready")
        .arg("elapsed", human_duration(v.elapsed))
        .arg("attempts", v.attempts)
        .nested("version", version)
}

pub(super) fn shell_name(shell: Shell) -> &'static str {
    match shell {
        Shell::Bash => "bash",
        Shell::PowerShell => "PowerShell",
    }
}

/// A blank line, the title naming the shell, then each check as a comment and its command.
pub fn hand_checks(shell: Shell, checks: &[HandCheck], lang: Lang) -> Vec<Line> {
    let mut lines = vec![
        Line::out(""),
        Line::out(
            msg!("health.verify.howto_title")
                .arg("shell", shell_name(shell))
                .text(lang),
        ),
    ];
    for c in checks {
        lines.push(Line::out(format!("  # {}", c.what.text(lang))));
        lines.push(Line::out(format!("  {}", c.command)));
    }
    lines
}
