//! `down` and `uninstall`: the project's containers, network and (on request) volumes removed.

use std::path::Path;

use super::helper::run_as_root;
use super::start::STOP_TIMEOUT_S;
use crate::engine::spec::{network_name, volume_name};
use crate::engine::{Container, Engine};
use crate::error::{Error, Result};
use crate::platform::join_rel;
use crate::platform::{DataStorage, Os};
use crate::stack::Stack;

/// The data folders of the SOP tree that `--purge` empties.
const DATA_DIRS: [&str; 3] = ["pg_data", "redis_data", "prometheus_data"];

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DownReport {
    pub containers: Vec<String>,
    pub networks: Vec<String>,
    pub volumes: Vec<String>,
}

/// Stops and removes the project's containers (in reverse start order) and its network; with
/// `remove_volumes`, its named volumes too. Data in bind-mounted folders is not touched here.
pub async fn take_down(engine: &dyn Engine, stack: &Stack, remove_volumes: bool) -> Result<DownReport> {
    let mut report = DownReport::default();
    let mut existing = engine.containers(Some(&stack.project)).await?;
    let order = |c: &Container| {
        stack
            .services
            .iter()
            .position(|s| Some(s.name) == c.service())
            .unwrap_or(usize::MAX)
    };
    existing.sort_by_key(|c| std::cmp::Reverse(order(c)));
    for c in &existing {
        engine.stop_container(&c.id, STOP_TIMEOUT_S).await?;
        engine.remove_container(&c.id).await?;
        report.containers.push(c.name.clone());
    }
    let mut networks = engine.networks(&stack.project).await?;
    let default_net = network_name(&stack.project);
    if !networks.contains(&default_net) {
        networks.push(default_net);
    }
    for n in networks {
        if engine.remove_network(&n).await? {
            report.networks.push(n);
        }
    }
    if remove_volumes {
        let mut volumes = engine.volumes(&stack.project).await?;
        for v in &stack.volumes {
            let name = volume_name(&stack.project, v);
            if !volumes.contains(&name) {
                volumes.push(name);
            }
        }
        for v in volumes {
            if engine.remove_volume(&v).await? {
                report.volumes.push(v);
            }
        }
    }
    Ok(report)
}

/// `down`: containers and network removed; every volume and data folder kept.
pub async fn down(stack: &Stack) -> Result<DownReport> {
    let engine = super::session::connect().await?;
    take_down(&engine, stack, false).await
}

/// `uninstall`: like `down`; with `purge`, the named volumes and (bind mounts) the data folders
/// are deleted too.
pub async fn uninstall(stack: &Stack, purge: bool, data: DataStorage) -> Result<DownReport> {
    let engine = super::session::connect().await?;
    let report = take_down(&engine, stack, purge).await?;
    if purge && data == DataStorage::Bind {
        for d in DATA_DIRS {
            purge_dir(&engine, stack, &join_rel(&stack.dir, d)).await?;
        }
    }
    Ok(report)
}

/// Empties a data folder. Its files belong to the containers' users (postgres, nobody): when
/// we may not delete them, a root helper container of the stack's own image does.
async fn purge_dir(engine: &dyn Engine, stack: &Stack, dir: &Path) -> Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    match std::fs::remove_dir_all(dir) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() != std::io::ErrorKind::PermissionDenied => return Err(Error::io(dir, &e)),
        Err(_) => {}
    }
    let image = stack.services.first().map(|s| s.image.clone()).unwrap_or_default();
    let script = "find /purge -mindepth 1 -delete".to_string();
    let (code, logs) = run_as_root(engine, &stack.project, &image, script, &[(dir, "/purge")]).await?;
    if code != 0 {
        let command = match Os::current() {
            Os::Linux => format!("sudo rm -rf '{}'", dir.display()),
            Os::Windows => format!("Remove-Item -Recurse -Force '{}'", dir.display()),
        };
        return Err(
            Error::environment(msg!("engine.uninstall.purge_failed").arg("path", dir.display()))
                .detail(logs.join("\n"))
                .hint(msg!("engine.uninstall.purge_failed.hint").arg("command", command)),
        );
    }
    std::fs::remove_dir(dir).map_err(|e| Error::io(dir, &e))
}
