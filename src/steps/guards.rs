//! Guards that stop a run before anything changes, where going on would lose the team's data
//! for good:
//!
//! - **the salt key**: LiteLLM encrypts the credentials it keeps in Postgres with
//!   `LITELLM_SALT_KEY`; data made with one key is unreadable with another. The install
//!   records a fingerprint of the key (a keyed hash: HMAC-SHA256 keyed with the salt key
//!   itself, so the file tells nothing about the key) in `salt-key.fingerprint`. When
//!   Postgres's data exists and `.env` is missing, has no salt key, or has another one, the
//!   run stops with exit 3 before any file is written or container touched, and names the
//!   backup of `.env` that holds the right key. A new salt key is never generated next to
//!   initialised data.
//! - **another install's project**: containers of the same Compose project made from another
//!   directory (`com.docker.compose.project.working_dir`) belong to that install; touching
//!   them would take its gateway down or give it this directory's files.

use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::answers::Answers;
use crate::engine::{Engine, LABEL_WORKING_DIR};
use crate::error::{Error, Result};
use crate::platform::DataStorage;
use crate::render::write::write_atomic;
use crate::secrets::{ExistingEnv, Secret};
use crate::workspace::Workspace;

/// In the install dir, beside `.env`.
pub const FINGERPRINT_FILE: &str = "salt-key.fingerprint";
const SALT_KEY: &str = "LITELLM_SALT_KEY";
/// What the keyed hash is taken of; the version names the scheme.
const FINGERPRINT_MESSAGE: &[u8] = b"litellm-stack salt-key fingerprint v1";

/// The fingerprint of a salt key: `hmac-sha256:<hex>`.
pub fn fingerprint(salt: &Secret) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(salt.expose().as_bytes()).expect("HMAC takes keys of any length");
    mac.update(FINGERPRINT_MESSAGE);
    format!("hmac-sha256:{:x}", mac.finalize().into_bytes())
}

/// Whether Postgres has made its data, as far as the files tell: `pg_data/` holds
/// `PG_VERSION`, or is a folder this user may not look into (Postgres took it over).
/// `None` with named volumes: the engine knows ([`volume_initialised`]).
pub fn bind_data_initialised(a: &Answers) -> Option<bool> {
    if a.data != DataStorage::Bind {
        return None;
    }
    let pg = a.dir.join("pg_data");
    Some(match std::fs::symlink_metadata(pg.join("PG_VERSION")) {
        Ok(_) => true,
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => true,
        Err(_) => matches!(std::fs::read_dir(&pg), Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied),
    })
}

/// With named volumes: the project's `pg_data` volume exists.
pub async fn volume_initialised(engine: &dyn Engine, a: &Answers, project: &str) -> Result<bool> {
    if a.data != DataStorage::Volumes {
        return Ok(false);
    }
    let volumes = engine.volumes(project).await.map_err(Error::from)?;
    Ok(volumes.iter().any(|v| v == &format!("{project}_pg_data")))
}

/// Before anything is written: with initialised data, `.env` on disk must hold the salt key
/// the data was made with (the recorded fingerprint), or, when none is recorded yet (an
/// install from before the fingerprint), at least a salt key, which is then trusted.
pub fn check_salt_key(dir: &Path, data_initialised: bool) -> Result<()> {
    if !data_initialised {
        return Ok(());
    }
    let env_path = dir.join(".env");
    let on_disk = ExistingEnv::read(&env_path)?;
    let salt = on_disk.get(SALT_KEY).filter(|s| !s.is_empty());
    let recorded = read_fingerprint(dir)?;
    let bring_back = || matching_backups(dir, recorded.as_deref());
    match (salt, recorded.as_deref()) {
        (None, _) => Err(Error::environment(
            msg!("guard.salt.missing")
                .arg("env", env_path.display())
                .arg("data", data_place(dir)),
        )
        .hint(bring_back_hint(dir, bring_back()))),
        (Some(salt), Some(recorded)) if fingerprint(salt) != recorded => Err(Error::environment(
            msg!("guard.salt.changed")
                .arg("env", env_path.display())
                .arg("file", dir.join(FINGERPRINT_FILE).display()),
        )
        .hint(bring_back_hint(dir, bring_back()))),
        _ => Ok(()),
    }
}

/// `render`: the files without the engine, under the salt-key guard (named volumes cannot be
/// seen without the engine; `install` checks them).
pub fn write_guarded(ws: &Workspace, stamp: &str) -> Result<crate::workspace::WriteReport> {
    check_salt_key(ws.dir(), bind_data_initialised(&ws.answers).unwrap_or(false))?;
    let report = ws.write(stamp)?;
    record_salt_key(ws)?;
    Ok(report)
}

/// After the files are written: the fingerprint of the salt key in use, recorded once (and
/// again only when no data was made with the recorded one).
pub fn record_salt_key(ws: &Workspace) -> Result<()> {
    let Some(salt) = ws.dotenv.get(SALT_KEY).filter(|s| !s.is_empty()) else {
        return Ok(());
    };
    let want = fingerprint(salt);
    if read_fingerprint(ws.dir())?.as_deref() == Some(want.as_str()) {
        return Ok(());
    }
    let text = format!(
        "# The salt key the data in this install was made with, as a keyed hash (HMAC-SHA256\n\
         # keyed with the key itself): it identifies the key without revealing it.\n\
         # litellm-stack refuses to start the stack when .env's LITELLM_SALT_KEY differs.\n\
         {want}\n"
    );
    write_atomic(&ws.dir().join(FINGERPRINT_FILE), text.as_bytes(), false)
}

fn read_fingerprint(dir: &Path) -> Result<Option<String>> {
    let path = dir.join(FINGERPRINT_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(text
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("hmac-sha256:"))
            .map(str::to_string)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(&path, &e)),
    }
}

/// Backups of `.env` (newest first) holding the recorded salt key; with no fingerprint
/// recorded, every backup that has a salt key.
fn matching_backups(dir: &Path, recorded: Option<&str>) -> Vec<PathBuf> {
    let folder = dir.join("backups").join("files");
    let Ok(entries) = std::fs::read_dir(&folder) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(".env."))
        })
        .filter(|p| {
            let Ok(env) = ExistingEnv::read(p) else {
                return false;
            };
            match (env.get(SALT_KEY).filter(|s| !s.is_empty()), recorded) {
                (Some(salt), Some(recorded)) => fingerprint(salt) == recorded,
                (Some(_), None) => true,
                (None, _) => false,
            }
        })
        .collect();
    // The backups are named by their time stamp: the newest sorts last.
    found.sort();
    found.reverse();
    found
}

fn bring_back_hint(dir: &Path, backups: Vec<PathBuf>) -> crate::i18n::Msg {
    match backups.first() {
        Some(newest) => msg!("guard.salt.hint_backup")
            .arg("backup", newest.display())
            .arg("env", dir.join(".env").display()),
        None => msg!("guard.salt.hint_no_backup").arg("env", dir.join(".env").display()),
    }
}

fn data_place(dir: &Path) -> String {
    dir.join("pg_data").display().to_string()
}

/// The project's containers must have been made from this directory (or carry no
/// working-dir label at all, as containers made by hand).
pub async fn check_project(engine: &dyn Engine, project: &str, dir: &Path) -> Result<()> {
    let containers = engine.containers(Some(project)).await.map_err(Error::from)?;
    let here = dir.display().to_string();
    let other = containers
        .iter()
        .filter_map(|c| c.labels.get(LABEL_WORKING_DIR))
        .find(|wd| !same_dir(wd, &here));
    match other {
        None => Ok(()),
        Some(other) => Err(Error::environment(
            msg!("guard.project.other_dir")
                .arg("project", project)
                .arg("other", other)
                .arg("dir", &here),
        )
        .hint(msg!("guard.project.hint").arg("other", other).arg("project", project))),
    }
}

fn same_dir(a: &str, b: &str) -> bool {
    let trim = |s: &str| s.trim_end_matches(['/', '\\']).to_string();
    if trim(a) == trim(b) {
        return true;
    }
    // The same folder under another spelling (a symlinked home, `..`).
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_identifies_the_key_without_showing_it() {
        let a = fingerprint(&Secret::new("sk-salt-one"));
        assert_eq!(a, fingerprint(&Secret::new("sk-salt-one")));
        assert_ne!(a, fingerprint(&Secret::new("sk-salt-two")));
        assert!(
            a.starts_with("hmac-sha256:") && a.len() == "hmac-sha256:".len() + 64,
            "{a}"
        );
        assert!(!a.contains("salt-one"));
    }

    fn dir_with(env: Option<&str>, recorded: Option<&str>) -> tempfile::TempDir {
        let d = tempfile::tempdir().expect("tempdir");
        if let Some(env) = env {
            std::fs::write(d.path().join(".env"), env).expect("write");
        }
        if let Some(salt) = recorded {
            std::fs::write(
                d.path().join(FINGERPRINT_FILE),
                format!("# comment\n{}\n", fingerprint(&Secret::new(salt))),
            )
            .expect("write");
        }
        d
    }

    #[test]
    fn initialised_data_needs_the_salt_key_it_was_made_with() {
        use crate::error::Exit;
        // No data yet: anything goes.
        let d = dir_with(None, Some("sk-old"));
        assert!(check_salt_key(d.path(), false).is_ok());
        // Data, the same key: fine; no fingerprint yet: the key in .env is trusted.
        let d = dir_with(Some("LITELLM_SALT_KEY=sk-old\n"), Some("sk-old"));
        assert!(check_salt_key(d.path(), true).is_ok());
        let d = dir_with(Some("LITELLM_SALT_KEY=sk-old\n"), None);
        assert!(check_salt_key(d.path(), true).is_ok());
        // Data and no .env, an empty salt key, or another one: exit 3.
        for (env, recorded) in [
            (None, Some("sk-old")),
            (None, None),
            (Some("LITELLM_SALT_KEY=\n"), Some("sk-old")),
            (Some("LITELLM_SALT_KEY=sk-new\n"), Some("sk-old")),
        ] {
            let d = dir_with(env, recorded);
            let e = check_salt_key(d.path(), true).expect_err("must refuse");
            assert_eq!(e.exit, Exit::Environment, "{env:?} {recorded:?}");
        }
    }

    #[test]
    fn the_hint_names_the_backup_with_the_right_key() {
        let d = dir_with(Some("LITELLM_SALT_KEY=sk-new\n"), Some("sk-old"));
        let b = d.path().join("backups/files");
        std::fs::create_dir_all(&b).expect("write");
        std::fs::write(b.join(".env.20260101-000000"), "LITELLM_SALT_KEY=sk-old\n").expect("write");
        std::fs::write(b.join(".env.20260102-000000"), "LITELLM_SALT_KEY=sk-other\n").expect("write");
        let e = check_salt_key(d.path(), true).expect_err("must refuse");
        let hint = e.hint.expect("hint").text(crate::i18n::Lang::En);
        assert!(hint.contains(".env.20260101-000000"), "{hint}");
        assert!(!hint.contains("sk-old"), "{hint}");
    }

    #[test]
    fn project_dirs_compare_as_folders() {
        assert!(same_dir("/srv/lab/litellm/", "/srv/lab/litellm"));
        assert!(!same_dir("/srv/lab/litellm", "/root/litellm"));
    }
}
