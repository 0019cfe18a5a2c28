//! Day-to-day commands on an installed stack: status, logs, down, uninstall, images save.
//! They find the stack from the install dir's saved answers (or `--answers`), and the engine
//! the way `install` does.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use super::install::runtime;
use crate::cli::Target;
use crate::error::{Error, Exit, Result};
use crate::platform::Os;
use crate::report::Printer;
use crate::stack::Stack;
use crate::steps;
use crate::workspace::load_answers;

fn load_stack(t: &Target) -> Result<Stack> {
    let os = Os::current();
    let answers = load_answers(t.answers.as_deref(), t.dir.as_deref(), os)?;
    answers.validate(os)?;
    Ok(Stack::from_answers(&answers, os))
}

pub fn status(t: &Target, p: &Printer) -> Result<Exit> {
    let stack = load_stack(t)?;
    let list = runtime()?.block_on(steps::status::status(&stack))?;
    if p.json {
        p.json_value(&serde_json::json!({
            "project": stack.project,
            "dir": stack.dir,
            "services": list,
        }));
        return Ok(Exit::Ok);
    }
    p.line(
        &msg!("engine.status.header")
            .arg("project", &stack.project)
            .arg("dir", stack.dir.display())
            .text(p.lang),
    );
    p.line(&format!(
        "  {:<11} {:<11} {:<10} {:<9} {:<26} {}",
        msg!("engine.status.col.service").text(p.lang),
        msg!("engine.status.col.state").text(p.lang),
        msg!("engine.status.col.health").text(p.lang),
        msg!("engine.status.col.restarts").text(p.lang),
        msg!("engine.status.col.ports").text(p.lang),
        msg!("engine.status.col.image").text(p.lang),
    ));
    for s in &list {
        let state = s.state.map_or("-", |x| x.as_str());
        let health = s.health.map_or("-", |h| h.as_str());
        let ports = if s.ports.is_empty() {
            "-".to_string()
        } else {
            s.ports.join(",")
        };
        p.line(&format!(
            "  {:<11} {:<11} {:<10} {:<9} {:<26} {}",
            s.service, state, health, s.restarts, ports, s.image
        ));
    }
    if list.iter().all(|s| s.container.is_none()) {
        p.line(&msg!("engine.status.not_installed").text(p.lang));
    }
    Ok(Exit::Ok)
}

pub fn logs(t: &Target, service: Option<&str>, tail: usize, follow: bool, p: &Printer) -> Result<Exit> {
    let stack = load_stack(t)?;
    let names = steps::logs::services(&stack, service)?;
    let prefix = names.len() > 1;
    let line = |svc: &str, l: &str| {
        if prefix {
            p.line(&format!("{svc:<10} | {l}"));
        } else {
            p.line(l);
        }
    };
    runtime()?.block_on(async {
        tokio::select! {
            r = steps::logs::logs(&stack, &names, service.is_some(), tail, follow, &line) => r.map(|()| Exit::Ok),
            _ = tokio::signal::ctrl_c() => Ok(Exit::Ok),
        }
    })
}

pub fn down(t: &Target, p: &Printer) -> Result<Exit> {
    let stack = load_stack(t)?;
    let report = runtime()?.block_on(steps::down::down(&stack))?;
    for c in &report.containers {
        p.line(&msg!("engine.down.container").arg("name", c).text(p.lang));
    }
    for n in &report.networks {
        p.line(&msg!("engine.down.network").arg("name", n).text(p.lang));
    }
    if report.containers.is_empty() && report.networks.is_empty() {
        p.line(&msg!("engine.down.nothing").arg("project", &stack.project).text(p.lang));
    }
    p.line(
        &msg!("engine.down.data_kept")
            .arg("dir", stack.dir.display())
            .text(p.lang),
    );
    Ok(Exit::Ok)
}

fn confirm_purge(stack: &Stack, p: &Printer) -> Result<()> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(Error::input(msg!("engine.uninstall.needs_yes")).hint(msg!("engine.uninstall.needs_yes.hint")));
    }
    print!(
        "{}",
        msg!("engine.uninstall.confirm")
            .arg("dir", stack.dir.display())
            .text(p.lang)
    );
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    let _ = stdin.lock().read_line(&mut answer);
    if answer.trim().eq_ignore_ascii_case("yes") {
        Ok(())
    } else {
        Err(Error::input(msg!("engine.uninstall.cancelled")))
    }
}

pub fn uninstall(t: &Target, purge: bool, yes: bool, p: &Printer) -> Result<Exit> {
    let stack = load_stack(t)?;
    if purge && !yes {
        confirm_purge(&stack, p)?;
    }
    let os = Os::current();
    let answers = load_answers(t.answers.as_deref(), t.dir.as_deref(), os)?;
    let report = runtime()?.block_on(steps::down::uninstall(&stack, purge, answers.data))?;
    for c in &report.containers {
        p.line(&msg!("engine.down.container").arg("name", c).text(p.lang));
    }
    for n in &report.networks {
        p.line(&msg!("engine.down.network").arg("name", n).text(p.lang));
    }
    for v in &report.volumes {
        p.line(&msg!("engine.uninstall.volume").arg("name", v).text(p.lang));
    }
    if purge {
        p.line(
            &msg!("engine.uninstall.purged")
                .arg("dir", stack.dir.display())
                .text(p.lang),
        );
    } else {
        p.line(
            &msg!("engine.down.data_kept")
                .arg("dir", stack.dir.display())
                .text(p.lang),
        );
    }
    Ok(Exit::Ok)
}

pub fn images_save(t: &Target, file: &Path, p: &Printer) -> Result<Exit> {
    let stack = load_stack(t)?;
    let size = runtime()?.block_on(steps::images_save::save(&stack, file))?;
    p.line(
        &msg!("engine.images.saved")
            .arg("count", steps::images_save::references(&stack).len())
            .arg("file", file.display())
            .arg("size", format!("{:.0}", size as f64 / (1u64 << 20) as f64))
            .text(p.lang),
    );
    Ok(Exit::Ok)
}
