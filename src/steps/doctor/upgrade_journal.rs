//! An upgrade journal (`.litellm-stack/upgrade.json`) left in the install dir: an upgrade that
//! did not end cleanly (killed, or its rollback failed), which a re-run of `upgrade` settles
//! first, or one running now. Needs no engine: the file alone says it.

use super::{Context, Finding};
use crate::error::Result;
use crate::steps::upgrade::journal::{self, Found};

pub const ID: &str = "upgrade.journal";

pub fn check(ctx: &Context) -> Finding {
    let path = journal::path(ctx.dir()).display().to_string();
    judge(journal::look(ctx.dir()), &path, &ctx.follow_up("upgrade"))
}

/// `upgrade_cmd`: `litellm-stack upgrade` for this install, as the user types it.
pub fn judge(found: Result<Option<Found>>, path: &str, upgrade_cmd: &str) -> Finding {
    let seen = |j: &journal::Journal| {
        format!(
            "{path}: phase {}, process {}, started {}, {}",
            j.phase.name(),
            j.pid,
            j.started,
            j.summary()
        )
    };
    match found {
        Ok(None) => Finding::pass(ID, msg!("doctor.upgrade.none")),
        Ok(Some(Found::Running(j))) => Finding::warn(
            ID,
            msg!("doctor.upgrade.running")
                .arg("pid", j.pid)
                .arg("changes", j.summary()),
            msg!("doctor.fix.upgrade_running"),
        )
        .seen(seen(&j)),
        Ok(Some(Found::Unfinished(j))) => Finding::fail(
            ID,
            msg!("doctor.upgrade.unfinished")
                .arg("changes", j.summary())
                .arg("started", &j.started),
            msg!("doctor.fix.upgrade_unfinished").arg("cmd", upgrade_cmd),
        )
        .seen(seen(&j)),
        Err(e) => {
            let fix = e
                .hint
                .clone()
                .unwrap_or_else(|| msg!("upgrade.journal.unreadable.hint"));
            let f = Finding::fail(ID, e.what.clone(), fix);
            match &e.detail {
                Some(d) => f.seen(format!("{path}: {d}")),
                None => f,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Verdict;
    use super::*;
    use crate::i18n::Lang;

    const CMD: &str = "litellm-stack upgrade --dir /srv/llm";

    fn unfinished_in(dir: &std::path::Path) {
        std::fs::create_dir_all(dir.join(".litellm-stack")).expect("mkdir");
        std::fs::write(
            journal::path(dir),
            r#"{"format": 1, "started": "20261204T143000.000000Z", "pid": 4194304, "phase": "changing",
                "changes": [{"service": "litellm", "from": "litellm:1.106.12", "to": "litellm:1.108.7"}],
                "backup": "/srv/llm/backups/litellm-backup-x.tar.gz", "lock_before": null}"#,
        )
        .expect("write");
    }

    #[test]
    fn doctor_names_an_unfinished_upgrade_and_the_re_run_that_settles_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = journal::path(dir.path()).display().to_string();
        let none = judge(journal::look(dir.path()), &path, CMD);
        assert_eq!((none.id.as_str(), none.verdict), (ID, Verdict::Pass));

        // A killed run's journal (its process is gone).
        unfinished_in(dir.path());
        let f = judge(journal::look(dir.path()), &path, CMD);
        assert_eq!(f.verdict, Verdict::Fail);
        for lang in [Lang::En, Lang::ZhTw] {
            let summary = f.summary.text(lang);
            assert!(summary.contains("litellm:1.106.12 → litellm:1.108.7"), "{summary}");
            let fix = f.fix.as_ref().expect("a fix").text(lang);
            assert!(fix.contains(CMD), "{fix}");
        }
        assert!(f.fix.as_ref().expect("a fix").text(Lang::En).contains("rolls"));
        assert_eq!(f.evidence.len(), 1);
        assert!(f.evidence[0].contains("phase changing"), "{:?}", f.evidence);

        // One whose process runs now (this test's own parent process stands in).
        #[cfg(target_os = "linux")]
        {
            let mut j = journal::read(dir.path()).expect("read").expect("some");
            j.pid = std::os::unix::process::parent_id();
            journal::write(dir.path(), &j).expect("write");
            let running = judge(journal::look(dir.path()), &path, CMD);
            assert_eq!(running.verdict, Verdict::Warn);
            assert!(running.summary.text(Lang::En).contains(&j.pid.to_string()));
        }

        // An unreadable one: the file named, never guessed at.
        std::fs::write(journal::path(dir.path()), "{not json").expect("garbage");
        let bad = judge(journal::look(dir.path()), &path, CMD);
        assert_eq!(bad.verdict, Verdict::Fail);
        assert!(
            bad.summary.text(Lang::En).contains(&path),
            "{}",
            bad.summary.text(Lang::En)
        );
    }
}
