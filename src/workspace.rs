//! The install dir: answers and secrets brought together into the files to write.

use std::path::{Path, PathBuf};

use crate::answers::{Answers, SAVED_ANSWERS};
use crate::error::{Error, Result};
use crate::i18n::Msg;
use crate::platform::{Os, existing_ancestor, join_rel};
use crate::render::write::{self, ChangeKind, FileChange};
use crate::render::{RenderedFile, render_files};
use crate::secrets::{DotEnv, ExistingEnv, Secrets};
use crate::stack::Stack;

mod lock;
pub use lock::{DirLock, LOCK_FILE, lock_if_inside};

/// Where the answers of a run come from: an explicit file, else the install dir's saved
/// answers, else the defaults.
pub fn load_answers(answers_file: Option<&Path>, dir_flag: Option<&Path>, os: Os) -> Result<Answers> {
    let mut a = match answers_file {
        Some(f) => Answers::load(f)?,
        None => {
            let dir = dir_flag.map(Path::to_path_buf).unwrap_or_else(|| os.default_dir());
            let saved = join_rel(&dir, SAVED_ANSWERS);
            if saved.exists() {
                Answers::load(&saved)?
            } else {
                Answers::defaults_for(os)
            }
        }
    };
    if let Some(d) = dir_flag {
        a.dir = absolutize(d);
    }
    Ok(a)
}

/// A `--dir` given on the command line is relative to where the user stands.
pub fn absolutize(p: &Path) -> PathBuf {
    let p = crate::platform::expand_tilde(p);
    if p.is_absolute() {
        p
    } else {
        std::env::current_dir().map(|c| c.join(&p)).unwrap_or(p)
    }
}

/// Everything `render` and `install` write, computed before anything is written.
pub struct Workspace {
    pub answers: Answers,
    pub os: Os,
    pub stack: Stack,
    pub dotenv: DotEnv,
    pub files: Vec<RenderedFile>,
    /// The existing `.env` had CRLF endings (errata 22); it is rewritten with LF.
    pub env_had_crlf: bool,
    /// `.env`'s bytes as read by `prepare` (`None`: there was none, or it was given):
    /// `write` refuses to replace a `.env` another run changed since.
    env_read: Option<Option<Vec<u8>>>,
    /// The install dir's lock, held from `prepare_for_write` or the first `write` on.
    lock: std::sync::OnceLock<DirLock>,
}

impl Workspace {
    /// Validates the answers, reads the install dir's `.env` and renders every file in memory.
    pub fn prepare(answers: Answers, os: Os, process_env: &dyn Fn(&str) -> Option<String>) -> Result<Workspace> {
        answers.validate(os)?;
        check_is_folder(&answers.dir)?;
        let env_path = join_rel(&answers.dir, ".env");
        let raw = read_if_there(&env_path)?;
        let existing = match &raw {
            Some(bytes) => ExistingEnv::parse(&env_path, bytes)?,
            None => ExistingEnv::default(),
        };
        let mut ws = Workspace::prepare_with_env(answers, os, existing, process_env)?;
        ws.env_read = Some(raw);
        Ok(ws)
    }

    /// As `prepare`, for a command that writes: the install dir's lock is taken before `.env`
    /// is read, so two runs never both generate secrets (the second one reads the first
    /// one's). `create`: the dir is made now to hold the lock (`render`, which writes at
    /// once); otherwise the lock is taken now only if the dir exists (an install writes
    /// nothing before its preflight passed), else by `write`.
    pub fn prepare_for_write(
        answers: Answers,
        os: Os,
        process_env: &dyn Fn(&str) -> Option<String>,
        create: bool,
    ) -> Result<Workspace> {
        answers.validate(os)?;
        check_is_folder(&answers.dir)?;
        let lock = if create || answers.dir.is_dir() {
            check_writable(&answers.dir)?;
            Some(DirLock::acquire(&answers.dir)?)
        } else {
            None
        };
        let ws = Workspace::prepare(answers, os, process_env)?;
        if let Some(lock) = lock {
            let _ = ws.lock.set(lock);
        }
        Ok(ws)
    }

    /// As `prepare`, with the existing `.env` given (tests, and the wizard's preview).
    pub fn prepare_with_env(
        answers: Answers,
        os: Os,
        existing: ExistingEnv,
        process_env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Workspace> {
        answers.validate(os)?;
        let secrets = Secrets::keep_or_generate(&existing);
        let dotenv = crate::render::env::build(&answers, &secrets, &existing, process_env);
        crate::render::env::check(&dotenv, &join_rel(&answers.dir, ".env"))?;
        let stack = Stack::from_answers(&answers, os);
        let mut files = render_files(&answers, &stack, &dotenv);
        // reload: the tests' stand-in for a new version's nginx.conf (src/render/nginx.rs).
        crate::render::nginx::test_extra(&mut files, process_env);
        crate::render::prometheus::test_extra(&mut files, process_env);
        Ok(Workspace {
            answers,
            os,
            stack,
            dotenv,
            files,
            env_had_crlf: existing.had_crlf,
            env_read: None,
            lock: std::sync::OnceLock::new(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.answers.dir
    }

    pub fn plan(&self) -> Result<Vec<FileChange>> {
        if crate::platform::is_root() {
            self.check_no_links()?;
        }
        write::plan(self.dir(), &self.files, &self.dotenv.secret_values())
    }

    /// Run as root, the install must not follow a symbolic link inside the install dir: one
    /// planted by whoever can write there (`nginx -> /etc/nginx`, `prometheus_data -> /etc`,
    /// `config.yaml -> /etc/shadow`) would have root write, chown, back up or show in a diff
    /// whatever it points at. Every folder and file the install writes is checked, from the
    /// install dir down; the first link found is refused, by name (exit 2). The install dir
    /// itself may be a link: the validator refuses it when it leads to a system folder.
    pub fn check_no_links(&self) -> Result<()> {
        let rels = Stack::tree()
            .iter()
            .map(|s| s.to_string())
            .chain(["backups/files".to_string(), LOCK_FILE.to_string()])
            .chain(self.files.iter().map(|f| f.path.clone()));
        for rel in rels {
            let mut p = self.dir().to_path_buf();
            for part in rel.split('/') {
                p.push(part);
                match std::fs::symlink_metadata(&p) {
                    Ok(m) if m.file_type().is_symlink() => {
                        let target = std::fs::read_link(&p)
                            .map(|t| t.display().to_string())
                            .unwrap_or_default();
                        return Err(Error::input(
                            msg!("hardening.symlink").arg("path", p.display()).arg("target", target),
                        )
                        .hint(msg!("hardening.symlink_hint").arg("path", p.display())));
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        }
        Ok(())
    }

    /// Step A (the tree) and B–D (the files). Checks first that the dir can be written, so a
    /// bad dir is an input error with nothing written.
    pub fn write(&self, stamp: &str) -> Result<WriteReport> {
        check_writable(self.dir())?;
        if self.lock.get().is_none() {
            let lock = DirLock::acquire(self.dir())?;
            let _ = self.lock.set(lock);
            // Taken only now: `.env` must still be what the files were made from.
            let env_path = join_rel(self.dir(), ".env");
            if let Some(read) = &self.env_read {
                if &read_if_there(&env_path)? != read {
                    return Err(
                        Error::environment(msg!("hardening.lock.env_changed").arg("path", env_path.display()))
                            .hint(msg!("hardening.lock.env_changed_hint")),
                    );
                }
            }
        }
        if crate::platform::is_root() {
            self.check_no_links()?;
        }
        let data_folders = ["pg_data", "redis_data", "prometheus_data"];
        // With named volumes the data is not in the tree: empty data folders would mislead.
        let volumes = self.answers.data == crate::platform::DataStorage::Volumes;
        for d in Stack::tree().iter().filter(|d| !(volumes && data_folders.contains(d))) {
            let p = join_rel(self.dir(), d);
            std::fs::create_dir_all(&p).map_err(|e| Error::io(&p, &e))?;
        }
        let changes = self.plan()?;
        let applied = write::apply(self.dir(), &self.files, &changes, stamp)?;
        self.give_prometheus_its_files();
        Ok(WriteReport {
            changes,
            backups: applied.backups,
            warnings: applied.warnings,
        })
    }

    /// Prometheus runs as `nobody` (errata 21): its data folder must be its own, or it cannot
    /// write its database. Possible here only as root; otherwise (a failed `chown`) the
    /// ownership step does it with a one-shot container, having checked the files itself. The
    /// folder of its key (written later, by `steps::metrics_key`) is the ownership step's.
    fn give_prometheus_its_files(&self) {
        #[cfg(unix)]
        {
            use crate::stack::PROMETHEUS_UID;
            if !self.answers.services.prometheus || self.os != Os::Linux {
                return;
            }
            if self.answers.data == crate::platform::DataStorage::Bind {
                let data = join_rel(self.dir(), "prometheus_data");
                let _ = std::os::unix::fs::chown(data, Some(PROMETHEUS_UID), Some(PROMETHEUS_UID));
            }
        }
    }
}

pub struct WriteReport {
    pub changes: Vec<FileChange>,
    pub backups: Vec<String>,
    /// What the user should know about the files written (a `.env` left readable by others).
    pub warnings: Vec<Msg>,
}

impl WriteReport {
    pub fn all_unchanged(&self) -> bool {
        self.changes.iter().all(|c| c.kind == ChangeKind::Unchanged)
    }
}

fn dir_error(dir: &Path, detail: String) -> Error {
    Error::input(
        msg!("error.answers.field")
            .arg("field", "dir")
            .nested("problem", msg!("problem.dir_unwritable").arg("value", dir.display())),
    )
    .detail(detail)
    .hint(msg!("hint.dir_unwritable"))
}

/// A file's bytes, `None` when there is none.
fn read_if_there(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, &e)),
    }
}

/// Reads only: the dir, or what exists of its path, must be a folder.
fn check_is_folder(dir: &Path) -> Result<()> {
    let probe = existing_ancestor(dir);
    if probe.is_dir() {
        Ok(())
    } else {
        Err(dir_error(dir, format!("{} is not a folder", probe.display())))
    }
}

/// The nearest existing ancestor of `dir` must accept a new file.
pub fn check_writable(dir: &Path) -> Result<()> {
    let probe = existing_ancestor(dir);
    let bad = |detail: String| dir_error(dir, detail);
    if !probe.is_dir() {
        return Err(bad(format!("{} is not a folder", probe.display())));
    }
    tempfile::Builder::new()
        .prefix(".litellm-stack-probe-")
        .tempfile_in(&probe)
        .map(drop)
        .map_err(|e| bad(format!("{}: {e}", probe.display())))
}

/// A UTC timestamp for backup names, to the microsecond: `20261127T103000.123456Z` (names
/// sort by time; two runs in one microsecond get `-1`, `-2`… from the writer).
pub fn stamp_now() -> String {
    let now = time::OffsetDateTime::now_utc();
    let fmt = time::macros::format_description!("[year][month][day]T[hour][minute][second].[subsecond digits:6]Z");
    now.format(&fmt).unwrap_or_else(|_| "backup".into())
}

/// Whether `dir` holds an install (its `docker-compose.yml` or `.env`): the day-2 commands
/// refuse a folder without one instead of reporting on nothing.
pub fn holds_install(dir: &Path) -> bool {
    join_rel(dir, "docker-compose.yml").is_file() || join_rel(dir, ".env").is_file()
}
