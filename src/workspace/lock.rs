//! One run at a time per install dir: an exclusive lock (`flock` on Unix, `LockFileEx` on
//! Windows, through `fs4`) on a file in the dir, held by every command that writes there. The
//! operating system drops it when the process ends, however it ends, so a killed run never
//! leaves the dir locked; the file only says which process held it last.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::render::write::cleanup_stale_temps;

/// In the install dir.
pub const LOCK_FILE: &str = ".litellm-stack.lock";

/// How long a run waits for another one to finish before it says who holds the lock: long
/// enough for a `render` (milliseconds), short enough not to hang behind an install.
const WAIT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(20);

/// The held lock; dropped, it is released.
#[derive(Debug)]
pub struct DirLock {
    _file: std::fs::File,
    pub path: PathBuf,
}

impl DirLock {
    /// Creates `dir` if needed and takes its lock, waiting up to 10 s for a run that holds it.
    /// Then removes what killed runs left behind (their temp files): nobody else writes now.
    pub fn acquire(dir: &Path) -> Result<DirLock> {
        Self::acquire_within(dir, WAIT)
    }

    pub fn acquire_within(dir: &Path, wait: Duration) -> Result<DirLock> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, &e))?;
        let path = dir.join(LOCK_FILE);
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        // A link planted in its place would have this run (root, maybe) write a pid over
        // whatever it points at: it is never followed.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NOFOLLOW);
        let mut file = options.open(&path).map_err(|e| match e.raw_os_error() {
            #[cfg(unix)]
            Some(libc::ELOOP) => Error::input(
                msg!("hardening.symlink").arg("path", path.display()).arg(
                    "target",
                    std::fs::read_link(&path)
                        .map(|t| t.display().to_string())
                        .unwrap_or_default(),
                ),
            )
            .hint(msg!("hardening.symlink_hint").arg("path", path.display())),
            _ => Error::io(&path, &e),
        })?;
        let deadline = Instant::now() + wait;
        loop {
            match fs4::FileExt::try_lock(&file) {
                Ok(()) => break,
                Err(fs4::TryLockError::WouldBlock) if Instant::now() < deadline => std::thread::sleep(POLL),
                Err(fs4::TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    let _ = file.read_to_string(&mut holder);
                    let pid = holder.trim();
                    let pid = if pid.is_empty() { "?" } else { pid };
                    return Err(Error::environment(
                        msg!("hardening.lock.held")
                            .arg("dir", dir.display())
                            .arg("pid", pid)
                            .arg("seconds", wait.as_secs()),
                    )
                    .hint(msg!("hardening.lock.held_hint").arg("pid", pid)));
                }
                Err(fs4::TryLockError::Error(e)) => return Err(Error::io(&path, &e)),
            }
        }
        // Who holds it, for the run that waits: best effort, the lock is what counts.
        let _ = file
            .set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "{}", std::process::id()));
        cleanup_stale_temps(dir);
        Ok(DirLock { _file: file, path })
    }
}

/// The lock of the install dir `dir` when `path` is to be written inside it (the wizard's copy
/// of the answers, saved where the user stands, which may be the install dir): such a write
/// waits for a run that holds the dir, as every command's does. `None` when `path` is outside
/// `dir` (or `dir` does not exist yet, so nothing of it can be in the way).
pub fn lock_if_inside(dir: &Path, path: &Path) -> Result<Option<DirLock>> {
    let canonical = |p: &Path| std::fs::canonicalize(p).ok();
    let (Some(dir_c), Some(parent)) = (canonical(dir), path.parent().and_then(canonical)) else {
        return Ok(None);
    };
    if parent.starts_with(&dir_c) {
        DirLock::acquire(dir).map(Some)
    } else {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_waits_then_names_the_first() {
        let d = tempfile::tempdir().expect("tempdir");
        let first = DirLock::acquire(d.path()).expect("first");
        let e = DirLock::acquire_within(d.path(), Duration::from_millis(100)).expect_err("held");
        assert_eq!(e.exit, crate::error::Exit::Environment);
        let text = e.render(crate::i18n::Lang::En);
        assert!(text.contains(&std::process::id().to_string()), "{text}");
        drop(first);
        DirLock::acquire_within(d.path(), Duration::from_millis(100)).expect("free again");
    }

    #[test]
    fn a_file_inside_the_install_dir_is_written_under_its_lock() {
        let d = tempfile::tempdir().expect("tempdir");
        let inside = lock_if_inside(d.path(), &d.path().join("answers-copy.yaml")).expect("lock");
        assert!(inside.is_some());
        drop(inside);
        let other = tempfile::tempdir().expect("tempdir");
        let outside = lock_if_inside(d.path(), &other.path().join("answers-copy.yaml")).expect("no lock");
        assert!(outside.is_none());
        let missing = lock_if_inside(&d.path().join("not-yet"), &d.path().join("x.yaml")).expect("no lock");
        assert!(missing.is_none());
    }
}
