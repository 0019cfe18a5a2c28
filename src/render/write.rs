//! Writing generated files: atomic (temp file + rename), LF only, `.env` private, unchanged
//! files untouched, changed ones backed up first, diffs with secrets masked.

use std::io::Write;
use std::path::Path;

use similar::TextDiff;

use super::{RenderedFile, join_rel};
use crate::error::{Error, Result};
use crate::i18n::Msg;

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

const MASK: &str = "********";

/// Replaces secrets in `text`. A private file is masked line by line (`KEY=********`); others
/// have each known secret value replaced.
pub fn mask(text: &str, private: bool, secrets: &[String]) -> String {
    if private {
        return text
            .lines()
            .map(|l| match l.split_once('=') {
                Some((k, _)) if !l.starts_with('#') && !crate::secrets::is_secret_key(k.trim()) => l.to_string(),
                Some((k, _)) if !l.starts_with('#') => format!("{k}={MASK}"),
                _ if l.starts_with('#') || l.is_empty() => l.to_string(),
                _ => MASK.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n");
    }
    let mut out = text.to_string();
    let mut sorted: Vec<&String> = secrets.iter().filter(|s| s.len() >= 4).collect();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for s in sorted {
        out = out.replace(s.as_str(), MASK);
    }
    out
}

/// For `.env`: a masked line whose value changed says so, or the diff would show nothing.
fn mask_env_pair(old: &str, new: &str) -> (String, String) {
    let old_values: Vec<(&str, &str)> = old.lines().filter_map(|l| l.split_once('=')).collect();
    let old_m = mask(old, true, &[]);
    let new_m = new
        .lines()
        .map(|l| match l.split_once('=') {
            Some((k, v)) if !l.starts_with('#') && crate::secrets::is_secret_key(k.trim()) => {
                match old_values.iter().find(|(ok, _)| *ok == k) {
                    Some((_, ov)) if *ov != v => format!("{k}={MASK} (changed)"),
                    _ => format!("{k}={MASK}"),
                }
            }
            _ => mask(l, true, &[]),
        })
        .collect::<Vec<_>>()
        .join("\n");
    (old_m, new_m)
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
                        mask_env_pair(&old, &f.contents)
                    } else if f.private {
                        (MASK.to_string(), format!("{MASK} (changed)"))
                    } else {
                        (mask(&old, false, secrets), mask(&f.contents, false, secrets))
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

/// Writes what `plan` found changed. Each changed file is first copied to
/// `backups/files/<name>.<timestamp>`; each write is atomic.
pub fn apply(dir: &Path, files: &[RenderedFile], changes: &[FileChange], stamp: &str) -> Result<Vec<String>> {
    let mut backups = Vec::new();
    for (f, c) in files.iter().zip(changes) {
        let path = join_rel(dir, &f.path);
        match c.kind {
            ChangeKind::Unchanged => {
                if f.private {
                    restrict(&path)?;
                }
            }
            ChangeKind::Update => {
                let name = format!("{}.{stamp}", f.path.replace('/', "_"));
                let backup = join_rel(dir, &format!("backups/files/{name}"));
                let old = std::fs::read(&path).map_err(|e| Error::io(&path, &e))?;
                write_atomic(&backup, &old, f.private)?;
                backups.push(format!("backups/files/{name}"));
                write_atomic(&path, f.contents.as_bytes(), f.private)?;
            }
            ChangeKind::Create => write_atomic(&path, f.contents.as_bytes(), f.private)?,
        }
    }
    Ok(backups)
}

/// Temp file in the same folder, synced, then renamed over the target: a reader (or a Ctrl-C)
/// sees the old file or the new one, never half of one.
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
        restrict(tmp.path())?;
    } else {
        make_readable(tmp.path())?;
    }
    tmp.persist(path).map_err(|e| Error::io(path, &e.error))?;
    Ok(())
}

/// Readable by the owner only (0600). On Windows the ACL is handled by `platform`.
pub fn restrict(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|e| Error::io(path, &e))?;
    }
    #[cfg(windows)]
    crate::platform::restrict_to_owner(path);
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
        ChangeKind::Create => Msg::new("plan.create"),
        ChangeKind::Update => Msg::new("plan.update"),
        ChangeKind::Unchanged => Msg::new("plan.unchanged"),
    }
}
