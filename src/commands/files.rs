//! `render` and `plan`.

use crate::cli::Target;
use crate::error::{Exit, Result};
use crate::platform::Os;
use crate::render::write::{ChangeKind, kind_msg};
use crate::report::Printer;
use crate::workspace::{Workspace, load_answers, stamp_now};

fn prepare(target: &Target, p: &Printer) -> Result<Workspace> {
    let os = Os::current();
    let answers = load_answers(target.answers.as_deref(), target.dir.as_deref(), os)?;
    let ws = Workspace::prepare(answers, os, &|k| std::env::var(k).ok())?;
    if ws.env_had_crlf {
        p.warn(&msg!("warn.env_crlf"));
    }
    Ok(ws)
}

pub fn render(target: &Target, p: &Printer) -> Result<Exit> {
    let ws = prepare(target, p)?;
    let report = ws.write(&stamp_now())?;
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
        p.line(&format!("  {:<10} {}", kind_msg(c.kind).text(p.lang), c.path));
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
    let ws = prepare(target, p)?;
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
        p.line(&format!("  {:<10} {}", kind_msg(c.kind).text(p.lang), c.path));
        if let (ChangeKind::Update, Some(d)) = (c.kind, &c.diff) {
            for l in d.lines() {
                p.line(&format!("      {l}"));
            }
        }
    }
    p.line(&msg!("plan.nothing_written").text(p.lang));
    Ok(Exit::Ok)
}
