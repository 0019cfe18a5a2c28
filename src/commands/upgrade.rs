//! `upgrade`: parse, show the plan and confirm, run `steps::upgrade`, report.

use std::io::IsTerminal;
use std::path::Path;

use crate::cli::{Target, parse_duration};
use crate::error::{Error, Exit, Result};
use crate::platform::Os;
use crate::report::Printer;
use crate::steps::upgrade;

pub fn upgrade(
    t: &Target,
    litellm: Option<&str>,
    restore: Option<&Path>,
    yes: bool,
    timeout: &str,
    p: &Printer,
) -> Result<Exit> {
    let deadline = parse_duration(timeout).ok_or_else(|| {
        Error::input(msg!("engine.install.bad_timeout").arg("value", timeout))
            .hint(msg!("engine.install.bad_timeout.hint"))
    })?;
    let req = upgrade::UpgradeRequest {
        dir: t.dir.clone(),
        answers: t.answers.clone(),
        litellm: litellm.map(str::to_string),
        restore: restore.map(Path::to_path_buf),
        readiness_deadline: deadline,
    };
    let plan = upgrade::plan(&req, Os::current())?;
    if plan.changes.is_empty() {
        let noop = msg!("upgrade.noop")
            .arg("dir", plan.dir().display())
            .arg("image", plan.new.answers.images.reference("litellm"));
        if p.json {
            p.json_value(&crate::report::day2::upgraded(None, &noop, p.lang));
        } else {
            p.line(&noop.text(p.lang));
        }
        return Ok(Exit::Ok);
    }
    // As JSON, the plan is the `upgrade_plan` step's progress lines.
    if !p.json {
        p.line(&msg!("upgrade.plan.title").text(p.lang));
        for c in &plan.changes {
            let m = msg!("upgrade.plan.change")
                .arg("service", &c.service)
                .arg("from", &c.from)
                .arg("to", &c.to);
            p.line(&format!("  {}", m.text(p.lang)));
        }
    }
    if !yes {
        confirm(plan.dir(), p)?;
    }
    // A Ctrl-C: the automatic backup's pg_dump, if it runs, is ended; the saved answers still
    // name the old images until the new ones pass the gate.
    let source = crate::steps::backup::Source::of(&plan.old.answers).ok();
    let r = super::backup::until_ctrl_c(
        upgrade::run(&plan, p),
        || super::backup::after_interrupt(source, false),
        msg!("day2.interrupt.upgrade.hint")
            .arg("upgrade", crate::steps::backup::follow_up("upgrade", plan.dir()))
            .arg("install", crate::steps::backup::follow_up("install", plan.dir()))
            .arg("list", crate::steps::backup::follow_up("backup list", plan.dir())),
        p,
    );
    let report = match r {
        Ok(report) => report,
        Err(e) if upgrade::ended_in_rollback(&e) => {
            p.error(&e);
            return Ok(e.exit);
        }
        Err(e) => return Err(e),
    };
    let unknown = || msg!("upgrade.version_unknown").text(p.lang);
    let images = report
        .changes
        .iter()
        .map(|c| format!("{} {}", c.service, c.to))
        .collect::<Vec<_>>()
        .join(", ");
    let done = msg!("upgrade.done")
        .arg("from", report.from_version.clone().unwrap_or_else(unknown))
        .arg("to", report.to_version.clone().unwrap_or_else(unknown))
        .arg("images", images)
        .arg("backup", report.backup.display());
    if p.json {
        p.json_value(&crate::report::day2::upgraded(Some(&report), &done, p.lang));
        return Ok(Exit::Ok);
    }
    p.line(&done.text(p.lang));
    p.line(
        &msg!("upgrade.migrations")
            .arg("before", report.migrations_before.as_deref().unwrap_or("-"))
            .arg("after", report.migrations_after.as_deref().unwrap_or("-"))
            .text(p.lang),
    );
    p.line(&msg!("backup.secrets").text(p.lang));
    Ok(Exit::Ok)
}

fn confirm(dir: &Path, p: &Printer) -> Result<()> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(
            Error::input(msg!("upgrade.needs_yes").arg("dir", dir.display())).hint(msg!("upgrade.needs_yes.hint"))
        );
    }
    if super::confirmed(&msg!("upgrade.confirm").text(p.lang)) {
        Ok(())
    } else {
        Err(Error::input(msg!("upgrade.cancelled")))
    }
}
