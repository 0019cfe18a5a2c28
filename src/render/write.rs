//! Writing generated files: atomic (temp file + rename), LF only, `.env` private, unchanged
//! files untouched, changed ones backed up first, diffs with secrets masked.

use std::io::Write;
use std::path::{Path, PathBuf};

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
                Some(b) if b == f.bytes() => (ChangeKind::Unchanged, None),
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

/// Writes what `plan` found changed, all or nothing as far as a file system allows: every new
/// file is first written beside its target as a temp file and every changed file copied to
/// `backups/files/<name>.<stamp>` (a name never used before); only when all of that worked are
/// the temp files renamed over their targets. A failure before that leaves the install as it
/// was (the temp files go with it).
pub fn apply(dir: &Path, files: &[RenderedFile], changes: &[FileChange], stamp: &str) -> Result<Applied> {
    let mut applied = Applied::default();
    let mut staged = Vec::new();
    for (f, c) in files.iter().zip(changes) {
        let path = join_rel(dir, &f.path);
        match c.kind {
            ChangeKind::Unchanged => continue,
            ChangeKind::Update => {
                let (rel, backup) = back_up(dir, &f.path, &path, stamp, f.private)?;
                applied.warnings.extend(restrict_if(&backup, f.private)?);
                applied.backups.push(rel);
            }
            ChangeKind::Create => {}
        }
        staged.push((stage(&path, f.bytes(), f.private)?, path));
    }
    for (tmp, path) in staged {
        tmp.persist(&path).map_err(|e| Error::io(&path, &e.error))?;
    }
    for f in files {
        // An unchanged private file is restricted again: someone may have loosened it.
        applied
            .warnings
            .extend(restrict_if(&join_rel(dir, &f.path), f.private)?);
    }
    Ok(applied)
}

/// What a temp file for `target` is called, before its random part: the target's own name
/// first, so the patterns that keep the target out of git (`.env*`) keep its temp files out
/// too; `cleanup_stale_temps` knows them by the marker.
const TEMP_MARKER: &str = ".litellm-stack-tmp-";

fn temp_prefix(target: &Path) -> String {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("{name}{TEMP_MARKER}")
}

/// Copies the file at `path` (`rel` in the install dir) to `backups/files/<rel>.<stamp>`, or,
/// when a backup of that name exists (two runs in one instant), `<…>.<stamp>-1`, `-2`…: the
/// name is claimed without replacing anything (`persist_noclobber`), so no backup is ever lost.
/// The copy has the source's mode, or a tighter one (0600 for a private file). Returns the
/// backup's path relative to the install dir and its full path.
fn back_up(dir: &Path, rel: &str, path: &Path, stamp: &str, private: bool) -> Result<(String, PathBuf)> {
    let old = std::fs::read(path).map_err(|e| Error::io(path, &e))?;
    let source_mode = file_mode(path);
    let folder = join_rel(dir, "backups/files");
    std::fs::create_dir_all(&folder).map_err(|e| Error::io(&folder, &e))?;
    let base = format!("{}.{stamp}", rel.replace('/', "_"));
    let mut n = 0u64;
    loop {
        let name = if n == 0 { base.clone() } else { format!("{base}-{n}") };
        let target = folder.join(&name);
        let tmp = stage_with_mode(&target, &old, backup_mode(source_mode, private))?;
        match tmp.persist_noclobber(&target) {
            Ok(_) => return Ok((format!("backups/files/{name}"), target)),
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
            Err(e) => return Err(Error::io(&target, &e.error)),
        }
    }
}

/// The mode of a backup: the source's permission bits, never wider, and owner-only for a
/// private file.
fn backup_mode(source: Option<u32>, private: bool) -> u32 {
    let mode = source.unwrap_or(0o600) & 0o777;
    if private { mode & 0o600 } else { mode }
}

fn file_mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).ok().map(|m| m.permissions().mode())
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// `bytes` in a temp file beside `target` (created 0600), synced, with the mode `target`
/// will have: renaming it over `target` is then the whole write.
fn stage(target: &Path, bytes: &[u8], private: bool) -> Result<tempfile::NamedTempFile> {
    stage_with_mode(target, bytes, if private { 0o600 } else { 0o644 })
}

fn stage_with_mode(target: &Path, bytes: &[u8], mode: u32) -> Result<tempfile::NamedTempFile> {
    let parent = target.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, &e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(&temp_prefix(target))
        .tempfile_in(parent)
        .map_err(|e| Error::io(parent, &e))?;
    tmp.write_all(bytes).map_err(|e| Error::io(target, &e))?;
    tmp.as_file().sync_all().map_err(|e| Error::io(target, &e))?;
    set_mode(tmp.path(), mode)?;
    Ok(tmp)
}

fn restrict_if(path: &Path, private: bool) -> Result<Option<Msg>> {
    if private { restrict(path) } else { Ok(None) }
}

/// Temp file in the same folder, synced, then renamed over the target: a reader (or a Ctrl-C)
/// sees the old file or the new one, never half of one. `private`: mode 0600 on Unix; on
/// Windows the caller restricts the file with `restrict` afterwards, to hear if it could not.
pub fn write_atomic(path: &Path, bytes: &[u8], private: bool) -> Result<()> {
    let tmp = stage(path, bytes, private)?;
    tmp.persist(path).map_err(|e| Error::io(path, &e.error))?;
    Ok(())
}

/// As `write_atomic`, with the mode the file has from its first byte on (Unix; elsewhere the
/// folder's permissions): the metrics key, readable by Prometheus's group through the folder
/// it is written into.
pub fn write_atomic_mode(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let tmp = stage_with_mode(path, bytes, mode)?;
    tmp.persist(path).map_err(|e| Error::io(path, &e.error))?;
    Ok(())
}

/// Removes the temp files a killed run left in `dir` and the folders files are written to
/// (`nginx/`, `prometheus/`, `prometheus/secrets/`, `backups/files/`): this program's names only, and only by a run
/// that holds the install dir's lock, so never a file another run is writing. Best effort.
pub fn cleanup_stale_temps(dir: &Path) {
    // A folder of the tree reached through a link is not looked into: it may lead anywhere.
    let through_link = |rel: &str| {
        let mut p = dir.to_path_buf();
        rel.split('/').any(|part| {
            p.push(part);
            std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink())
        })
    };
    let folders = std::iter::once(dir.to_path_buf()).chain(
        ["nginx", "prometheus", crate::stack::METRICS_KEY_DIR, "backups/files"]
            .into_iter()
            .filter(|rel| !through_link(rel))
            .map(|rel| join_rel(dir, rel)),
    );
    for folder in folders {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_stale_temp_name(&name) && entry.file_type().is_ok_and(|t| t.is_file()) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// `<name>.litellm-stack-tmp-XXXXXX`, and the names of earlier versions: `.litellm-stack-XXXXXX`
/// (six random characters) and the write probe `.litellm-stack-probe-XXXXXX`.
fn is_stale_temp_name(name: &str) -> bool {
    if name.contains(TEMP_MARKER) || name.starts_with(".litellm-stack-probe-") {
        return true;
    }
    name.strip_prefix(".litellm-stack-")
        .is_some_and(|rest| rest.len() == 6 && rest.chars().all(|c| c.is_ascii_alphanumeric()))
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
    set_mode(path, 0o600)
}

/// The permission bits on Unix (config files must be readable by the containers' users);
/// nothing to do elsewhere.
fn set_mode(path: &Path, mode: u32) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| Error::io(path, &e))?;
    }
    let _ = (path, mode);
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
    fn backups_keep_the_source_mode_or_tighter() {
        assert_eq!(backup_mode(Some(0o100644), false), 0o644);
        assert_eq!(backup_mode(Some(0o100644), true), 0o600);
        assert_eq!(backup_mode(Some(0o100400), true), 0o400);
        assert_eq!(backup_mode(None, false), 0o600);
    }

    /// A temp file is named after its target (so `.env*` ignore patterns match it) and, for a
    /// private file, is owner-only from the start.
    #[test]
    fn temp_files_are_named_after_their_target_and_private_from_the_start() {
        let d = tempfile::tempdir().expect("tempdir");
        let tmp = stage(&d.path().join(".env"), b"A=1\n", true).expect("stage");
        let name = tmp.path().file_name().expect("name").to_string_lossy().into_owned();
        assert!(
            name.starts_with(".env.litellm-stack-tmp-") && is_stale_temp_name(&name),
            "{name}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(tmp.path()).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn only_this_programs_temp_files_are_stale() {
        for ours in [
            ".env.litellm-stack-tmp-a1B2c3",
            ".litellm-stack-Ab12Cd",
            ".litellm-stack-probe-x",
        ] {
            assert!(is_stale_temp_name(ours), "{ours}");
        }
        for theirs in [".env", ".litellm-stack.lock", ".litellm-stack-notes.txt", "config.yaml"] {
            assert!(!is_stale_temp_name(theirs), "{theirs}");
        }
    }

    #[test]
    fn the_review_shows_private_files_masked() {
        let env = RenderedFile {
            path: ".env".into(),
            contents: "LITELLM_MASTER_KEY=sk-abcdef\nOPENAI_API_KEY=\n".into(),
            raw: None,
            private: true,
        };
        assert_eq!(shown(&env, &[]), "LITELLM_MASTER_KEY=********\nOPENAI_API_KEY=\n");
        let key = RenderedFile {
            path: "prometheus/litellm_key".into(),
            contents: "sk-abcdef".into(),
            raw: None,
            private: true,
        };
        assert_eq!(shown(&key, &[]), MASK);
        let config = RenderedFile {
            path: "config.yaml".into(),
            contents: "key: sk-abcdef\n".into(),
            raw: None,
            private: false,
        };
        assert_eq!(shown(&config, &["sk-abcdef".into()]), "key: ********\n");
    }
}
