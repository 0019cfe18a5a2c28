//! Day-to-day commands on an installed stack: status, logs, down, uninstall, images save.
//! They find the stack from the install dir's saved answers (or `--answers`), and the engine
//! the way `install` does.

use std::io::IsTerminal;
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

/// `litellm-stack <command>` as the user types it for the install in `dir`.
pub(crate) fn follow_up(command: &str, dir: &Path) -> String {
    let os = Os::current();
    crate::howto::follow_up(
        &crate::howto::program_name(),
        command,
        dir,
        &os.default_dir(),
        os.shell(),
    )
}

/// A day-2 command on a folder without an install says so (exit 2) rather than listing every
/// service as missing.
pub(crate) fn require_install(dir: &Path) -> Result<()> {
    if crate::workspace::holds_install(dir) {
        return Ok(());
    }
    Err(Error::input(msg!("newcomer.no_install").arg("dir", dir.display()))
        .hint(msg!("newcomer.no_install.hint").arg("cmd", follow_up("install", dir))))
}

/// The stack of an existing install.
fn installed_stack(t: &Target) -> Result<Stack> {
    let stack = load_stack(t)?;
    require_install(&stack.dir)?;
    Ok(stack)
}

pub fn status(t: &Target, p: &Printer) -> Result<Exit> {
    let stack = installed_stack(t)?;
    let list = runtime()?.block_on(steps::status::status(&stack))?;
    // An upgrade running or left unfinished here: the containers may not be what the answers say.
    let journal = super::upgrade::journal_status(&stack.dir, &follow_up("upgrade", &stack.dir));
    if p.json {
        p.json_value(&serde_json::json!({
            "project": stack.project,
            "dir": stack.dir,
            "services": list,
            "upgrade": journal.map(|(_, v)| v),
        }));
        return Ok(Exit::Ok);
    }
    for l in status_lines(&stack, &list, p.lang) {
        p.line(&l);
    }
    if list.iter().all(|s| s.container.is_none()) {
        p.line(
            &msg!("newcomer.status.no_containers")
                .arg("cmd", follow_up("install", &stack.dir))
                .text(p.lang),
        );
    }
    if let Some((m, _)) = journal {
        p.warn(&m);
    }
    Ok(Exit::Ok)
}

/// `status` as text: a header, then one row per service (state, health, restarts, its first
/// port) and its image under it, every column aligned by display width, so that the table
/// stays within 80 columns in both languages.
pub fn status_lines(stack: &Stack, list: &[steps::status::ServiceStatus], lang: crate::i18n::Lang) -> Vec<String> {
    let mut out = vec![
        msg!("newcomer.status.header")
            .arg("project", &stack.project)
            .arg("dir", stack.dir.display())
            .text(lang),
    ];
    let col = |k| crate::i18n::t(lang, k);
    let mut rows = vec![vec![
        col(key!("engine.status.col.service")),
        col(key!("engine.status.col.state")),
        col(key!("engine.status.col.health")),
        col(key!("engine.status.col.restarts")),
        col(key!("engine.status.col.ports")),
    ]];
    // Which row each service starts at, for the image line under it.
    let mut images = Vec::new();
    for s in list {
        let mut ports = s.ports.iter();
        rows.push(vec![
            s.service.clone(),
            s.state.map_or("-", |x| x.as_str()).to_string(),
            // No health check (nginx, prometheus): nothing to say, as for no container.
            s.health
                .map(|h| h.as_str())
                .filter(|h| *h != "none")
                .unwrap_or("-")
                .to_string(),
            s.restarts.to_string(),
            ports.next().cloned().unwrap_or_else(|| "-".into()),
        ]);
        // A second published port goes under the first: the row keeps its width.
        for more in ports {
            rows.push(vec![
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                more.clone(),
            ]);
        }
        images.push((rows.len(), s.image.clone()));
    }
    let table = crate::report::table::columns(&rows, "  ", 2);
    let service_w = rows
        .iter()
        .map(|r| crate::report::table::width(&r[0]))
        .max()
        .unwrap_or(0)
        + 2;
    let mut next_image = images.iter().peekable();
    for (i, line) in table.into_iter().enumerate() {
        out.push(line);
        if let Some((_, image)) = next_image.next_if(|(end, _)| *end == i + 1) {
            out.push(format!(
                "  {}{}",
                " ".repeat(service_w),
                msg!("newcomer.status.image").arg("image", image).text(lang)
            ));
        }
    }
    out
}

pub fn logs(t: &Target, service: Option<&str>, tail: usize, follow: bool, p: &Printer) -> Result<Exit> {
    let stack = installed_stack(t)?;
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
    let stack = installed_stack(t)?;
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
    p.line(&data_kept(&stack, p));
    Ok(Exit::Ok)
}

fn data_kept(stack: &Stack, p: &Printer) -> String {
    msg!("newcomer.down.data_kept")
        .arg("dir", stack.dir.display())
        .arg("cmd", follow_up("install", &stack.dir))
        .text(p.lang)
}

fn confirm_purge(stack: &Stack, p: &Printer) -> Result<()> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(Error::input(msg!("engine.uninstall.needs_yes")).hint(msg!("engine.uninstall.needs_yes.hint")));
    }
    if super::confirmed(
        &msg!("engine.uninstall.confirm")
            .arg("dir", stack.dir.display())
            .text(p.lang),
    ) {
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
    // Deleting the data while another run installs into the dir would mix the two.
    let _lock = if purge && stack.dir.is_dir() {
        Some(crate::workspace::DirLock::acquire(&stack.dir)?)
    } else {
        None
    };
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
        p.line(
            &msg!("newcomer.uninstall.remove_folder")
                .arg("cmd", remove_folder_command(&stack.dir, Os::current()))
                .text(p.lang),
        );
    } else {
        p.line(&data_kept(&stack, p));
    }
    Ok(Exit::Ok)
}

/// The one command that removes the install folder entirely, in the user's shell.
pub fn remove_folder_command(dir: &Path, os: Os) -> String {
    let d = dir.display().to_string();
    match os.shell() {
        crate::platform::Shell::Bash => format!("rm -rf '{}'", d.replace('\'', r"'\''")),
        crate::platform::Shell::PowerShell => format!("Remove-Item -Recurse -Force '{}'", d.replace('\'', "''")),
    }
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
