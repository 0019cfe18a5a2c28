//! THE preflight: one list of checks of the machine before anything is created (the OS, the
//! Docker engine, its memory, free disk, every host port of the plan). The wizard shows the list
//! on screen 3; the install's preflight step computes the same list with the final answers and
//! enforces it: the first failed check is the install's error (exit 3), and nothing is created.
//!
//! Each check says what was found (`summary`) and, for a warning or a failure, what to do in
//! the wizard (`fix`); a failure also carries the error the unattended install stops with, whose
//! hint names the answers field instead.

use std::net::{IpAddr, TcpListener};
use std::path::Path;

use super::{Event, EventSink, StepId};
use crate::answers::Answers;
use crate::engine::{Engine, EngineInfo, LABEL_PROJECT, State};
use crate::error::{Error, Result};
use crate::i18n::Msg;
use crate::platform::{Os, Shell, existing_ancestor};

/// The oldest Engine API spoken: Docker 19.03 (Ubuntu 20.04's docker.io is 20.10, API 1.41).
pub const MIN_API: (u32, u32) = (1, 40);
/// Below this the install dir cannot hold a database that grows: a failure.
pub const MIN_FREE_BYTES: u64 = 1 << 30;
/// The images take about 4 GB: below this, a warning.
const DISK_COMFORTABLE: u64 = 5 << 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckStatus {
    Pass,
    Warn,
    Fail,
    /// Not checked: this build or this user cannot check it. Never shown as a pass.
    Unchecked,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// What was checked ("Docker engine", "Port 80").
    pub name: Msg,
    pub status: CheckStatus,
    /// What was found.
    pub summary: Msg,
    /// What to do in the wizard, with the command in the user's shell, for a warning or a
    /// failure.
    pub fix: Option<Msg>,
    /// For a failure: the error the install stops with (its hint names the answers field).
    pub error: Option<Error>,
    /// The answers field a port check is about (`ports.nginx`): the wizard's ports screen
    /// changes it.
    pub field: Option<&'static str>,
}

impl Check {
    fn pass(name: Msg, summary: Msg) -> Check {
        Check {
            name,
            status: CheckStatus::Pass,
            summary,
            fix: None,
            error: None,
            field: None,
        }
    }

    fn warn(name: Msg, summary: Msg, fix: Option<Msg>) -> Check {
        Check {
            name,
            status: CheckStatus::Warn,
            summary,
            fix,
            error: None,
            field: None,
        }
    }

    /// A failed check from the error the install stops with: what it says, its hint as the fix.
    fn failed(name: Msg, e: &Error) -> Check {
        Check {
            name,
            status: CheckStatus::Fail,
            summary: e.what.clone(),
            fix: e.hint.clone(),
            error: Some(e.clone()),
            field: None,
        }
    }

    fn about(mut self, field: &'static str) -> Check {
        self.field = Some(field);
        self
    }

    /// A port check: the wizard lets the user go on and choose another port on its ports
    /// screen, where the ports are checked again before the review.
    pub fn is_port(&self) -> bool {
        self.field.is_some()
    }

    /// The error when this check stops an install.
    pub fn as_error(&self) -> Option<Error> {
        if self.status != CheckStatus::Fail {
            return None;
        }
        Some(self.error.clone().unwrap_or_else(|| {
            let e = Error::environment(self.summary.clone());
            match &self.fix {
                Some(f) => e.hint(f.clone()),
                None => e,
            }
        }))
    }
}

/// Whether the wizard may go on: no check failed.
pub fn may_continue(checks: &[Check]) -> bool {
    !checks.iter().any(|c| c.status == CheckStatus::Fail)
}

/// The list as the wizard's checklist shows it: a port that cannot be used is a warning
/// there (the user picks another one on the ports screen, checked again before the review);
/// every other failure stays one. The install itself enforces the list as `checks` makes it.
pub fn for_wizard(checks: Vec<Check>) -> Vec<Check> {
    checks
        .into_iter()
        .map(|c| match c.status {
            CheckStatus::Fail if c.is_port() => Check {
                status: CheckStatus::Warn,
                ..c
            },
            _ => c,
        })
        .collect()
}

/// The first port of the plan that cannot be used, as the ports screen checks it.
pub fn first_port_problem(checks: &[Check]) -> Option<&Check> {
    checks.iter().find(|c| c.is_port() && c.status == CheckStatus::Fail)
}

/// The checks and, when the engine answered, what it said about itself.
#[derive(Debug, Clone)]
pub struct Checked {
    pub checks: Vec<Check>,
    pub engine: Option<EngineInfo>,
}

/// Runs every check. `engine` is the connection, or why there is none. Takes as long as the
/// engine takes to answer: a front end runs it off its UI loop.
pub async fn checks(
    engine: std::result::Result<&dyn Engine, &Error>,
    answers: &Answers,
    project: &str,
    os: Os,
) -> Checked {
    let mut checks = vec![os_check(os)];
    let name = msg!("wizard.check.engine");
    let mut usable = None;
    let mut info_out = None;
    match engine {
        Err(e) => checks.push(Check::failed(name, e)),
        Ok(engine) => match engine.info().await {
            Err(e) => checks.push(Check::failed(name, &Error::from(e))),
            Ok(info) => {
                match engine_check(&info) {
                    Err(e) => checks.push(Check::failed(name, &e)),
                    Ok(summary) => {
                        checks.push(Check::pass(name, summary));
                        // The memory the engine has: on Docker Desktop its VM's (the WSL 2
                        // limit), not the host's.
                        if let Some(mem) = info.mem_total {
                            checks.push(memory_check(os, mem));
                        }
                        usable = Some(engine);
                    }
                }
                info_out = Some(info);
            }
        },
    }
    checks.push(disk_check(&answers.dir));
    checks.extend(ports(usable, answers, project, os).await);
    Checked {
        checks,
        engine: info_out,
    }
}

/// The port checks alone (the wizard's ports screen asks again before the review): through
/// the engine when there is one, which tells this stack's own containers apart.
pub async fn ports(engine: Option<&dyn Engine>, answers: &Answers, project: &str, os: Os) -> Vec<Check> {
    match engine {
        Some(engine) => match engine_port_checks(engine, answers, project, os).await {
            Ok(c) => c,
            Err(_) => port_checks(answers, os),
        },
        None => port_checks(answers, os),
    }
}

/// The install's preflight step: the same checks, enforced. Each check is a progress line (a
/// warning for a warning); the first failed check is the error, and nothing has been created.
pub async fn run(
    engine: &dyn Engine,
    answers: &Answers,
    project: &str,
    os: Os,
    sink: &dyn EventSink,
) -> Result<EngineInfo> {
    let checked = checks(Ok(engine), answers, project, os).await;
    let progress = |msg: Msg| {
        sink.emit(Event::StepProgress {
            step: StepId::Preflight,
            msg,
        })
    };
    for c in &checked.checks {
        if let Some(e) = c.as_error() {
            return Err(e);
        }
        let line = msg!("preflight.line")
            .nested("name", c.name.clone())
            .nested("summary", c.summary.clone());
        match c.status {
            CheckStatus::Warn => {
                sink.emit(Event::Warning(line));
                if let Some(fix) = &c.fix {
                    progress(fix.clone());
                }
            }
            _ => progress(line),
        }
    }
    // A usable engine was checked above; without its facts the first check failed already.
    checked
        .engine
        .ok_or_else(|| Error::environment(msg!("wizard.check.engine")))
}

pub fn parse_api(v: &str) -> Option<(u32, u32)> {
    let (a, b) = v.trim().split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

fn gib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1u64 << 30) as f64)
}

/// The engine recent enough, and running Linux containers; what it is, for the list.
pub fn engine_check(info: &EngineInfo) -> Result<Msg> {
    match parse_api(&info.api_version) {
        Some(v) if v >= MIN_API => {}
        _ => {
            return Err(Error::environment(
                msg!("engine.preflight.too_old")
                    .arg("version", &info.version)
                    .arg("api", &info.api_version)
                    .arg("min", format!("{}.{}", MIN_API.0, MIN_API.1)),
            )
            .hint(msg!("engine.preflight.too_old.hint")));
        }
    }
    // Docker Desktop switched to Windows containers cannot run the stack's Linux images.
    if let Some(e) = crate::engine::checks::engine_os_type_check(&info.os) {
        return Err(e);
    }
    Ok(msg!("engine.preflight.engine_ok")
        .arg("version", &info.version)
        .arg("api", &info.api_version)
        .arg("endpoint", &info.endpoint))
}

fn memory_check(os: Os, mem: u64) -> Check {
    let name = msg!("wizard.check.memory");
    let check = crate::engine::checks::engine_memory_check(os, mem);
    match check.verdict {
        crate::engine::checks::Verdict::Pass => Check::pass(name, check.msg),
        crate::engine::checks::Verdict::Warn => Check::warn(name, check.msg, check.hint),
    }
}

/// Free space where the install dir is (or will be).
pub fn free_space(dir: &Path) -> Result<u64> {
    let probe = existing_ancestor(dir);
    fs4::available_space(&probe).map_err(|e| Error::io(&probe, &e))
}

fn disk_check(dir: &Path) -> Check {
    let name = msg!("wizard.check.disk");
    let at = existing_ancestor(dir);
    match free_space(dir) {
        Ok(free) if free < MIN_FREE_BYTES => {
            let e = Error::environment(
                msg!("engine.preflight.disk_low")
                    .arg("path", at.display())
                    .arg("free", gib(free))
                    .arg("need", gib(MIN_FREE_BYTES)),
            )
            .hint(msg!("engine.preflight.disk_low.hint"));
            Check {
                fix: Some(msg!("wizard.fix.disk")),
                ..Check::failed(name, &e)
            }
        }
        Ok(free) if free < DISK_COMFORTABLE => Check::warn(
            name,
            msg!("wizard.check.disk.tight")
                .arg("free", gib(free))
                .arg("path", at.display()),
            Some(msg!("wizard.fix.disk")),
        ),
        Ok(free) => Check::pass(
            name,
            msg!("engine.preflight.disk_ok")
                .arg("free", gib(free))
                .arg("path", at.display()),
        ),
        Err(e) => Check {
            fix: Some(msg!("wizard.fix.disk")),
            ..Check::failed(name, &e)
        },
    }
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
pub async fn port_holders(
    engine: &dyn Engine,
    answers: &Answers,
    project: &str,
) -> Result<Vec<(&'static str, u16, PortHolder)>> {
    let containers = engine.containers(None).await?;
    let mut out = Vec::new();
    for (field, addr, port) in answers.published_ports() {
        let port = port as u16;
        let holder = containers
            .iter()
            .filter(|c| matches!(c.state, State::Running | State::Restarting | State::Paused))
            .find(|c| c.ports.iter().any(|p| p.host_port == port));
        let holder = match holder {
            Some(c) if c.labels.get(LABEL_PROJECT).map(String::as_str) == Some(project) => PortHolder::ThisStack,
            Some(c) => PortHolder::Container(c.name.clone()),
            None => probe_bind(addr, port),
        };
        out.push((field, port, holder));
    }
    Ok(out)
}

/// The error an install stops with when `holder` keeps it from publishing `port`.
pub fn port_error(field: &str, port: u16, holder: &PortHolder, addr: &str, os: Os) -> Option<Error> {
    let e = match holder {
        PortHolder::Free | PortHolder::ThisStack => return None,
        PortHolder::Container(name) => Error::environment(
            msg!("engine.preflight.port_container")
                .arg("port", port)
                .arg("field", field)
                .arg("container", name),
        )
        .hint(
            msg!("engine.preflight.port_container.hint")
                .arg("container", name)
                .arg("field", field),
        ),
        PortHolder::Other => Error::environment(
            msg!("engine.preflight.port_taken")
                .arg("port", port)
                .arg("field", field),
        )
        .hint(
            msg!("engine.preflight.port_taken.hint")
                .arg("port", port)
                .arg("field", field)
                .arg("cmd", port_owner_command(os.shell(), u32::from(port))),
        ),
        PortHolder::AddressUnavailable => Error::environment(
            msg!("engine.preflight.addr_unavailable")
                .arg("addr", addr)
                .arg("port", port)
                .arg("field", field.replacen("ports.", "bind.", 1)),
        )
        .hint(msg!("engine.preflight.addr_unavailable.hint").arg("field", field.replacen("ports.", "bind.", 1))),
    };
    Some(e)
}

/// Ports as the engine and the OS see them: a port held by this stack's own container is fine;
/// one held by another container or program is a failure, named.
async fn engine_port_checks(engine: &dyn Engine, answers: &Answers, project: &str, os: Os) -> Result<Vec<Check>> {
    let holders = port_holders(engine, answers, project).await?;
    let addrs = answers.published_ports();
    Ok(holders
        .into_iter()
        .zip(addrs)
        .map(|((field, port, holder), (_, addr, _))| {
            let name = msg!("wizard.check.port").arg("port", port);
            let check = match (&holder, port_error(field, port, &holder, addr, os)) {
                (PortHolder::ThisStack, _) => Check::pass(name, msg!("wizard.check.port.ours")),
                (PortHolder::Other, Some(e)) => Check {
                    name,
                    status: CheckStatus::Fail,
                    summary: msg!("wizard.check.port.in_use"),
                    fix: Some(
                        msg!("wizard.fix.port_taken").arg("cmd", port_owner_command(os.shell(), u32::from(port))),
                    ),
                    error: Some(e),
                    field: None,
                },
                (PortHolder::Container(c), Some(e)) => Check {
                    fix: Some(msg!("newcomer.fix.port_container").arg("container", c)),
                    ..Check::failed(name, &e)
                },
                (_, Some(e)) => Check {
                    fix: Some(msg!("wizard.fix.choose_on_ports_screen")),
                    ..Check::failed(name, &e)
                },
                (_, None) => Check::pass(name, msg!("wizard.check.port.free").arg("addr", addr)),
            };
            check.about(field)
        })
        .collect())
}

fn os_check(os: Os) -> Check {
    let name = msg!("wizard.check.os");
    match os {
        Os::Windows => Check::pass(name, msg!("wizard.check.os.windows")),
        Os::Linux => {
            let release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
            let field = |key: &str| {
                release
                    .lines()
                    .find_map(|l| l.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
                    .map(|v| v.trim_matches('"').to_string())
            };
            let pretty = field("PRETTY_NAME").unwrap_or_else(|| "Linux".into());
            // The SOP is written for Ubuntu, and this project is tested on Debian (Ubuntu's base,
            // the same Docker packages): both pass. Other distributions run Docker the same way,
            // so they are a warning, not a failure.
            if matches!(field("ID").as_deref(), Some("ubuntu" | "debian")) {
                Check::pass(name, msg!("wizard.check.os.linux").arg("name", pretty))
            } else {
                Check::warn(name, msg!("wizard.check.os.other_linux").arg("name", pretty), None)
            }
        }
    }
}

/// The command that shows who holds a port, in the user's shell.
pub fn port_owner_command(shell: Shell, port: u32) -> String {
    match shell {
        Shell::Bash => format!("sudo ss -ltnp 'sport = :{port}'"),
        Shell::PowerShell => {
            format!("Get-NetTCPConnection -LocalPort {port} -State Listen | Select-Object OwningProcess")
        }
    }
}

/// Without an engine: whether this user can listen on each port. Docker may still hold one for
/// an earlier install of this stack, so a port in use is a warning here.
fn port_checks(answers: &Answers, os: Os) -> Vec<Check> {
    answers
        .published_ports()
        .into_iter()
        .map(|(field, addr, port)| port_check(addr, port, os).about(field))
        .collect()
}

fn port_check(addr: &str, port: u32, os: Os) -> Check {
    let name = msg!("wizard.check.port").arg("port", port);
    let choose = || Some(msg!("wizard.fix.choose_on_ports_screen"));
    let Ok(ip) = addr.parse::<IpAddr>() else {
        return Check {
            fix: choose(),
            ..Check::failed(name, &Error::input(msg!("problem.bind_addr").arg("value", addr)))
        };
    };
    let Ok(port16) = u16::try_from(port) else {
        return Check {
            fix: choose(),
            ..Check::failed(name, &Error::input(msg!("problem.port_range").arg("value", port)))
        };
    };
    match TcpListener::bind((ip, port16)) {
        Ok(listener) => {
            drop(listener);
            Check::pass(name, msg!("wizard.check.port.free").arg("addr", addr))
        }
        // Only root may bind below 1024 on Linux, but the Docker daemon can: this user
        // simply cannot test it.
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Check {
            name,
            status: CheckStatus::Unchecked,
            summary: msg!("wizard.check.port.privileged"),
            fix: None,
            error: None,
            field: None,
        },
        // An earlier install of this same stack holds its own ports, so this is a warning;
        // the install's own preflight tells the two apart.
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Check::warn(
            name,
            msg!("wizard.check.port.in_use"),
            Some(msg!("wizard.fix.port_in_use").arg("cmd", port_owner_command(os.shell(), port))),
        ),
        Err(e) => Check::warn(name, msg!("wizard.check.port.error").arg("error", e), choose()),
    }
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
        let e = port_error("ports.litellm", port, &holder, "127.0.0.1", Os::Linux).expect("an error");
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
        let e = port_error(
            "ports.nginx",
            8080,
            &PortHolder::Container("web-1".into()),
            "0.0.0.0",
            Os::Linux,
        )
        .expect("error");
        assert!(e.render(Lang::En).contains("web-1"));
        assert!(port_error("ports.nginx", 8080, &PortHolder::ThisStack, "0.0.0.0", Os::Linux).is_none());
    }

    #[test]
    fn a_failed_check_stops_the_install_with_its_own_error() {
        let e = Error::environment(msg!("engine.preflight.too_old.hint"));
        let c = Check::failed(msg!("wizard.check.engine"), &e);
        assert_eq!(c.as_error(), Some(e));
        let w = Check::warn(msg!("wizard.check.disk"), msg!("wizard.fix.disk"), None);
        assert_eq!(w.as_error(), None);
        assert!(may_continue(&[w]));
    }
}
