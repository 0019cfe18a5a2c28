//! `render` and `plan`.

use crate::cli::Target;
use crate::error::{Exit, Result};
use crate::platform::Os;
use crate::render::write::{ChangeKind, kind_msg};
use crate::report::{Printer, table};
use crate::workspace::{Workspace, load_answers, stamp_now};

/// `writes`: `render`, which holds the install dir's lock from before `.env` is read.
fn prepare(target: &Target, p: &Printer, writes: bool) -> Result<Workspace> {
    let os = Os::current();
    let answers = load_answers(target.answers.as_deref(), target.dir.as_deref(), os)?;
    let env = |k: &str| std::env::var(k).ok();
    let ws = if writes {
        Workspace::prepare_for_write(answers, os, &env, true)?
    } else {
        Workspace::prepare(answers, os, &env)?
    };
    if ws.env_had_crlf {
        p.warn(&msg!("warn.env_crlf"));
    }
    Ok(ws)
}

/// `  create     .env`: the change padded by display width (zh-TW's words are two columns a
/// character), as wide as the widest change word of the language.
pub fn change_line(kind: ChangeKind, path: &str, lang: crate::i18n::Lang) -> String {
    let w = [ChangeKind::Create, ChangeKind::Update, ChangeKind::Unchanged]
        .iter()
        .map(|k| table::width(&kind_msg(*k).text(lang)))
        .max()
        .unwrap_or(0);
    format!("  {} {path}", table::pad(&kind_msg(kind).text(lang), w.max(10)))
}

pub fn render(target: &Target, p: &Printer) -> Result<Exit> {
    let ws = prepare(target, p, true)?;
    let report = crate::steps::guards::write_guarded(&ws, &stamp_now())?;
    if p.json {
        p.json_value(&serde_json::json!({
            "dir": ws.dir(),
            "files": report.changes.iter().map(|c| serde_json::json!({"path": c.path, "change": c.kind})).collect::<Vec<_>>(),
            "backups": report.backups,
        }));
        return Ok(Exit::Ok);
    }
    p.line(&msg!("render.dir").arg("dir", ws.dir().display()).text(p.lang));
    for c in &report.changes {
        p.line(&change_line(c.kind, &c.path, p.lang));
    }
    for b in &report.backups {
        p.line(&msg!("render.backup").arg("path", b).text(p.lang));
    }
    if report.all_unchanged() {
        p.line(&msg!("render.all_unchanged").text(p.lang));
    }
    Ok(Exit::Ok)
}

pub fn plan(target: &Target, p: &Printer) -> Result<Exit> {
    let ws = prepare(target, p, false)?;
    let changes = ws.plan()?;
    if p.json {
        p.json_value(&serde_json::json!({
            "dir": ws.dir(),
            "files": changes.iter().map(|c| serde_json::json!({"path": c.path, "change": c.kind, "diff": c.diff})).collect::<Vec<_>>(),
        }));
        return Ok(Exit::Ok);
    }
    p.line(&msg!("plan.dir").arg("dir", ws.dir().display()).text(p.lang));
    for c in &changes {
        p.line(&change_line(c.kind, &c.path, p.lang));
        if let (ChangeKind::Update, Some(d)) = (c.kind, &c.diff) {
            for l in d.lines() {
                p.line(&format!("      {l}"));
            }
        }
    }
    p.line(&msg!("plan.nothing_written").text(p.lang));
    Ok(Exit::Ok)
}
