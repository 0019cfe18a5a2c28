//! `doctor`'s result: a line per check (its id, a mark, what was found; for a warning or a
//! failure the evidence and the fix under it) and a summary; or a `check` JSON line per check
//! and a `diagnosed` line last. Pure: [`Printer::diagnosed`] writes what these return.

use serde_json::{Value, json};

use super::{Line, Printer, human_duration, millis, table};
use crate::i18n::{Lang, Msg};
use crate::steps::doctor::{Diagnosis, Finding, Verdict};

fn mark(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "✓",
        Verdict::Warn => "!",
        Verdict::Fail => "✗",
        Verdict::Skip => "-",
    }
}

fn summary_msg(d: &Diagnosis) -> Msg {
    let key = if d.engine_unreachable {
        key!("doctor.summary.no_engine")
    } else if d.count(Verdict::Fail) > 0 {
        key!("doctor.summary.failed")
    } else {
        key!("doctor.summary.ok")
    };
    Msg::new(key)
        .arg("passed", d.count(Verdict::Pass))
        .arg("warned", d.count(Verdict::Warn))
        .arg("failed", d.count(Verdict::Fail))
        .arg("skipped", d.count(Verdict::Skip))
        .arg("elapsed", human_duration(d.elapsed))
}

/// The text lines, all on stdout: the report is the command's output.
pub fn text(d: &Diagnosis, lang: Lang) -> Vec<Line> {
    let mut out = vec![Line::out(
        msg!("doctor.header")
            .arg("dir", d.dir.display())
            .arg("project", &d.project)
            .text(lang),
    )];
    let w = d.findings.iter().map(|f| table::width(&f.id)).max().unwrap_or(0);
    let indent = " ".repeat(w + 6);
    for f in &d.findings {
        out.push(Line::out(format!(
            "  {} {}  {}",
            mark(f.verdict),
            table::pad(&f.id, w),
            f.summary.text(lang)
        )));
        if matches!(f.verdict, Verdict::Pass | Verdict::Skip) {
            continue;
        }
        for e in &f.evidence {
            out.push(Line::out(format!("{indent}{e}")));
        }
        if let Some(fix) = &f.fix {
            let text = format!("{}{}", msg!("label.fix").text(lang), fix.text(lang));
            out.push(Line::out(format!(
                "{indent}{}",
                text.replace('\n', &format!("\n{indent}"))
            )));
        }
    }
    out.push(Line::out(summary_msg(d).text(lang)));
    out
}

fn check(f: &Finding, lang: Lang) -> Value {
    json!({
        "event": "check",
        "id": f.id,
        "verdict": f.verdict,
        "code": f.summary.key,
        "message": f.summary.text(lang),
        "evidence": f.evidence,
        "fix_code": f.fix.as_ref().map(|m| m.key),
        "fix": f.fix.as_ref().map(|m| m.text(lang)),
    })
}

/// The JSON lines: one `check` per finding, then `diagnosed`.
pub fn json_lines(d: &Diagnosis, lang: Lang) -> Vec<Value> {
    let mut out: Vec<Value> = d.findings.iter().map(|f| check(f, lang)).collect();
    let summary = summary_msg(d);
    out.push(json!({
        "event": "diagnosed",
        "code": summary.key,
        "message": summary.text(lang),
        "dir": d.dir,
        "project": d.project,
        "exit": d.exit().code(),
        "passed": d.count(Verdict::Pass),
        "warned": d.count(Verdict::Warn),
        "failed": d.count(Verdict::Fail),
        "skipped": d.count(Verdict::Skip),
        "elapsed_ms": millis(d.elapsed),
    }));
    out
}

impl Printer {
    /// `doctor`'s result, as text or JSON lines.
    pub fn diagnosed(&self, d: &Diagnosis) {
        if self.json {
            for v in json_lines(d, self.lang) {
                self.json_value(&v);
            }
        } else {
            self.write(&text(d, self.lang));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::time::Duration;

    fn diagnosis() -> Diagnosis {
        Diagnosis {
            dir: PathBuf::from("/home/ada/litellm"),
            project: "litellm".into(),
            findings: vec![
                Finding::pass("engine.reachable", msg!("doctor.crlf.ok")),
                Finding::fail(
                    "nginx.upstream",
                    msg!("doctor.upstream.litellm_side")
                        .arg("url", "http://127.0.0.1:80")
                        .arg("status", 502)
                        .arg("port", 4000),
                    msg!("doctor.fix.see_logs").arg("cmd", "litellm-stack logs litellm"),
                )
                .seen("GET http://127.0.0.1:80/health/readiness: HTTP 502"),
            ],
            elapsed: Duration::from_millis(800),
            engine_unreachable: false,
        }
    }

    #[test]
    fn a_failed_check_shows_its_evidence_and_fix_in_both_languages() {
        for lang in Lang::ALL {
            let lines: Vec<String> = text(&diagnosis(), lang).into_iter().map(|l| l.text).collect();
            let all = lines.join("\n");
            assert!(all.contains("✗ nginx.upstream"), "{all}");
            assert!(all.contains("HTTP 502"), "{all}");
            assert!(all.contains("litellm-stack logs litellm"), "{all}");
        }
    }

    #[test]
    fn every_check_is_a_json_line_with_its_id_and_the_summary_comes_last() {
        let lines = json_lines(&diagnosis(), Lang::En);
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[1]["id"], "nginx.upstream");
        assert_eq!(lines[1]["verdict"], "fail");
        assert_eq!(lines[1]["fix_code"], "doctor.fix.see_logs");
        assert_eq!(lines[2]["event"], "diagnosed");
        assert_eq!(lines[2]["exit"], 1);
    }
}
