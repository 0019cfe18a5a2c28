//! `upgrade`: parse, show the plan and confirm, run `steps::upgrade`, report.
//!
//! A stop (Ctrl-C, SIGTERM) before the point of change just stops: nothing of the stack
//! changed, the images lock is put back. After it (new containers being made or started, the
//! gate running) it rolls back as a failure does, reported as interrupted (exit 130). A second
//! stop during that rollback is refused with a word why: stopping half-way would leave the
//! stack with neither version running; a kill is still possible, and the next `upgrade` or
//! `install` finishes the rollback from the journal ([`settle_unfinished`]).

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
    let os = Os::current();
    let mut plan = upgrade::plan(&req, os)?;
    let rt = super::install::runtime()?;
    if rt.block_on(settle_unfinished(plan.dir(), os, deadline, p))? {
        // The saved answers may name other images now (an unfinished run that had passed).
        // The first plan holds the dir's lock: it goes before the new plan takes it again.
        drop(plan);
        plan = upgrade::plan(&req, os)?;
    }
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
    let dir = plan.dir().to_path_buf();
    let r = rt.block_on(async {
        tokio::select! {
            r = upgrade::run(&plan, p) => return r,
            _ = stop_signal() => {}
        }
        Err(after_stop(&dir, os, deadline, p).await)
    });
    let report = match r {
        Ok(report) => report,
        Err(e) if upgrade::ended_in_rollback(&e) || e.what.key == "upgrade.interrupt.rolled_back" => {
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

/// Ctrl-C, or SIGTERM (Unix): what `docker stop`, systemd and CI runners send.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Runs `f` to its end: a stop meanwhile is refused, with a word why (the way back half-done
/// would leave the stack with neither version). A kill still ends it; the journal covers that.
async fn steadfast<T>(f: impl std::future::Future<Output = T>, p: &Printer) -> T {
    tokio::pin!(f);
    loop {
        tokio::select! {
            r = &mut f => return r,
            _ = stop_signal() => p.note(&msg!("upgrade.interrupt.refused")),
        }
    }
}

/// The run was stopped: before the point of change nothing changed; after it, rolled back.
async fn after_stop(dir: &Path, os: Os, deadline: std::time::Duration, p: &Printer) -> Error {
    let journal = match upgrade::journal::read(dir) {
        Ok(Some(j)) => j,
        // Stopped before the journal was written: before anything at all.
        Ok(None) => return nothing_changed(),
        Err(e) => return e,
    };
    if journal.phase == upgrade::journal::Phase::Preparing {
        let _ = steadfast(
            upgrade::roll_back_unfinished(dir, os, deadline, &journal, nothing_changed(), p),
            p,
        )
        .await;
        return nothing_changed();
    }
    p.note(&msg!("upgrade.interrupt.rolling_back"));
    let cause = Error::interrupted(msg!("upgrade.interrupt.cause"));
    match steadfast(upgrade::roll_back_unfinished(dir, os, deadline, &journal, cause, p), p).await {
        Err(e) if e.what.key == "upgrade.error.rolled_back" => Error {
            exit: Exit::Interrupted,
            what: msg!("upgrade.interrupt.rolled_back").arg("to", journal.summary()),
            ..e
        },
        Err(e) => e,
        // The stop came after the new version had passed and been saved.
        Ok(upgrade::journal::Recovery::Completed) => Error::interrupted(msg!("upgrade.interrupt.completed")),
        Ok(_) => nothing_changed(),
    }
}

fn nothing_changed() -> Error {
    Error::interrupted(msg!("engine.install.interrupted")).hint(msg!("upgrade.interrupt.nothing_changed"))
}

/// An upgrade that did not end cleanly (killed, or its rollback failed), found by its journal
/// in `dir`: finished before anything else runs there (`upgrade`, `install`). Rolled back
/// unless the new version had passed and been saved (the journal module says why). `true`
/// when there was such an upgrade and the stack is settled now; an error when its rollback
/// failed (the journal stays for the next try) or it belongs to a run still going.
pub fn settle_unfinished_blocking(dir: &Path, os: Os, deadline: std::time::Duration, p: &Printer) -> Result<bool> {
    super::install::runtime()?.block_on(settle_unfinished(dir, os, deadline, p))
}

async fn settle_unfinished(dir: &Path, os: Os, deadline: std::time::Duration, p: &Printer) -> Result<bool> {
    let Some(j) = upgrade::journal::read(dir)? else {
        return Ok(false);
    };
    if j.pid != std::process::id() && upgrade::journal::process_alive(j.pid) {
        return Err(Error::environment(
            msg!("upgrade.journal.running")
                .arg("pid", j.pid)
                .arg("dir", dir.display()),
        )
        .hint(msg!("upgrade.journal.running.hint").arg("path", upgrade::journal::path(dir).display())));
    }
    p.note(
        &msg!("upgrade.journal.found")
            .arg("started", &j.started)
            .arg("changes", j.summary())
            .arg("path", upgrade::journal::path(dir).display()),
    );
    let cause = Error::interrupted(msg!("upgrade.journal.cause"));
    match steadfast(upgrade::roll_back_unfinished(dir, os, deadline, &j, cause, p), p).await {
        Ok(upgrade::journal::Recovery::Completed) => p.note(&msg!("upgrade.journal.completed")),
        Ok(_) => p.note(&msg!("upgrade.journal.nothing_changed")),
        Err(e) if e.what.key == "upgrade.error.rolled_back" => p.note(&msg!("upgrade.journal.rolled_back")),
        Err(e) => return Err(e),
    }
    Ok(true)
}

/// `status`'s word on an upgrade journal in `dir` (a warning, and the `upgrade` field of its
/// JSON): an upgrade running there now, or one left unfinished with the re-run that settles
/// it (`upgrade_cmd`), or an unreadable journal; `None` without one.
pub fn journal_status(dir: &Path, upgrade_cmd: &str) -> Option<(crate::i18n::Msg, serde_json::Value)> {
    use upgrade::journal::Found;
    let path = upgrade::journal::path(dir).display().to_string();
    let (state, j) = match upgrade::journal::look(dir) {
        Ok(None) => return None,
        Ok(Some(Found::Running(j))) => ("running", j),
        Ok(Some(Found::Unfinished(j))) => ("unfinished", j),
        Err(e) => {
            let v = serde_json::json!({ "state": "unreadable", "journal": path, "code": e.what.key });
            return Some((e.what, v));
        }
    };
    let m = if state == "running" {
        msg!("upgrade.status.running")
            .arg("pid", j.pid)
            .arg("changes", j.summary())
    } else {
        msg!("upgrade.status.unfinished")
            .arg("changes", j.summary())
            .arg("started", &j.started)
            .arg("cmd", upgrade_cmd)
    };
    let v = serde_json::json!({
        "state": state,
        "journal": path,
        "phase": j.phase.name(),
        "pid": j.pid,
        "started": j.started,
        "changes": j.changes.iter().map(|c| serde_json::json!({"service": c.service, "from": c.from, "to": c.to})).collect::<Vec<_>>(),
        "code": m.key,
    });
    Some((m, v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    #[test]
    fn status_names_an_unfinished_upgrade_and_the_re_run_that_settles_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cmd = "litellm-stack upgrade --dir /srv/llm";
        assert!(journal_status(dir.path(), cmd).is_none(), "no journal, nothing said");
        std::fs::create_dir_all(dir.path().join(".litellm-stack")).expect("mkdir");
        std::fs::write(
            upgrade::journal::path(dir.path()),
            r#"{"format": 1, "started": "20261204T143000.000000Z", "pid": 4194304, "phase": "rolling_back",
                "changes": [{"service": "litellm", "from": "litellm:1.106.12", "to": "litellm:1.108.7"}],
                "backup": null, "lock_before": null}"#,
        )
        .expect("write");
        let (m, v) = journal_status(dir.path(), cmd).expect("said");
        for lang in [Lang::En, Lang::ZhTw] {
            let t = m.text(lang);
            assert!(
                t.contains(cmd) && t.contains("litellm:1.106.12 → litellm:1.108.7"),
                "{t}"
            );
        }
        assert_eq!(v["state"], "unfinished");
        assert_eq!(v["phase"], "rolling_back");
        assert_eq!(v["changes"][0]["to"], "litellm:1.108.7");
        std::fs::write(upgrade::journal::path(dir.path()), "{not json").expect("garbage");
        let (m, v) = journal_status(dir.path(), cmd).expect("said");
        assert_eq!(
            (m.key, v["state"].as_str()),
            ("upgrade.journal.unreadable", Some("unreadable"))
        );
    }
}
