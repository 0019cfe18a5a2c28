//! bollard's models as the engine's plain data, and back for what is created.

use bollard::models::{ContainerInspectResponse, ContainerSummary, EventMessage, Mount, MountType};

use super::{Container, ContainerEvent, EventAction, Health, MountSourceSpec, MountSpec, PublishedPort, State};

/// "Up 3 minutes (healthy)" → healthy: older engines put health only in the status text.
pub(super) fn health_from_status(status: &str) -> Health {
    if status.contains("(healthy)") {
        Health::Healthy
    } else if status.contains("(unhealthy)") {
        Health::Unhealthy
    } else if status.contains("(health: starting)") {
        Health::Starting
    } else {
        Health::None
    }
}

pub(super) fn from_summary(s: ContainerSummary) -> Container {
    let ports = s
        .ports
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| {
            Some(PublishedPort {
                host_ip: p.ip.unwrap_or_default(),
                host_port: p.public_port?,
                container_port: p.private_port,
            })
        })
        .collect();
    let status = s.status.unwrap_or_default();
    Container {
        id: s.id.unwrap_or_default(),
        name: s
            .names
            .and_then(|n| n.into_iter().next())
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string(),
        labels: s.labels.unwrap_or_default().into_iter().collect(),
        state: State::parse(&s.state.map(|x| x.to_string()).unwrap_or_default()),
        health: health_from_status(&status),
        image: s.image.unwrap_or_default(),
        image_id: s.image_id.unwrap_or_default(),
        ports,
        restart_count: 0,
        exit_code: None,
        oom_killed: false,
        error: None,
        started_at: None,
        created: s.created,
    }
}

pub(super) fn from_inspect(r: ContainerInspectResponse) -> Container {
    let state = r.state.unwrap_or_default();
    let config = r.config.unwrap_or_default();
    let mut ports = Vec::new();
    for (key, bindings) in r.network_settings.and_then(|n| n.ports).unwrap_or_default() {
        let container_port = key.split('/').next().and_then(|p| p.parse().ok()).unwrap_or(0);
        for b in bindings.unwrap_or_default() {
            if let Some(host_port) = b.host_port.and_then(|p| p.parse().ok()) {
                ports.push(PublishedPort {
                    host_ip: b.host_ip.unwrap_or_default(),
                    host_port,
                    container_port,
                });
            }
        }
    }
    ports.sort_by_key(|p| (p.host_port, p.host_ip.clone()));
    Container {
        id: r.id.unwrap_or_default(),
        name: r.name.unwrap_or_default().trim_start_matches('/').to_string(),
        labels: config.labels.unwrap_or_default().into_iter().collect(),
        state: State::parse(&state.status.map(|s| s.to_string()).unwrap_or_default()),
        health: Health::parse(
            &state
                .health
                .and_then(|h| h.status)
                .map(|s| s.to_string())
                .unwrap_or_default(),
        ),
        image: config.image.unwrap_or_default(),
        image_id: r.image.unwrap_or_default(),
        ports,
        restart_count: r.restart_count.unwrap_or(0),
        exit_code: state.exit_code,
        oom_killed: state.oom_killed.unwrap_or(false),
        error: state.error.filter(|e| !e.is_empty()),
        started_at: state.started_at,
        created: r
            .created
            .as_deref()
            .and_then(|t| humantime::parse_rfc3339_weak(t).ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .and_then(|d| i64::try_from(d.as_secs()).ok()),
    }
}

pub(super) fn to_mount(m: &MountSpec) -> Mount {
    let (typ, source) = match &m.source {
        MountSourceSpec::Bind(p) => (MountType::BIND, p.clone()),
        MountSourceSpec::Volume(v) => (MountType::VOLUME, v.clone()),
    };
    Mount {
        target: Some(m.target.clone()),
        source: Some(source),
        typ: Some(typ),
        read_only: Some(m.read_only),
        ..Default::default()
    }
}

pub(super) fn to_event(m: EventMessage) -> Option<ContainerEvent> {
    let actor = m.actor?;
    let attributes = actor.attributes.unwrap_or_default();
    let action = m.action.unwrap_or_default();
    let action = match action.as_str() {
        "start" => EventAction::Start,
        "die" => EventAction::Die {
            exit_code: attributes.get("exitCode").and_then(|c| c.parse().ok()),
        },
        "oom" => EventAction::Oom,
        "destroy" => EventAction::Destroy,
        a if a.starts_with("health_status") => {
            EventAction::Health(Health::parse(a.rsplit(':').next().unwrap_or_default().trim()))
        }
        other => EventAction::Other(other.to_string()),
    };
    Some(ContainerEvent {
        id: actor.id.unwrap_or_default(),
        service: attributes.get(super::LABEL_SERVICE).cloned(),
        action,
    })
}

/// Splits log frames into lines; a frame may hold several, or none whole.
pub(super) fn push_lines(out: &mut Vec<String>, pending: &mut String, chunk: &[u8]) {
    pending.push_str(&String::from_utf8_lossy(chunk));
    while let Some(i) = pending.find('\n') {
        let line: String = pending.drain(..=i).collect();
        out.push(line.trim_end_matches(['\n', '\r']).to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_frames_become_lines() {
        let mut lines = Vec::new();
        let mut pending = String::new();
        push_lines(&mut lines, &mut pending, b"one\ntw");
        push_lines(&mut lines, &mut pending, b"o\r\nthree\n");
        assert_eq!(lines, vec!["one", "two", "three"]);
        assert!(pending.is_empty());
    }

    #[test]
    fn health_is_read_from_an_old_engine_status_text() {
        assert_eq!(health_from_status("Up 2 minutes (healthy)"), Health::Healthy);
        assert_eq!(health_from_status("Up 1 second (health: starting)"), Health::Starting);
        assert_eq!(health_from_status("Exited (1) 3 seconds ago"), Health::None);
    }
}
