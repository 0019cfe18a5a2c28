//! `backup`, `backup list`, `backup verify FILE`, `restore FILE`: parse, run the plan in
//! `steps::backup` / `steps::restore`, report. Every path printed of an archive says that it
//! holds the secrets.

use std::io::IsTerminal;
use std::path::Path;

use super::install::runtime;
use super::stack::{follow_up, require_install};
use crate::cli::Target;
use crate::error::{Error, Exit, Result};
use crate::howto::quote_path;
use crate::platform::Os;
use crate::report::Printer;
use crate::steps::{backup, restore, session};
use crate::workspace::load_answers;

/// Runs `f` until it ends or Ctrl-C. On Ctrl-C, `f` is dropped (its temp files go with it)
/// and `cleanup` undoes at once what it left in the stack (a second Ctrl-C skips that); then
/// exit 130, with `hint` saying what is left.
pub(super) fn until_ctrl_c<T, C: std::future::Future<Output = Result<()>>>(
    f: impl std::future::Future<Output = Result<T>>,
    cleanup: impl FnOnce() -> C,
    hint: crate::i18n::Msg,
    p: &Printer,
) -> Result<T> {
    runtime()?.block_on(async {
        tokio::select! {
            r = f => return r,
            _ = tokio::signal::ctrl_c() => {}
        }
        p.note(&msg!("day2.interrupt.cleaning"));
        let cleaned = tokio::select! {
            r = tokio::time::timeout(std::time::Duration::from_secs(120), cleanup()) => match r {
                Ok(r) => r,
                Err(_) => Err(Error::failed(msg!("day2.interrupt.cleanup_timeout"))),
            },
            _ = tokio::signal::ctrl_c() => Err(Error::interrupted(msg!("day2.interrupt.cleanup_skipped"))),
        };
        if let Err(e) = cleaned {
            p.warn(&msg!("day2.interrupt.cleanup_failed").arg("error", e.render(p.lang)));
        }
        Err(Error::interrupted(msg!("engine.install.interrupted")).hint(hint))
    })
}

/// What a stopped backup or restore leaves in the stack, undone (`restore::after_interrupt`).
pub(super) async fn after_interrupt(source: Option<backup::Source>, restoring: bool) -> Result<()> {
    let Some(source) = source else { return Ok(()) };
    let engine = session::connect().await?;
    restore::after_interrupt(&engine, &source, restoring).await
}

fn source(t: &Target) -> Result<backup::Source> {
    let os = Os::current();
    let answers = load_answers(t.answers.as_deref(), t.dir.as_deref(), os)?;
    answers.validate(os)?;
    require_install(&answers.dir)?;
    backup::Source::of(&answers)
}

/// `backup verify '<file>'` as the user types it, in their shell.
fn verify_command(file: &Path, dir: &Path) -> String {
    let shell = Os::current().shell();
    let quoted = quote_path(shell, &file.display().to_string());
    follow_up(&format!("backup verify {quoted}"), dir)
}

pub fn backup(t: &Target, out: Option<&Path>, p: &Printer) -> Result<Exit> {
    let source = source(t)?;
    let opts = backup::BackupOptions {
        out: out.map(Path::to_path_buf),
        protect: None,
    };
    let report = until_ctrl_c(
        backup::backup(&source, &opts, p),
        || after_interrupt(Some(source.clone()), false),
        msg!("day2.interrupt.backup.hint").arg("dir", source.backups_dir().display()),
        p,
    )?;
    let saved = msg!("backup.saved")
        .arg("file", report.path.display())
        .arg("size", backup::mib(report.size));
    if p.json {
        p.json_value(&crate::report::day2::backed_up(&report, &saved, p.lang));
        return Ok(Exit::Ok);
    }
    p.line(&saved.text(p.lang));
    p.line(
        &msg!("backup.next")
            .arg("cmd", verify_command(&report.path, &source.dir))
            .text(p.lang),
    );
    Ok(Exit::Ok)
}

pub fn list(t: &Target, p: &Printer) -> Result<Exit> {
    let source = source(t)?;
    let listed = backup::list(&source.dir);
    if listed.is_empty() {
        p.line(
            &msg!("backup.list.none")
                .arg("dir", source.backups_dir().display())
                .arg("cmd", follow_up("backup", &source.dir))
                .text(p.lang),
        );
        return Ok(Exit::Ok);
    }
    let col = |k| crate::i18n::t(p.lang, k);
    let mut rows = vec![vec![
        col(key!("backup.list.col.time")),
        col(key!("backup.list.col.size")),
        col(key!("backup.list.col.litellm")),
        col(key!("backup.list.col.counts")),
    ]];
    let mut names = Vec::new();
    for l in &listed {
        let size = format!("{} MiB", backup::mib(l.size));
        match &l.manifest {
            Ok(m) => rows.push(vec![
                m.created.clone(),
                size,
                m.litellm_version.clone().unwrap_or_else(|| "-".into()),
                short_counts(m, p.lang),
            ]),
            Err(e) => rows.push(vec!["?".into(), size, "-".into(), e.what.text(p.lang)]),
        }
        names.push(l.path.display().to_string());
    }
    let table = crate::report::table::columns(&rows, "", 2);
    let mut lines = table.into_iter();
    if let Some(header) = lines.next() {
        p.line(&header);
    }
    for (line, name) in lines.zip(&names) {
        p.line(&line);
        p.line(&format!("    {name}"));
    }
    p.line(&msg!("backup.secrets").text(p.lang));
    Ok(Exit::Ok)
}

/// `keys 3, models 1, spend 12, …` in the user's language.
fn short_counts(m: &backup::Manifest, lang: crate::i18n::Lang) -> String {
    let short = |t: &str, n: u64| {
        let m = match t {
            "LiteLLM_VerificationToken" => msg!("backup.list.keys"),
            "LiteLLM_ProxyModelTable" => msg!("backup.list.models"),
            "LiteLLM_SpendLogs" => msg!("backup.list.spend"),
            "LiteLLM_UserTable" => msg!("backup.list.users"),
            "LiteLLM_TeamTable" => msg!("backup.list.teams"),
            "LiteLLM_BudgetTable" => msg!("backup.list.budgets"),
            _ => msg!("backup.list.credentials"),
        };
        m.arg("n", n).text(lang)
    };
    backup::COUNTED_TABLES
        .iter()
        .filter_map(|t| m.counts.get(*t).map(|n| short(t, *n)))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn verify(file: &Path, t: &Target, p: &Printer) -> Result<Exit> {
    let os = Os::current();
    let answers = load_answers(t.answers.as_deref(), t.dir.as_deref(), os)?;
    let project = answers.project_name();
    let image = answers.images.reference("postgres");
    // A Ctrl-C drops the check mid-way: its throwaway container goes then.
    let manifest = until_ctrl_c(
        backup::verify(file, &project, &image, p),
        || async {
            let engine = session::connect().await?;
            backup::remove_leftovers(&engine, &project).await;
            Ok(())
        },
        msg!("day2.interrupt.verify.hint"),
        p,
    )?;
    p.line(
        &msg!("backup.verify.passed")
            .arg("file", file.display())
            .arg("created", &manifest.created)
            .arg("counts", backup::counts_text(&manifest.counts))
            .text(p.lang),
    );
    Ok(Exit::Ok)
}

fn confirm_restore(plan: &restore::RestorePlan, p: &Printer) -> Result<()> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(
            Error::input(msg!("restore.needs_yes").arg("dir", plan.dir.display())).hint(msg!("restore.needs_yes.hint"))
        );
    }
    if super::confirmed(
        &msg!("restore.confirm")
            .arg("dir", plan.dir.display())
            .arg("created", &plan.manifest.created)
            .text(p.lang),
    ) {
        Ok(())
    } else {
        Err(Error::input(msg!("restore.cancelled")))
    }
}

pub fn restore(file: &Path, t: &Target, yes: bool, p: &Printer) -> Result<Exit> {
    let os = Os::current();
    let plan = restore::plan(file, t.dir.as_deref(), t.answers.as_deref(), os)?;
    if !plan.new_dir && !yes {
        confirm_restore(&plan, p)?;
    }
    // The install the restore works on, once it has a `.env` (a new dir gets the archive's).
    let source = || {
        load_answers(t.answers.as_deref(), Some(&plan.dir), os)
            .and_then(|a| backup::Source::of(&a))
            .ok()
    };
    let report = until_ctrl_c(
        restore::run(&plan, os, p),
        || after_interrupt(source(), true),
        msg!("day2.interrupt.restore.hint")
            .arg("file", plan.archive.display())
            .arg("dir", plan.dir.display()),
        p,
    )?;
    let finished = msg!("restore.finished")
        .arg("created", &report.manifest.created)
        .arg("dir", report.dir.display())
        .arg("cmd", follow_up("status", &report.dir));
    if p.json {
        p.json_value(&crate::report::day2::restored(
            &report,
            &plan.archive,
            &finished,
            p.lang,
        ));
        return Ok(Exit::Ok);
    }
    if let Some(previous) = &report.previous {
        p.line(&msg!("restore.previous").arg("file", previous.display()).text(p.lang));
        p.line(&msg!("backup.secrets").text(p.lang));
    }
    p.line(&finished.text(p.lang));
    Ok(Exit::Ok)
}
