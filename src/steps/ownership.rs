//! Ownership of the files that containers running as another user read or write.

use super::{EventSink, StepError};
use crate::engine::Engine;
use crate::workspace::Workspace;

/// Prometheus runs as `nobody` (errata 21): its data folder must be its own, and the folder
/// of its key (`prometheus/secrets`) ours with its group, mode 2750: setgid, so the key written
/// into it later (by `steps::metrics_key`, mode 0640) is readable by that group and nobody
/// else, whoever writes it. As root this is a chown; otherwise a one-shot root container of
/// the prometheus image does it.
#[cfg(unix)]
pub(crate) async fn fix_prometheus_ownership(
    ws: &Workspace,
    engine: &dyn Engine,
    sink: &dyn EventSink,
) -> std::result::Result<(), StepError> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt, chown};

    use super::helper::run_as_root;
    use super::{StepId, progress};
    use crate::error::Error;

    use crate::platform::join_rel;
    use crate::platform::{DataStorage, Os};
    use crate::stack::{METRICS_KEY_DIR, METRICS_KEY_FILE, PROMETHEUS_UID};

    let Some(prometheus) = ws.stack.service("prometheus") else {
        return Ok(());
    };
    if ws.os != Os::Linux {
        return Ok(());
    }
    let data = join_rel(ws.dir(), "prometheus_data");
    let secrets = join_rel(ws.dir(), METRICS_KEY_DIR);
    let key = join_rel(ws.dir(), METRICS_KEY_FILE);
    let bind_data = ws.answers.data == DataStorage::Bind;
    let data_ok = !bind_data
        || std::fs::metadata(&data)
            .map(|m| m.uid() == PROMETHEUS_UID)
            .unwrap_or(false);
    let secrets_meta = std::fs::metadata(&secrets).map_err(|e| Error::io(&secrets, &e))?;
    let secrets_ok = secrets_meta.gid() == PROMETHEUS_UID && secrets_meta.mode() & 0o7777 == SECRETS_MODE;
    // The key exists from the first run's metrics-key step on.
    let key_meta = std::fs::metadata(&key).ok();
    let key_ok = key_meta
        .as_ref()
        .is_none_or(|m| m.gid() == PROMETHEUS_UID && m.mode() & 0o777 == KEY_MODE);
    if data_ok && secrets_ok && key_ok {
        return Ok(());
    }
    let owners_changed = !data_ok
        || secrets_meta.gid() != PROMETHEUS_UID
        || key_meta.as_ref().is_some_and(|m| m.gid() != PROMETHEUS_UID);
    let direct = (|| -> std::io::Result<()> {
        if !data_ok {
            chown(&data, Some(PROMETHEUS_UID), Some(PROMETHEUS_UID))?;
        }
        if secrets_meta.gid() != PROMETHEUS_UID {
            chown(&secrets, None, Some(PROMETHEUS_UID))?;
        }
        std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(SECRETS_MODE))?;
        if key_meta.as_ref().is_some_and(|m| m.gid() != PROMETHEUS_UID) {
            chown(&key, None, Some(PROMETHEUS_UID))?;
        }
        Ok(())
    })();
    // Not root: the group cannot be given, and the setgid bit of a folder whose group is not
    // ours is dropped by the kernel. The engine runs a root container that does both.
    let setgid_dropped = || std::fs::metadata(&secrets).is_ok_and(|m| m.mode() & 0o7777 != SECRETS_MODE);
    let needs_root = match &direct {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => true,
        Err(e) => return Err(Error::io(&secrets, e).into()),
        Ok(()) => setgid_dropped(),
    };
    if needs_root {
        let mut binds: Vec<(&std::path::Path, &str)> = vec![(&secrets, "/fix/secrets")];
        let name = METRICS_KEY_FILE.rsplit('/').next().unwrap_or_default();
        let mut script = format!(
            "chgrp {PROMETHEUS_UID} /fix/secrets && chmod {SECRETS_MODE:o} /fix/secrets \
             && if [ -f /fix/secrets/{name} ]; then chgrp {PROMETHEUS_UID} /fix/secrets/{name}; fi"
        );
        if !data_ok {
            binds.push((&data, "/fix/data"));
            script.push_str(&format!(" && chown {PROMETHEUS_UID}:{PROMETHEUS_UID} /fix/data"));
        }
        let (code, logs) = run_as_root(engine, &ws.stack.project, &prometheus.image, script, &binds).await?;
        if code != 0 {
            let path = if data_ok { &secrets } else { &data };
            return Err(StepError {
                error: Error::environment(msg!("engine.ownership.failed").arg("path", path.display()))
                    .hint(msg!("engine.ownership.failed.hint").arg("path", path.display())),
                logs,
            });
        }
    }
    // We own the key file (root, or its owner): readable by nobody's group, by no one else.
    if key_meta.is_some() {
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(KEY_MODE)).map_err(|e| Error::io(&key, &e))?;
    }
    if owners_changed {
        progress(
            sink,
            StepId::Start,
            msg!("engine.ownership.fixed").arg("uid", PROMETHEUS_UID),
        );
    }
    Ok(())
}

/// `prometheus/secrets`: ours, Prometheus's group, setgid; nothing for others.
#[cfg(unix)]
pub(crate) const SECRETS_MODE: u32 = 0o2750;
/// The key in it: ours, readable by the group.
#[cfg(unix)]
pub(crate) const KEY_MODE: u32 = 0o640;

#[cfg(not(unix))]
pub(crate) async fn fix_prometheus_ownership(
    _ws: &Workspace,
    _engine: &dyn Engine,
    _sink: &dyn EventSink,
) -> std::result::Result<(), StepError> {
    // Docker Desktop keeps data in named volumes, and its bind mounts carry no Unix owners.
    Ok(())
}
