//! Prometheus's credential for LiteLLM's `/metrics/`: a virtual key allowed that route and
//! nothing else (`allowed_routes: ["/metrics"]`, alias `litellm-stack-prometheus`), made with
//! the master key through the proxy once its database is up, and written into
//! `prometheus/secrets/litellm_metrics_key`. The master key itself is never written there:
//! that file is readable by Prometheus's user (uid 65534), the master key opens everything.
//!
//! On a first install the file does not exist while Prometheus starts: its first scrapes fail
//! ("unable to read authorization credentials file") until this step, between readiness and
//! the API test, writes the key. Prometheus reads the file again at every scrape, and the
//! folder is mounted (not the file), so the new file is seen without a restart.
//!
//! A re-run keeps a key that still fits: live in the database, of its alias, allowed
//! `/metrics` only, and seen to scrape and to be refused elsewhere. Anything else is replaced
//! by a new key: no file yet, the master key (what versions before this one wrote, also at
//! `prometheus/litellm_metrics_key`, which goes), a key the database does not know (a restore
//! into a new dir, a rollback), one deleted, blocked or widened by hand.

use std::path::{Path, PathBuf};

use super::{EventSink, StepId, progress};
use crate::answers::Answers;
use crate::error::{Error, Result};
use crate::health::{self, Endpoints, MetricsKeyLook, MetricsKeyScope};
use crate::i18n::Msg;
use crate::platform::{Os, join_rel};
use crate::secrets::Secret;
use crate::stack::{LEGACY_METRICS_KEY_FILE, METRICS_KEY_FILE};

/// Why a new key is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// No key file yet (a first install, or a restore into a new dir).
    Missing,
    /// The file holds the master key (written by an older version, or by hand).
    MasterKey,
    /// The database does not know the key.
    Unknown,
    /// The database knows it, but it is not to be kept (`deleted`, another alias…).
    Unfit(String),
    /// It does not scrape, or it opens more than `/metrics/`.
    Scope(MetricsKeyScope),
}

impl Why {
    fn msg(&self) -> Msg {
        match self {
            Why::Missing => msg!("metrics_key.why.missing"),
            Why::MasterKey => msg!("metrics_key.why.master_key"),
            Why::Unknown => msg!("metrics_key.why.unknown"),
            Why::Unfit(what) => msg!("metrics_key.why.unfit").arg("what", what),
            Why::Scope(s) => scope_msg(s),
        }
    }
}

fn scope_msg(s: &MetricsKeyScope) -> Msg {
    msg!("metrics_key.why.scope")
        .arg("metrics", s.metrics.map_or("-".to_string(), |m| m.to_string()))
        .arg("models", s.models)
}

/// What the step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Prometheus is not part of the stack.
    Off,
    Kept,
    Made(Why),
}

/// What is in the key file: `None` when there is none or it is empty. A link there is
/// refused (exit 2): the key file is never read through one.
pub fn read_key(dir: &Path) -> Result<Option<Secret>> {
    let path = join_rel(dir, METRICS_KEY_FILE);
    match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&path, &e)),
        Ok(m) if m.file_type().is_symlink() => {
            let target = std::fs::read_link(&path)
                .map(|t| t.display().to_string())
                .unwrap_or_default();
            return Err(Error::input(
                msg!("hardening.symlink")
                    .arg("path", path.display())
                    .arg("target", target),
            )
            .hint(msg!("hardening.symlink_hint").arg("path", path.display())));
        }
        Ok(m) if !m.is_file() => {
            return Err(
                Error::input(msg!("metrics_key.error.not_file").arg("path", path.display()))
                    .hint(msg!("metrics_key.hint.not_file").arg("path", path.display())),
            );
        }
        Ok(_) => {}
    }
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, &e))?;
    // Not text: no key of LiteLLM's; replaced like any other unknown key.
    let text = String::from_utf8_lossy(&bytes);
    let key = text.trim();
    Ok((!key.is_empty()).then(|| Secret::new(key)))
}

/// What a key file holding `current` needs without asking the proxy: `Some` is a new key
/// (none there, or the master key); `None`, the proxy decides.
pub fn needs_new(current: Option<&Secret>, master_key: &Secret) -> Option<Why> {
    match current {
        None => Some(Why::Missing),
        Some(k) if k.expose() == master_key.expose() => Some(Why::MasterKey),
        Some(_) => None,
    }
}

/// Makes sure Prometheus's key file holds a fitting metrics-only key, once the proxy is ready:
/// kept when it fits, else made and written. Then removes the master key's old copy.
pub async fn ensure(answers: &Answers, os: Os, master_key: &Secret, sink: &dyn EventSink) -> Result<Outcome> {
    if !answers.services.prometheus {
        return Ok(Outcome::Off);
    }
    let ep = Endpoints::from_answers(answers);
    let Some(base) = ep.client_base() else {
        return Err(health::HealthError::NoEndpoint.into());
    };
    let current = read_key(&answers.dir)?;
    let why = match (needs_new(current.as_ref(), master_key), &current) {
        (Some(why), _) => Some(why),
        (None, None) => Some(Why::Missing),
        (None, Some(key)) => match health::look_up_metrics_key(base, master_key, key).await? {
            MetricsKeyLook::Fit => {
                let scope = health::metrics_key_scope(&ep, key).await?;
                (!scope.fits()).then_some(Why::Scope(scope))
            }
            MetricsKeyLook::Unknown => Some(Why::Unknown),
            MetricsKeyLook::Unfit(what) => Some(Why::Unfit(what)),
        },
    };
    let path = join_rel(&answers.dir, METRICS_KEY_FILE);
    let outcome = match why {
        None => {
            progress(
                sink,
                StepId::ApiTest,
                msg!("metrics_key.kept").arg("path", METRICS_KEY_FILE),
            );
            Outcome::Kept
        }
        Some(why) => {
            let key = health::make_metrics_key(base, master_key).await?;
            let scope = health::metrics_key_scope(&ep, &key).await?;
            if !scope.fits() {
                return Err(
                    Error::failed(msg!("metrics_key.error.scope").nested("scope", scope_msg(&scope)))
                        .hint(msg!("metrics_key.hint.scope")),
                );
            }
            write_key(&path, &key, os, sink)?;
            progress(
                sink,
                StepId::ApiTest,
                msg!("metrics_key.made")
                    .arg("path", METRICS_KEY_FILE)
                    .nested("why", why.msg()),
            );
            Outcome::Made(why)
        }
    };
    if remove_legacy(&answers.dir)? {
        progress(
            sink,
            StepId::ApiTest,
            msg!("metrics_key.legacy_removed").arg("path", LEGACY_METRICS_KEY_FILE),
        );
    }
    Ok(outcome)
}

/// For `verify`, which changes nothing: a warning when the key file is missing or holds the
/// master key (an install made by an older version).
pub fn audit(answers: &Answers, master_key: &Secret) -> Result<Option<Msg>> {
    if !answers.services.prometheus {
        return Ok(None);
    }
    let current = read_key(&answers.dir)?;
    let legacy = join_rel(&answers.dir, LEGACY_METRICS_KEY_FILE);
    let legacy_there = std::fs::symlink_metadata(&legacy).is_ok();
    Ok(match needs_new(current.as_ref(), master_key) {
        Some(Why::MasterKey) => Some(msg!("metrics_key.warn.master_key").arg("path", METRICS_KEY_FILE)),
        Some(_) => Some(msg!("metrics_key.warn.missing").arg("path", METRICS_KEY_FILE)),
        None if legacy_there => Some(msg!("metrics_key.warn.master_key").arg("path", LEGACY_METRICS_KEY_FILE)),
        None => None,
    })
}

/// The key, atomically, readable by Prometheus's group and no one else: on Linux mode 0640
/// in the setgid folder the ownership step gave that group (so the file has it from its first
/// byte); elsewhere (Docker Desktop) owner-only, as every private file.
fn write_key(path: &Path, key: &Secret, os: Os, sink: &dyn EventSink) -> Result<()> {
    if os != Os::Linux {
        crate::render::write::write_atomic(path, key.expose().as_bytes(), true)?;
        if let Some(w) = crate::render::write::restrict(path)? {
            sink.emit(super::Event::Warning(w));
        }
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;

        use super::ownership::KEY_MODE;
        use crate::stack::PROMETHEUS_UID;
        crate::render::write::write_atomic_mode(path, key.expose().as_bytes(), KEY_MODE)?;
        let gid = std::fs::metadata(path).map_err(|e| Error::io(path, &e))?.gid();
        if gid != PROMETHEUS_UID {
            // The folder lost its group or setgid bit since the start step (by hand): as root
            // the file gets the group itself; otherwise the next install's start step fixes the
            // folder, and this one says so.
            if std::os::unix::fs::chown(path, None, Some(PROMETHEUS_UID)).is_err() {
                return Err(Error::environment(
                    msg!("metrics_key.error.group")
                        .arg("path", path.display())
                        .arg("gid", PROMETHEUS_UID),
                )
                .hint(msg!("metrics_key.hint.group")));
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = sink;
        crate::render::write::write_atomic(path, key.expose().as_bytes(), true)?;
    }
    Ok(())
}

/// Removes the master key's copy that versions before this one kept for Prometheus. A link
/// there is removed, never what it points at. `true` when there was one.
fn remove_legacy(dir: &Path) -> Result<bool> {
    let path: PathBuf = join_rel(dir, LEGACY_METRICS_KEY_FILE);
    match std::fs::symlink_metadata(&path) {
        Ok(m) if !m.is_dir() => {
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, &e))?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn master() -> Secret {
        Secret::new("sk-master-0123456789")
    }

    #[test]
    fn no_key_or_the_master_key_always_needs_a_new_one() {
        assert_eq!(needs_new(None, &master()), Some(Why::Missing));
        assert_eq!(needs_new(Some(&master()), &master()), Some(Why::MasterKey));
        assert_eq!(needs_new(Some(&Secret::new("sk-other")), &master()), None);
    }

    #[test]
    fn the_key_file_is_read_trimmed_and_never_through_a_link() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        assert_eq!(read_key(dir).expect("none"), None);
        let path = join_rel(dir, METRICS_KEY_FILE);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, "  \n").expect("write");
        assert_eq!(read_key(dir).expect("empty"), None);
        std::fs::write(&path, "sk-abc\n").expect("write");
        assert_eq!(
            read_key(dir).expect("key").map(|k| k.expose().to_string()),
            Some("sk-abc".into())
        );
        #[cfg(unix)]
        {
            let elsewhere = dir.join("shadow");
            std::fs::write(&elsewhere, "root:x\n").expect("write");
            std::fs::remove_file(&path).expect("rm");
            std::os::unix::fs::symlink(&elsewhere, &path).expect("symlink");
            let e = read_key(dir).expect_err("a link");
            assert_eq!(e.exit, crate::error::Exit::Input);
            assert_eq!(e.what.key, "hardening.symlink");
        }
    }

    #[test]
    fn the_old_copy_of_the_master_key_goes_and_only_it() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        assert!(!remove_legacy(dir).expect("none there"));
        let legacy = join_rel(dir, LEGACY_METRICS_KEY_FILE);
        std::fs::create_dir_all(legacy.parent().expect("parent")).expect("mkdir");
        std::fs::write(&legacy, "sk-master").expect("write");
        assert!(remove_legacy(dir).expect("removed"));
        assert!(!legacy.exists());
        #[cfg(unix)]
        {
            let target = dir.join("kept");
            std::fs::write(&target, "x").expect("write");
            std::os::unix::fs::symlink(&target, &legacy).expect("symlink");
            assert!(remove_legacy(dir).expect("the link removed"));
            assert!(target.exists(), "what the link pointed at stays");
        }
    }

    #[test]
    fn verify_warns_about_the_master_key_and_a_missing_key() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut a = Answers::defaults_for(Os::Linux);
        a.dir = tmp.path().to_path_buf();
        let key = |a: &Answers| audit(a, &master()).expect("audit").map(|m| m.key);
        assert_eq!(key(&a), Some("metrics_key.warn.missing"));
        let path = join_rel(&a.dir, METRICS_KEY_FILE);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, master().expose()).expect("write");
        assert_eq!(key(&a), Some("metrics_key.warn.master_key"));
        std::fs::write(&path, "sk-metrics").expect("write");
        assert_eq!(key(&a), None);
        std::fs::write(join_rel(&a.dir, LEGACY_METRICS_KEY_FILE), master().expose()).expect("write");
        assert_eq!(key(&a), Some("metrics_key.warn.master_key"));
        a.services.prometheus = false;
        assert_eq!(key(&a), None);
    }

    #[cfg(unix)]
    #[test]
    fn the_key_is_written_whole_with_the_group_of_its_folder() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = join_rel(tmp.path(), METRICS_KEY_FILE);
        let folder = path.parent().expect("parent").to_path_buf();
        std::fs::create_dir_all(&folder).expect("mkdir");
        let rec = super::super::Recorder::default();
        let r = write_key(&path, &Secret::new("sk-new"), Os::Linux, &rec);
        if crate::platform::is_root() {
            r.expect("root gives the group");
            let m = std::fs::metadata(&path).expect("meta");
            assert_eq!(m.gid(), crate::stack::PROMETHEUS_UID);
            assert_eq!(m.mode() & 0o777, 0o640);
            assert_eq!(std::fs::read_to_string(&path).expect("read"), "sk-new");
        } else {
            // Without the setgid folder of the ownership step, a user cannot give the group.
            assert_eq!(r.expect_err("no group").exit, crate::error::Exit::Environment);
        }
        let _ = std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755));
    }
}
