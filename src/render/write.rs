//! Writing generated files: atomic (temp file + rename), LF only, `.env` private, unchanged
//! files untouched, changed ones backed up first, diffs with secrets masked.

use std::io::Write;
use std::path::Path;

use similar::TextDiff;

use super::RenderedFile;
use crate::error::{Error, Result};
use crate::i18n::Msg;
use crate::platform::join_rel;
use crate::secrets::{EmptyValues, MASK, mask_env_change, redact};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Create,
    Update,
    Unchanged,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    pub path: String,
    pub kind: ChangeKind,
    /// A unified diff of an update, secrets masked.
    pub diff: Option<String>,
}

/// A generated file's text as it may be shown in the review: `.env` per entry (an empty value
/// shown empty, so the user sees which key is left to fill in), another private file not at
/// all, any other with each known secret value masked.
pub fn shown(f: &RenderedFile, secrets: &[String]) -> String {
    if f.path == ".env" {
        crate::secrets::mask_env(&f.contents, EmptyValues::Shown)
    } else if f.private {
        MASK.to_string()
    } else {
        redact(&f.contents, secrets)
    }
}

/// What writing `files` into `dir` would change. Reads only.
pub fn plan(dir: &Path, files: &[RenderedFile], secrets: &[String]) -> Result<Vec<FileChange>> {
    files
        .iter()
        .map(|f| {
            let path = join_rel(dir, &f.path);
            let old = match std::fs::read(&path) {
                Ok(b) => Some(b),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(Error::io(&path, &e)),
            };
            let (kind, diff) = match old {
                None => (ChangeKind::Create, None),
                Some(b) if b == f.contents.as_bytes() => (ChangeKind::Unchanged, None),
                Some(b) => {
                    let old = String::from_utf8_lossy(&b).to_string();
                    let (o, n) = if f.path == ".env" {
                        mask_env_change(&old, &f.contents)
                    } else if f.private {
                        (MASK.to_string(), format!("{MASK} (changed)"))
                    } else {
                        (redact(&old, secrets), redact(&f.contents, secrets))
                    };
                    let diff = TextDiff::from_lines(&o, &n)
                        .unified_diff()
                        .context_radius(2)
                        .header(&format!("a/{}", f.path), &format!("b/{}", f.path))
                        .to_string();
                    (ChangeKind::Update, Some(diff))
                }
            };
            Ok(FileChange {
                path: f.path.clone(),
                kind,
                diff,
            })
        })
        .collect()
}

/// What `apply` did besides writing: the backups it made, and what the user should know.
#[derive(Debug, Default)]
pub struct Applied {
    /// Paths relative to the install dir, `/` separated.
    pub backups: Vec<String>,
    /// A private file that could not be made private (Windows, a volume without ACLs).
    pub warnings: Vec<Msg>,
}

/// Writes what `plan` found changed. Each changed file is first copied to
/// `backups/files/<name>.<timestamp>`; each write is atomic.
pub fn apply(dir: &Path, files: &[RenderedFile], changes: &[FileChange], stamp: &str) -> Result<Applied> {
    let mut applied = Applied::default();
    for (f, c) in files.iter().zip(changes) {
        let path = join_rel(dir, &f.path);
        match c.kind {
            ChangeKind::Unchanged => {}
            ChangeKind::Update => {
                let name = format!("{}.{stamp}", f.path.replace('/', "_"));
                let backup = join_rel(dir, &format!("backups/files/{name}"));
                let old = std::fs::read(&path).map_err(|e| Error::io(&path, &e))?;
                write_atomic(&backup, &old, f.private)?;
                applied.warnings.extend(restrict_if(&backup, f.private)?);
                applied.backups.push(format!("backups/files/{name}"));
                write_atomic(&path, f.contents.as_bytes(), f.private)?;
            }
            ChangeKind::Create => write_atomic(&path, f.contents.as_bytes(), f.private)?,
        }
        // An unchanged private file is restricted again: someone may have loosened it.
        applied.warnings.extend(restrict_if(&path, f.private)?);
    }
    Ok(applied)
}

fn restrict_if(path: &Path, private: bool) -> Result<Option<Msg>> {
    if private { restrict(path) } else { Ok(None) }
}

/// Temp file in the same folder, synced, then renamed over the target: a reader (or a Ctrl-C)
/// sees the old file or the new one, never half of one. `private`: mode 0600 on Unix; on
/// Windows the caller restricts the file with `restrict` afterwards, to hear if it could not.
pub fn write_atomic(path: &Path, bytes: &[u8], private: bool) -> Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, &e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".litellm-stack-")
        .tempfile_in(parent)
        .map_err(|e| Error::io(parent, &e))?;
    tmp.write_all(bytes).map_err(|e| Error::io(path, &e))?;
    tmp.as_file().sync_all().map_err(|e| Error::io(path, &e))?;
    if private {
        owner_only_mode(tmp.path())?;
    } else {
        make_readable(tmp.path())?;
    }
    tmp.persist(path).map_err(|e| Error::io(path, &e.error))?;
    Ok(())
}

/// Readable by the owner only: mode 0600 on Unix, an owner-only ACL on Windows. The ACL is best
/// effort (FAT, exFAT and network shares have none): its failure is a warning to show, also
/// logged here.
pub fn restrict(path: &Path) -> Result<Option<Msg>> {
    owner_only_mode(path)?;
    #[cfg(windows)]
    {
        if let Err(reason) = crate::platform::restrict_to_owner(path) {
            tracing::warn!("{} keeps its inherited permissions: {reason}", path.display());
            return Ok(Some(acl_warning(path, &reason)));
        }
    }
    Ok(None)
}

/// The warning for a private file left with its folder's permissions.
#[cfg(any(windows, test))]
fn acl_warning(path: &Path, reason: &str) -> Msg {
    msg!("render.acl_not_restricted")
        .arg("path", path.display())
        .arg("reason", reason)
}

/// Mode 0600 on Unix; nothing to do elsewhere.
fn owner_only_mode(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|e| Error::io(path, &e))?;
    }
    let _ = path;
    Ok(())
}

/// Temp files are created 0600; config files must be readable by the containers' users.
fn make_readable(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).map_err(|e| Error::io(path, &e))?;
    }
    let _ = path;
    Ok(())
}

/// `Msg` for a change kind, for the printers.
pub fn kind_msg(kind: ChangeKind) -> Msg {
    match kind {
        ChangeKind::Create => msg!("plan.create"),
        ChangeKind::Update => msg!("plan.update"),
        ChangeKind::Unchanged => msg!("plan.unchanged"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    #[test]
    fn the_acl_warning_names_the_file_in_both_languages() {
        let w = acl_warning(Path::new(r"C:\work\TW\litellm\.env"), "icacls exited with 5");
        for lang in Lang::ALL {
            let text = w.text(lang);
            assert!(
                text.contains(r"C:\work\TW\litellm\.env") && text.contains("icacls exited with 5"),
                "{text}"
            );
        }
    }

    #[test]
    fn the_review_shows_private_files_masked() {
        let env = RenderedFile {
            path: ".env".into(),
            contents: "LITELLM_MASTER_KEY=sk-abcdef\nOPENAI_API_KEY=\n".into(),
            private: true,
        };
        assert_eq!(shown(&env, &[]), "LITELLM_MASTER_KEY=********\nOPENAI_API_KEY=\n");
        let key = RenderedFile {
            path: "prometheus/litellm_key".into(),
            contents: "sk-abcdef".into(),
            private: true,
        };
        assert_eq!(shown(&key, &[]), MASK);
        let config = RenderedFile {
            path: "config.yaml".into(),
            contents: "key: sk-abcdef\n".into(),
            private: false,
        };
        assert_eq!(shown(&config, &["sk-abcdef".into()]), "key: ********\n");
    }
}
