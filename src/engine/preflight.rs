//! Checks before anything is created: the engine is recent enough, the disk has room, and every
//! host port of the plan is free (or held by this very stack).

use std::net::{IpAddr, TcpListener};
use std::path::{Path, PathBuf};

use super::{Engine, EngineInfo, LABEL_PROJECT, State};
use crate::error::{Error, Result};
use crate::i18n::Msg;
use crate::steps::{Event, EventSink, StepId};
use crate::workspace::Workspace;

/// The oldest Engine API spoken: Docker 19.03 (Ubuntu 20.04's docker.io is 20.10, API 1.41).
pub const MIN_API: (u32, u32) = (1, 40);
/// Below this the install dir cannot hold a database that grows.
pub const MIN_FREE_BYTES: u64 = 1 << 30;

pub fn parse_api(v: &str) -> Option<(u32, u32)> {
    let (a, b) = v.trim().split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// The nearest folder of `dir` that exists (the install dir may not yet).
pub fn existing_ancestor(dir: &Path) -> PathBuf {
    let mut p = dir.to_path_buf();
    while !p.exists() {
        match p.parent() {
            Some(parent) => p = parent.to_path_buf(),
            None => break,
        }
    }
    p
}

fn gib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1u64 << 30) as f64)
}

pub fn check_engine(info: &EngineInfo) -> Result<()> {
    match parse_api(&info.api_version) {
        Some(v) if v >= MIN_API => Ok(()),
        _ => Err(Error::environment(
            Msg::new("engine.preflight.too_old")
                .arg("version", &info.version)
                .arg("api", &info.api_version)
                .arg("min", format!("{}.{}", MIN_API.0, MIN_API.1)),
        )
        .hint(Msg::new("engine.preflight.too_old.hint"))),
    }
}

/// Free space where the install dir is (or will be).
pub fn check_disk(dir: &Path) -> Result<u64> {
    let probe = existing_ancestor(dir);
    let free = fs4::available_space(&probe).map_err(|e| Error::io(&probe, &e))?;
    if free < MIN_FREE_BYTES {
        return Err(Error::environment(
            Msg::new("engine.preflight.disk_low")
                .arg("path", probe.display())
                .arg("free", gib(free))
                .arg("need", gib(MIN_FREE_BYTES)),
        )
        .hint(Msg::new("engine.preflight.disk_low.hint")));
    }
    Ok(free)
}

/// Who holds a port that the plan publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortHolder {
    Free,
    ThisStack,
    Container(String),
    /// Something that is not a container listens there.
    Other,
    /// The address is not one of this machine's.
    AddressUnavailable,
}

/// Asks the OS whether `addr:port` can be listened on. Without privileges for a low port the
/// answer is unknown, and the engine (which binds as root) will say.
pub fn probe_bind(addr: &str, port: u16) -> PortHolder {
    let Ok(ip) = addr.parse::<IpAddr>() else {
        return PortHolder::AddressUnavailable;
    };
    match TcpListener::bind((ip, port)) {
        Ok(_) => PortHolder::Free,
        Err(e) => match e.kind() {
            std::io::ErrorKind::AddrInUse => PortHolder::Other,
            std::io::ErrorKind::AddrNotAvailable => PortHolder::AddressUnavailable,
            _ => PortHolder::Free,
        },
    }
}

/// The plan's published ports, each with who holds it now. Containers are asked first: a port
/// held by a container of this stack is fine (it will be kept or recreated).
pub async fn port_holders(engine: &dyn Engine, ws: &Workspace) -> Result<Vec<(&'static str, u16, PortHolder)>> {
    let containers = engine.containers(None).await?;
    let project = &ws.stack.project;
    let mut out = Vec::new();
    for (field, addr, port) in ws.answers.published_ports() {
        let port = port as u16;
        let holder = containers
            .iter()
            .filter(|c| matches!(c.state, State::Running | State::Restarting | State::Paused))
            .find(|c| c.ports.iter().any(|p| p.host_port == port));
        let holder = match holder {
            Some(c) if c.labels.get(LABEL_PROJECT) == Some(project) => PortHolder::ThisStack,
            Some(c) => PortHolder::Container(c.name.clone()),
            None => probe_bind(addr, port),
        };
        out.push((field, port, holder));
    }
    Ok(out)
}

pub fn port_error(field: &str, port: u16, holder: &PortHolder, addr: &str) -> Option<Error> {
    let e = match holder {
        PortHolder::Free | PortHolder::ThisStack => return None,
        PortHolder::Container(name) => Error::environment(
            Msg::new("engine.preflight.port_container")
                .arg("port", port)
                .arg("field", field)
                .arg("container", name),
        )
        .hint(
            Msg::new("engine.preflight.port_container.hint")
                .arg("container", name)
                .arg("field", field),
        ),
        PortHolder::Other => Error::environment(
            Msg::new("engine.preflight.port_taken")
                .arg("port", port)
                .arg("field", field),
        )
        .hint(
            Msg::new("engine.preflight.port_taken.hint")
                .arg("port", port)
                .arg("field", field),
        ),
        PortHolder::AddressUnavailable => Error::environment(
            Msg::new("engine.preflight.addr_unavailable")
                .arg("addr", addr)
                .arg("port", port)
                .arg("field", field.replacen("ports.", "bind.", 1)),
        )
        .hint(Msg::new("engine.preflight.addr_unavailable.hint").arg("field", field.replacen("ports.", "bind.", 1))),
    };
    Some(e)
}

/// The preflight step: engine, disk, ports. Emits a progress line per check; the first
/// failing check is the error (exit 3), and nothing has been created.
pub async fn run(engine: &dyn Engine, ws: &Workspace, sink: &dyn EventSink) -> Result<EngineInfo> {
    let progress = |msg: Msg| {
        sink.emit(Event::StepProgress {
            step: StepId::Preflight,
            msg,
        })
    };
    let info = engine.info().await?;
    check_engine(&info)?;
    // Docker Desktop switched to Windows containers cannot run the stack's Linux images.
    if let Some(e) = crate::engine::checks::engine_os_type_check(&info.os) {
        return Err(e);
    }
    progress(
        Msg::new("engine.preflight.engine_ok")
            .arg("version", &info.version)
            .arg("api", &info.api_version)
            .arg("endpoint", &info.endpoint),
    );
    if let Some(mem) = info.mem_total {
        let check = crate::engine::checks::engine_memory_check(ws.os, mem);
        match (check.verdict, check.hint) {
            (crate::engine::checks::Verdict::Pass, _) => progress(check.msg),
            (crate::engine::checks::Verdict::Warn, hint) => {
                sink.emit(Event::Warning(check.msg));
                if let Some(h) = hint {
                    progress(h);
                }
            }
        }
    }
    let free = check_disk(ws.dir())?;
    progress(
        Msg::new("engine.preflight.disk_ok")
            .arg("free", gib(free))
            .arg("path", existing_ancestor(ws.dir()).display()),
    );
    let holders = port_holders(engine, ws).await?;
    let addrs = ws.answers.published_ports();
    for ((field, port, holder), (_, addr, _)) in holders.iter().zip(&addrs) {
        if let Some(e) = port_error(field, *port, holder, addr) {
            return Err(e);
        }
        let key = if *holder == PortHolder::ThisStack {
            "engine.preflight.port_ours"
        } else {
            "engine.preflight.port_free"
        };
        progress(Msg::new(key).arg("port", port).arg("field", field));
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    #[test]
    fn api_versions_compare_as_numbers() {
        assert!(parse_api("1.41").expect("parses") >= MIN_API);
        assert!(parse_api("1.9").expect("parses") < MIN_API);
        assert!(parse_api("1.100").expect("parses") > parse_api("1.53").expect("parses"));
    }

    #[test]
    fn a_port_held_by_a_listener_is_named_with_the_field_to_change() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let holder = probe_bind("127.0.0.1", port);
        assert_eq!(holder, PortHolder::Other);
        let e = port_error("ports.litellm", port, &holder, "127.0.0.1").expect("an error");
        assert_eq!(e.exit, crate::error::Exit::Environment);
        let text = e.render(Lang::En);
        assert!(
            text.contains(&port.to_string()) && text.contains("ports.litellm"),
            "{text}"
        );
        drop(listener);
        assert_eq!(probe_bind("127.0.0.1", port), PortHolder::Free);
    }

    #[test]
    fn a_port_held_by_another_container_names_it() {
        let e = port_error("ports.nginx", 8080, &PortHolder::Container("web-1".into()), "0.0.0.0").expect("error");
        assert!(e.render(Lang::En).contains("web-1"));
        assert!(port_error("ports.nginx", 8080, &PortHolder::ThisStack, "0.0.0.0").is_none());
    }
}
