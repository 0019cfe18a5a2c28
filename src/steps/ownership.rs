//! Ownership of the files that containers running as another user read or write.

use super::{EventSink, StepError};
use crate::engine::Engine;
use crate::workspace::Workspace;

/// Prometheus runs as `nobody` (errata 21): its data folder must be its own, and the metrics
/// key (mode 0600, ours) readable by its group. As root this is a chown; otherwise a one-shot
/// root container of the prometheus image does it.
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
    use crate::stack::{METRICS_KEY_FILE, PROMETHEUS_UID};

    let Some(prometheus) = ws.stack.service("prometheus") else {
        return Ok(());
    };
    if ws.os != Os::Linux {
        return Ok(());
    }
    let data = join_rel(ws.dir(), "prometheus_data");
    let key = join_rel(ws.dir(), METRICS_KEY_FILE);
    let bind_data = ws.answers.data == DataStorage::Bind;
    let data_ok = !bind_data
        || std::fs::metadata(&data)
            .map(|m| m.uid() == PROMETHEUS_UID)
            .unwrap_or(false);
    let key_meta = std::fs::metadata(&key).map_err(|e| Error::io(&key, &e))?;
    let key_ok = key_meta.gid() == PROMETHEUS_UID && key_meta.mode() & 0o040 != 0;
    if data_ok && key_ok {
        return Ok(());
    }
    // A re-run finds the key back at 0600 (the file writer keeps private files so): only the
    // mode is restored then, silently.
    let owners_changed = !data_ok || key_meta.gid() != PROMETHEUS_UID;
    let direct = (|| -> std::io::Result<()> {
        if !data_ok {
            chown(&data, Some(PROMETHEUS_UID), Some(PROMETHEUS_UID))?;
        }
        if key_meta.gid() != PROMETHEUS_UID {
            chown(&key, None, Some(PROMETHEUS_UID))?;
        }
        Ok(())
    })();
    if let Err(e) = direct {
        if e.kind() != std::io::ErrorKind::PermissionDenied {
            return Err(Error::io(&key, &e).into());
        }
        // Not root: the engine runs a root container that does the same and is removed.
        let mut binds: Vec<(&std::path::Path, &str)> = vec![(&key, "/fix/key")];
        let mut script = format!("chgrp {PROMETHEUS_UID} /fix/key");
        if !data_ok {
            binds.push((&data, "/fix/data"));
            script.push_str(&format!(" && chown {PROMETHEUS_UID}:{PROMETHEUS_UID} /fix/data"));
        }
        let (code, logs) = run_as_root(engine, &ws.stack.project, &prometheus.image, script, &binds).await?;
        if code != 0 {
            return Err(StepError {
                error: Error::environment(msg!("engine.ownership.failed").arg("path", data.display()))
                    .hint(msg!("engine.ownership.failed.hint").arg("path", data.display())),
                logs,
            });
        }
    }
    // We own the key file (root, or its owner): group-readable for nobody's group.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).map_err(|e| Error::io(&key, &e))?;
    if owners_changed {
        progress(
            sink,
            StepId::Start,
            msg!("engine.ownership.fixed").arg("uid", PROMETHEUS_UID),
        );
    }
    Ok(())
}

#[cfg(not(unix))]
pub(crate) async fn fix_prometheus_ownership(
    _ws: &Workspace,
    _engine: &dyn Engine,
    _sink: &dyn EventSink,
) -> std::result::Result<(), StepError> {
    // Docker Desktop keeps data in named volumes, and its bind mounts carry no Unix owners.
    Ok(())
}
