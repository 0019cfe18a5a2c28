//! bluegreen: what the zero-downtime change of LiteLLM needs from the engine beyond the
//! basics: a container's address on the stack network (to test it directly from the host
//! before any client is sent to it) and a rename (the new container takes the old one's name
//! once the old one is gone, so Compose sees one `litellm` under its usual name).

use bollard::Docker;
use bollard::query_parameters::RenameContainerOptions;

use super::docker_error::{api_error, is_not_found};
use super::error::EngineResult as Result;

pub(super) async fn container_ip(docker: &Docker, id: &str, network: &str) -> Result<Option<String>> {
    match docker.inspect_container(id, None).await {
        Ok(r) => Ok(r
            .network_settings
            .and_then(|n| n.networks)
            .and_then(|mut nets| nets.remove(network))
            .and_then(|e| e.ip_address)
            .filter(|ip| !ip.is_empty())),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(api_error(format!("inspect {id}"), e)),
    }
}

pub(super) async fn rename_container(docker: &Docker, id: &str, name: &str) -> Result<()> {
    let options = RenameContainerOptions { name: name.to_string() };
    docker
        .rename_container(id, options)
        .await
        .map_err(|e| api_error(format!("rename {id} to {name}"), e))
}

/// reload: `signal` to the container's main process (`docker kill --signal`), for a
/// configuration reload (Prometheus on SIGHUP).
pub(super) async fn signal_container(docker: &Docker, id: &str, signal: &str) -> Result<()> {
    let options = bollard::query_parameters::KillContainerOptions {
        signal: signal.to_string(),
    };
    docker
        .kill_container(id, Some(options))
        .await
        .map_err(|e| api_error(format!("kill --signal {signal} {id}"), e))
}
