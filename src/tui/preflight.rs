//! The wizard's preflight checklist (screen 3): what the machine has before anything is
//! created: the OS, the Docker engine (through `engine::connect`, as the install does), free
//! disk, and the host ports. Each check is pass / warn / fail, or honestly "not checked" when
//! it cannot be; each problem carries its fix in the user's shell syntax. The install's own
//! preflight step checks again with the final answers.

use std::net::{IpAddr, TcpListener};

use crate::answers::Answers;
use crate::engine::preflight::{PortHolder, check_disk, check_engine, existing_ancestor, port_error, port_holders};
use crate::engine::{DockerEngine, Engine};
use crate::error::Error;
use crate::i18n::Msg as Text;
use crate::platform::{Os, Shell};
use crate::secrets::ExistingEnv;
use crate::workspace::Workspace;

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
    pub name: Text,
    pub status: CheckStatus,
    /// What was found.
    pub summary: Text,
    /// What to do, with the command in the user's shell, for a warning or a failure.
    pub fix: Option<Text>,
}

/// Runs every check. Takes as long as the engine takes to answer (a few seconds at most when
/// none does): run it off the UI loop.
pub async fn run_checks(answers: &Answers, os: Os) -> Vec<Check> {
    let mut checks = vec![os_check(os)];
    let engine = match crate::engine::connect().await {
        Ok(engine) => {
            let check = engine_check(&engine).await;
            let usable = check.status != CheckStatus::Fail;
            checks.push(check);
            usable.then_some(engine)
        }
        Err(e) => {
            checks.push(failed(Text::new("wizard.check.engine"), &Error::from(e)));
            None
        }
    };
    checks.push(disk_check(answers));
    checks.extend(match &engine {
        Some(engine) => engine_port_checks(engine, answers, os).await,
        None => port_checks(answers, os),
    });
    checks
}

/// A failed check from an error: what it says, and its hint as the fix.
fn failed(name: Text, e: &Error) -> Check {
    Check {
        name,
        status: CheckStatus::Fail,
        summary: e.what.clone(),
        fix: e.hint.clone(),
    }
}

async fn engine_check(engine: &DockerEngine) -> Check {
    let name = Text::new("wizard.check.engine");
    let info = match engine.info().await {
        Ok(info) => info,
        Err(e) => return failed(name, &Error::from(e)),
    };
    if let Err(e) = check_engine(&info) {
        return failed(name, &e);
    }
    // Docker Desktop switched to Windows containers cannot run the stack's Linux images.
    if let Some(e) = crate::engine::checks::engine_os_type_check(&info.os) {
        return failed(name, &e);
    }
    // The memory the engine has: on Docker Desktop its VM's (the WSL 2 limit), not the host's.
    if let Some(mem) = info.mem_total {
        let check = crate::engine::checks::engine_memory_check(Os::current(), mem);
        if check.verdict == crate::engine::checks::Verdict::Warn {
            return Check {
                name,
                status: CheckStatus::Warn,
                summary: check.msg,
                fix: check.hint,
            };
        }
    }
    Check {
        name,
        status: CheckStatus::Pass,
        summary: Text::new("engine.preflight.engine_ok")
            .arg("version", &info.version)
            .arg("api", &info.api_version)
            .arg("endpoint", &info.endpoint),
        fix: None,
    }
}

/// The images take about 4 GB; below the engine's hard minimum the install refuses to start.
const DISK_COMFORTABLE: u64 = 5 << 30;

fn disk_check(answers: &Answers) -> Check {
    let name = Text::new("wizard.check.disk");
    match check_disk(&answers.dir) {
        Ok(free) if free < DISK_COMFORTABLE => Check {
            name,
            status: CheckStatus::Warn,
            summary: Text::new("wizard.check.disk.tight")
                .arg("free", format!("{:.1}", free as f64 / (1u64 << 30) as f64))
                .arg("path", existing_ancestor(&answers.dir).display()),
            fix: Some(Text::new("wizard.fix.disk")),
        },
        Ok(free) => Check {
            name,
            status: CheckStatus::Pass,
            summary: Text::new("engine.preflight.disk_ok")
                .arg("free", format!("{:.1}", free as f64 / (1u64 << 30) as f64))
                .arg("path", existing_ancestor(&answers.dir).display()),
            fix: None,
        },
        Err(e) => Check {
            fix: Some(Text::new("wizard.fix.disk")),
            ..failed(name, &e)
        },
    }
}

/// Ports as the install's preflight sees them: a port held by this stack's own container is
/// fine; one held by another container or program is a failure, named.
async fn engine_port_checks(engine: &DockerEngine, answers: &Answers, os: Os) -> Vec<Check> {
    // The stack's project name and port plan, from the answers; no file is read or written.
    let Ok(ws) = Workspace::prepare_with_env(answers.clone(), os, ExistingEnv::default(), &|_| None) else {
        return port_checks(answers, os);
    };
    let holders = match port_holders(engine as &dyn Engine, &ws).await {
        Ok(h) => h,
        Err(_) => return port_checks(answers, os),
    };
    let addrs = answers.published_ports();
    holders
        .into_iter()
        .zip(addrs)
        .map(|((field, port, holder), (_, addr, _))| {
            let name = Text::new("wizard.check.port").arg("port", port);
            match &holder {
                PortHolder::Free => Check {
                    name,
                    status: CheckStatus::Pass,
                    summary: Text::new("wizard.check.port.free").arg("addr", addr),
                    fix: None,
                },
                PortHolder::ThisStack => Check {
                    name,
                    status: CheckStatus::Pass,
                    summary: Text::new("wizard.check.port.ours"),
                    fix: None,
                },
                PortHolder::Other => Check {
                    name,
                    status: CheckStatus::Fail,
                    summary: Text::new("wizard.check.port.in_use"),
                    fix: Some(
                        Text::new("wizard.fix.port_taken").arg("cmd", port_owner_command(os.shell(), u32::from(port))),
                    ),
                },
                other => match port_error(field, port, other, addr) {
                    Some(e) => failed(name, &e),
                    None => Check {
                        name,
                        status: CheckStatus::Pass,
                        summary: Text::new("wizard.check.port.free").arg("addr", addr),
                        fix: None,
                    },
                },
            }
        })
        .collect()
}

fn os_check(os: Os) -> Check {
    let name = Text::new("wizard.check.os");
    match os {
        Os::Windows => Check {
            name,
            status: CheckStatus::Pass,
            summary: Text::new("wizard.check.os.windows"),
            fix: None,
        },
        Os::Linux => {
            let release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
            let field = |key: &str| {
                release
                    .lines()
                    .find_map(|l| l.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
                    .map(|v| v.trim_matches('"').to_string())
            };
            let pretty = field("PRETTY_NAME").unwrap_or_else(|| "Linux".into());
            // The SOP is written and tested for Ubuntu; other distributions run Docker the same
            // way, so they are a warning, not a failure.
            if field("ID").as_deref() == Some("ubuntu") {
                Check {
                    name,
                    status: CheckStatus::Pass,
                    summary: Text::new("wizard.check.os.linux").arg("name", pretty),
                    fix: None,
                }
            } else {
                Check {
                    name,
                    status: CheckStatus::Warn,
                    summary: Text::new("wizard.check.os.other_linux").arg("name", pretty),
                    fix: None,
                }
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
        .map(|(_, addr, port)| {
            let name = Text::new("wizard.check.port").arg("port", port);
            let ip: IpAddr = match addr.parse() {
                Ok(ip) => ip,
                Err(_) => {
                    return Check {
                        name,
                        status: CheckStatus::Fail,
                        summary: Text::new("problem.bind_addr").arg("value", addr),
                        fix: Some(Text::new("wizard.fix.choose_on_ports_screen")),
                    };
                }
            };
            let Ok(port16) = u16::try_from(port) else {
                return Check {
                    name,
                    status: CheckStatus::Fail,
                    summary: Text::new("problem.port_range").arg("value", port),
                    fix: Some(Text::new("wizard.fix.choose_on_ports_screen")),
                };
            };
            match TcpListener::bind((ip, port16)) {
                Ok(listener) => {
                    drop(listener);
                    Check {
                        name,
                        status: CheckStatus::Pass,
                        summary: Text::new("wizard.check.port.free").arg("addr", addr),
                        fix: None,
                    }
                }
                // Only root may bind below 1024 on Linux, but the Docker daemon can: this user
                // simply cannot test it.
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Check {
                    name,
                    status: CheckStatus::Unchecked,
                    summary: Text::new("wizard.check.port.privileged"),
                    fix: None,
                },
                // An earlier install of this same stack holds its own ports, so this is a
                // warning; the install's own preflight tells the two apart.
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Check {
                    name,
                    status: CheckStatus::Warn,
                    summary: Text::new("wizard.check.port.in_use"),
                    fix: Some(Text::new("wizard.fix.port_in_use").arg("cmd", port_owner_command(os.shell(), port))),
                },
                Err(e) => Check {
                    name,
                    status: CheckStatus::Warn,
                    summary: Text::new("wizard.check.port.error").arg("error", e),
                    fix: Some(Text::new("wizard.fix.choose_on_ports_screen")),
                },
            }
        })
        .collect()
}

/// Whether the wizard may go on: no check failed.
pub fn may_continue(checks: &[Check]) -> bool {
    !checks.iter().any(|c| c.status == CheckStatus::Fail)
}
