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
    let written = runtime.block_on(support_bundle::write(&ctx, report, &path))?;
    let size = std::fs::metadata(&path).map_or(0, |m| m.len());
    p.line(
        &msg!("doctor.bundle.written")
            .arg("path", path.display())
            .arg("count", written.members.len())
            .arg("kib", size.div_ceil(1024))
            .text(p.lang),
    );
    let names: Vec<String> = written.redacted.keys().map(|k| k.label()).collect();
    let quoted = crate::howto::quote_path(os.shell(), &path.display().to_string());
    p.line(
        &msg!("day2.bundle.redacted")
            .arg("total", written.redacted.values().sum::<usize>())
            .arg("names", names.join(", "))
            .arg("cmd", ctx.follow_up(&format!("support-bundle --check {quoted}")))
            .text(p.lang),
    );
    if !written.members.iter().any(|e| e.starts_with("logs/")) {
        p.warn(&msg!("doctor.bundle.no_engine"));
    }
    Ok(Exit::Ok)
}

/// `support-bundle --check FILE`: exit 0 when clean, 1 when a secret is found (named by member
/// and kind), 2 when the file is not a bundle. The install's `.env` values are looked for when
/// its dir has one.
pub fn check_bundle(t: &Target, file: &Path, p: &Printer) -> Result<Exit> {
    use crate::steps::support_bundle::{check, scan::Redactor};
    let os = Os::current();
    let file = absolutize(file);
    let dir = load_answers(t.answers.as_deref(), t.dir.as_deref(), os)
        .map(|a| a.dir)
        .ok();
    let env_path = dir.as_ref().map(|d| crate::platform::join_rel(d, ".env"));
    let redactor = match (&dir, &env_path) {
        (Some(dir), Some(env)) if env.is_file() => Redactor::of_install(dir, &crate::secrets::ExistingEnv::read(env)?),
        _ => {
            let shown = dir.as_ref().map_or_else(|| os.default_dir(), Clone::clone);
            p.warn(&msg!("day2.check.no_env").arg("dir", shown.display()));
            Redactor::default()
        }
    };
    let checked = check::check(&file, &redactor)?;
    if checked.found.is_empty() {
        let m = match &env_path {
            Some(env) if !redactor.is_empty() => msg!("day2.check.clean")
                .arg("values", redactor.len())
                .arg("env", env.display()),
            _ => msg!("day2.check.clean_no_env"),
        };
        p.line(
            &m.arg("file", file.display())
                .arg("members", checked.members)
                .text(p.lang),
        );
        return Ok(Exit::Ok);
    }
    for f in &checked.found {
        p.line(
            &msg!("day2.check.found_member")
                .arg("member", &f.member)
                .nested("kind", support_bundle::kind_msg(&f.kind))
                .arg("count", f.count)
                .text(p.lang),
        );
    }
    let members: std::collections::BTreeSet<&str> = checked.found.iter().map(|f| f.member.as_str()).collect();
    Err(crate::error::Error::failed(
        msg!("day2.check.found")
            .arg("file", file.display())
            .arg("count", checked.found.iter().map(|f| f.count).sum::<usize>())
            .arg("members", members.len()),
    )
    .hint(msg!("day2.check.found.hint")))
}
