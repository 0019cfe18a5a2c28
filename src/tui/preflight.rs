//! The wizard's preflight checklist (screen 3): what the machine has before anything is
//! created. Each check is pass / warn / fail, or honestly "not checked" when this build cannot
//! check it; each problem carries its fix in the user's shell syntax.

use std::net::{IpAddr, TcpListener};

use crate::answers::Answers;
use crate::i18n::Msg as Text;
use crate::platform::{Os, Shell};

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

/// Runs the checks this build can do on its own. Blocking (ports, files): run it off the UI
/// thread.
pub fn run_local_checks(answers: &Answers, os: Os) -> Vec<Check> {
    let mut checks = vec![os_check(os), engine_not_checked()];
    checks.extend(port_checks(answers, os));
    checks
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

/// Until the engine module is in this build, the engine is not checked here, and says so.
fn engine_not_checked() -> Check {
    Check {
        name: Text::new("wizard.check.engine"),
        status: CheckStatus::Unchecked,
        summary: Text::new("wizard.check.engine.not_in_build"),
        fix: None,
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
