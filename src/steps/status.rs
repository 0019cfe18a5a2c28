//! `status`: each service of the stack with its container's state, health, image, ports and
//! restarts.

use crate::engine::spec::container_name;
use crate::engine::{Engine, Health, State};
use crate::error::Result;
use crate::stack::Stack;

/// One service as `status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ServiceStatus {
    pub service: String,
    /// The container's name; `None` when the service has no container.
    pub container: Option<String>,
    pub state: Option<State>,
    pub health: Option<Health>,
    pub image: String,
    pub ports: Vec<String>,
    pub restarts: i64,
}

/// Each service of the stack with its container's state, health, image, ports and restarts.
pub async fn stack_status(engine: &dyn Engine, stack: &Stack) -> Result<Vec<ServiceStatus>> {
    let existing = engine.containers(Some(&stack.project)).await?;
    let mut out = Vec::new();
    for s in &stack.services {
        let found = existing
            .iter()
            .find(|c| c.service() == Some(s.name) && c.name == container_name(&stack.project, s.name))
            .or_else(|| existing.iter().find(|c| c.service() == Some(s.name)));
        let detail = match found {
            Some(c) => engine.inspect_container(&c.id).await?,
            None => None,
        };
        out.push(match detail {
            Some(c) => ServiceStatus {
                service: s.name.to_string(),
                container: Some(c.name.clone()),
                state: Some(c.state),
                health: Some(c.health),
                image: c.image.clone(),
                ports: c
                    .ports
                    .iter()
                    .map(|p| format!("{}:{}->{}", p.host_ip, p.host_port, p.container_port))
                    .collect(),
                restarts: c.restart_count,
            },
            None => ServiceStatus {
                service: s.name.to_string(),
                container: None,
                state: None,
                health: None,
                image: s.image.clone(),
                ports: Vec::new(),
                restarts: 0,
            },
        });
    }
    Ok(out)
}

/// `status`: connects and looks.
pub async fn status(stack: &Stack) -> Result<Vec<ServiceStatus>> {
    let engine = super::session::connect().await?;
    stack_status(&engine, stack).await
}
