//! The upgrade journal: `.litellm-stack/upgrade.json` in the install dir, written atomically
//! at every phase of a run, removed when the run ends cleanly. It holds no secret: the images
//! (old and new), the pre-upgrade backup's path, the images lock as it was and the phase.
//!
//! A run that ends any way but cleanly (a kill, a power cut, a Ctrl-C that could not finish)
//! leaves it behind; the next `upgrade` or `install` reads it first ([`recovery`]):
//! - `preparing` (pulling, the automatic backup): nothing of the stack changed. The images
//!   lock is put back and the journal dropped.
//! - `changing` / `rolling_back`, and the saved answers already name the new images: the new
//!   version had passed the gate (the answers are written only after it), so the upgrade is
//!   complete; the journal is dropped.
//! - `changing` / `rolling_back` otherwise: **rolled back**, as a failed gate is. The new
//!   version never passed its gate in that run and nothing says what it did after, while the
//!   old images with the backup taken from them are the last state known good, and the saved
//!   answers still name them. A re-run of `upgrade` then upgrades again from that state, with
//!   its own backup and gate (so from the user's view the re-run completes the upgrade).
//!
//! Both ways of bringing the new version in fit, and the journal need not say which: the
//! rollback looks at the engine and the database itself (rollback.rs). When the migrations
//! that ran are additive (the blue/green path's condition), an old LiteLLM still running on
//! its old image keeps serving and the database stays as it is; otherwise the new version's
//! containers go, the database is switched back when migrations ran, and the old ones return.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{ImageChange, UpgradePlan};
use crate::engine::pull::IMAGES_LOCK;
use crate::error::{Error, Result};
use crate::platform::join_rel;
use crate::render::write::write_atomic;

/// Where the journal lives, relative to the install dir.
pub const JOURNAL: &str = ".litellm-stack/upgrade.json";
const FORMAT: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Preflight, pulls, the automatic backup: the stack is as it was.
    Preparing,
    /// From the point of change on: new containers being made and started, the gate running.
    Changing,
    /// The way back is under way.
    RollingBack,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub service: String,
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    pub format: u32,
    /// The run's stamp (also in its log file's name).
    pub started: String,
    pub pid: u32,
    pub phase: Phase,
    pub changes: Vec<Change>,
    /// The pre-upgrade backup, once made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<PathBuf>,
    /// `images.lock.yaml` as it was before the run (image references and digests only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_before: Option<String>,
}

impl Journal {
    pub fn new(plan: &UpgradePlan, lock_before: Option<String>) -> Journal {
        Journal {
            format: FORMAT,
            started: plan.stamp.clone(),
            pid: std::process::id(),
            phase: Phase::Preparing,
            changes: plan
                .changes
                .iter()
                .map(|c| Change {
                    service: c.service.clone(),
                    from: c.from.clone(),
                    to: c.to.clone(),
                })
                .collect(),
            backup: None,
            lock_before,
        }
    }

    pub fn image_changes(&self) -> Vec<ImageChange> {
        self.changes
            .iter()
            .map(|c| ImageChange {
                service: c.service.clone(),
                from: c.from.clone(),
                to: c.to.clone(),
            })
            .collect()
    }

    /// `a → b, c → d`, for messages.
    pub fn summary(&self) -> String {
        self.changes
            .iter()
            .map(|c| format!("{}: {} → {}", c.service, c.from, c.to))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

pub fn path(dir: &Path) -> PathBuf {
    join_rel(dir, JOURNAL)
}

/// The journal an earlier run left, if any. An unreadable one is an error (exit 3) naming
/// the file: guessing what that run did could run the wrong version on the data.
pub fn read(dir: &Path) -> Result<Option<Journal>> {
    let p = path(dir);
    let bytes = match std::fs::read(&p) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&p, &e)),
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        Error::environment(msg!("upgrade.journal.unreadable").arg("path", p.display()))
            .hint(msg!("upgrade.journal.unreadable.hint"))
            .detail(e)
    })
}

pub fn write(dir: &Path, j: &Journal) -> Result<()> {
    let p = path(dir);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, &e))?;
    }
    let mut bytes =
        serde_json::to_vec_pretty(j).map_err(|e| Error::failed(msg!("upgrade.journal.unwritable")).detail(e))?;
    bytes.push(b'\n');
    write_atomic(&p, &bytes, false)
}

/// Sets the phase (and the backup, when given) of the journal on disk.
pub fn set_phase(dir: &Path, phase: Phase, backup: Option<&Path>) -> Result<()> {
    let Some(mut j) = read(dir)? else {
        return Ok(());
    };
    j.phase = phase;
    if let Some(b) = backup {
        j.backup = Some(b.to_path_buf());
    }
    write(dir, &j)
}

pub fn remove(dir: &Path) {
    let p = path(dir);
    let _ = std::fs::remove_file(&p);
    if let Some(parent) = p.parent() {
        // Only when empty: the folder may hold other state one day.
        let _ = std::fs::remove_dir(parent);
    }
}

/// After a run's end: a clean end (done, stopped before the point of change, or rolled back)
/// drops the journal; a failed rollback (or new images that passed but could not be saved)
/// keeps it, so that the next run finishes the way back.
pub fn settle(dir: &Path, err: Option<&Error>) {
    let clean = match err {
        None => true,
        Some(e) => {
            e.what.key == "upgrade.error.rolled_back"
                || read(dir).ok().flatten().is_none_or(|j| j.phase == Phase::Preparing)
        }
    };
    if clean {
        remove(dir);
    }
}

/// Puts `images.lock.yaml` back as the journal recorded it.
pub fn restore_lock(dir: &Path, j: &Journal) {
    if let Some(text) = &j.lock_before {
        let _ = write_atomic(&join_rel(dir, IMAGES_LOCK), text.as_bytes(), false);
    }
}

/// What a look into an install dir finds (`doctor`, `status`), changing nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// An upgrade runs there now: its process is alive.
    Running(Journal),
    /// An upgrade that did not end cleanly (killed, or its rollback failed): the next
    /// `upgrade` or `install` settles it.
    Unfinished(Journal),
}

/// The journal of `dir`, if any, and whether its run is still going. An unreadable one is the
/// error [`read`] gives.
pub fn look(dir: &Path) -> Result<Option<Found>> {
    Ok(read(dir)?.map(|j| {
        if j.pid != std::process::id() && process_alive(j.pid) {
            Found::Running(j)
        } else {
            Found::Unfinished(j)
        }
    }))
}

/// Whether a process of that id runs (Linux: /proc; elsewhere unknown, taken as not).
pub fn process_alive(pid: u32) -> bool {
    cfg!(target_os = "linux") && Path::new(&format!("/proc/{pid}")).exists()
}

impl Phase {
    /// As the journal file spells it.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Preparing => "preparing",
            Phase::Changing => "changing",
            Phase::RollingBack => "rolling_back",
        }
    }
}

/// What an unfinished run asks of the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// Stopped before the point of change: nothing to undo.
    NothingChanged,
    /// The new version had passed its gate and was saved: nothing to do.
    Completed,
    /// Roll back to the images the saved answers name.
    RollBack,
}

/// `saved_image(service)`: the image the saved answers name for a service.
pub fn recovery(j: &Journal, saved_image: impl Fn(&str) -> Option<String>) -> Recovery {
    if j.phase == Phase::Preparing {
        return Recovery::NothingChanged;
    }
    let saved_new = !j.changes.is_empty()
        && j.changes
            .iter()
            .all(|c| saved_image(&c.service).as_deref() == Some(c.to.as_str()));
    if saved_new {
        Recovery::Completed
    } else {
        Recovery::RollBack
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn journal(phase: Phase) -> Journal {
        Journal {
            format: FORMAT,
            started: "20261204T143000.000000Z".into(),
            pid: 1,
            phase,
            changes: vec![Change {
                service: "litellm".into(),
                from: "litellm:1.106.12".into(),
                to: "litellm:1.108.7".into(),
            }],
            backup: Some(PathBuf::from("/i/backups/litellm-backup-x.tar.gz")),
            lock_before: Some("images: {}\n".into()),
        }
    }

    #[test]
    fn what_a_re_run_does_with_an_unfinished_upgrade() {
        let old = |_: &str| Some("litellm:1.106.12".to_string());
        let new = |_: &str| Some("litellm:1.108.7".to_string());
        assert_eq!(recovery(&journal(Phase::Preparing), old), Recovery::NothingChanged);
        assert_eq!(recovery(&journal(Phase::Preparing), new), Recovery::NothingChanged);
        assert_eq!(recovery(&journal(Phase::Changing), old), Recovery::RollBack);
        assert_eq!(recovery(&journal(Phase::RollingBack), old), Recovery::RollBack);
        assert_eq!(recovery(&journal(Phase::Changing), new), Recovery::Completed);
        assert_eq!(recovery(&journal(Phase::Changing), |_: &str| None), Recovery::RollBack);
    }

    #[test]
    fn the_journal_round_trips_and_an_unreadable_one_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(read(dir.path()).expect("none"), None);
        let j = journal(Phase::Changing);
        write(dir.path(), &j).expect("write");
        assert_eq!(read(dir.path()).expect("read"), Some(j.clone()));
        set_phase(dir.path(), Phase::RollingBack, None).expect("phase");
        let back = read(dir.path()).expect("read").expect("some");
        assert_eq!((back.phase, back.backup), (Phase::RollingBack, j.backup));
        let text = std::fs::read_to_string(path(dir.path())).expect("text");
        assert!(text.contains("\"phase\": \"rolling_back\""), "{text}");
        for phase in [Phase::Preparing, Phase::Changing, Phase::RollingBack] {
            assert_eq!(serde_json::to_value(phase).expect("json"), phase.name());
        }
        std::fs::write(path(dir.path()), "{not json").expect("garbage");
        let e = read(dir.path()).expect_err("unreadable");
        assert_eq!(e.exit, crate::error::Exit::Environment);
        remove(dir.path());
        assert!(!dir.path().join(".litellm-stack").exists());
    }
}
