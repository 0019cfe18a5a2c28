//! `doctor`: the checks of `steps::doctor` on the install, printed by the report. Exit 0 when
//! every check passes (warnings allowed), 1 when one fails, 3 when no engine answers. And
//! `support-bundle`: the same report, with status, logs and files, in one masked archive.

use std::path::Path;

use crate::cli::Target;
use crate::error::{Exit, Result};
use crate::platform::Os;
use crate::report::Printer;
use crate::steps;
use crate::steps::support_bundle::{self, Entry};
use crate::workspace::{absolutize, load_answers, stamp_now};

pub fn run(t: &Target, p: &Printer) -> Result<Exit> {
    let os = Os::current();
    let answers = load_answers(t.answers.as_deref(), t.dir.as_deref(), os)?;
    answers.validate(os)?;
    super::stack::require_install(&answers.dir)?;
    let diagnosis = super::install::runtime()?.block_on(steps::doctor::run(answers, os))?;
    p.diagnosed(&diagnosis);
    Ok(diagnosis.exit())
}

pub fn support_bundle(t: &Target, out: Option<&Path>, p: &Printer) -> Result<Exit> {
    let os = Os::current();
    let answers = load_answers(t.answers.as_deref(), t.dir.as_deref(), os)?;
    answers.validate(os)?;
    super::stack::require_install(&answers.dir)?;
    let ctx = steps::doctor::Context::new(answers, os)?;
    let runtime = super::install::runtime()?;
    let diagnosis = runtime.block_on(steps::doctor::diagnose(&ctx));
    // In English, whatever the user reads: the bundle goes to whoever helps.
    let lang = crate::i18n::Lang::En;
    let json: Vec<String> = crate::report::doctor::json_lines(&diagnosis, lang)
        .iter()
        .map(|v| v.to_string())
        .collect();
    let text: Vec<String> = crate::report::doctor::text(&diagnosis, lang)
        .into_iter()
        .map(|l| l.text)
        .collect();
    let report = vec![
        Entry {
            path: "doctor.json".into(),
            text: json.join("\n") + "\n",
        },
        Entry {
            path: "doctor.txt".into(),
            text: text.join("\n") + "\n",
        },
    ];
    let path = out.map_or_else(|| support_bundle::default_path(&ctx, &stamp_now()), absolutize);
    let entries = runtime.block_on(support_bundle::write(&ctx, report, &path))?;
    let size = std::fs::metadata(&path).map_or(0, |m| m.len());
    p.line(
        &msg!("doctor.bundle.written")
            .arg("path", path.display())
            .arg("count", entries.len())
            .arg("kib", size.div_ceil(1024))
            .text(p.lang),
    );
    if !entries.iter().any(|e| e.starts_with("logs/")) {
        p.warn(&msg!("doctor.bundle.no_engine"));
    }
    Ok(Exit::Ok)
}
