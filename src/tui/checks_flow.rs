//! The checklist (screen 3) and the ports (screen 6): a port that cannot be used does not
//! hold the user on the checklist; `p` opens the ports screen, and Enter there comes back to
//! the checklist, checked again. Leaving the ports screen for the review checks the ports
//! once more, and a port still taken keeps the user there, its field focused.

use crate::answers::Answers;
use crate::steps::preflight::{self, Check};

use super::answers_form;
use super::app::{App, PortsField, Screen};
use super::input::Key;
use super::update::{Cmd, go, prepare_review, show_form_error};

fn best_effort_answers(app: &App) -> Answers {
    answers_form::answers(app).unwrap_or_else(|_| {
        let mut a = app.base.clone();
        let _ = answers_form::apply_ports(&app.ports, &mut a);
        if let Ok(d) = answers_form::directory(app) {
            a.dir = d;
        }
        a
    })
}

fn run_preflight(app: &mut App) -> Vec<Cmd> {
    app.preflight.running = true;
    vec![Cmd::Preflight(best_effort_answers(app))]
}

pub(super) fn go_preflight(app: &mut App) -> Vec<Cmd> {
    go(app, Screen::Preflight);
    if app.preflight.checks.is_empty() && !app.preflight.running {
        run_preflight(app)
    } else {
        Vec::new()
    }
}

pub(super) fn on_preflight_key(app: &mut App, k: Key) -> Vec<Cmd> {
    match k {
        Key::Char('r' | 'R') if !app.preflight.running => run_preflight(app),
        Key::Enter if app.preflight.running => {
            app.error = Some(msg!("wizard.error.preflight_running"));
            Vec::new()
        }
        Key::Enter if !preflight::may_continue(&app.preflight.checks) => {
            app.error = Some(msg!("wizard.error.preflight_failed"));
            Vec::new()
        }
        Key::Enter => go(app, Screen::Directory),
        Key::Esc => go(app, Screen::Welcome),
        Key::Char('p' | 'P') => open_ports_from_checks(app),
        _ => Vec::new(),
    }
}

/// The answers field of a port check, as the ports screen's field.
fn ports_field(field: &str) -> Option<PortsField> {
    match field {
        "ports.nginx" => Some(PortsField::NginxPort),
        "ports.litellm" => Some(PortsField::LitellmPort),
        "ports.prometheus" => Some(PortsField::PrometheusPort),
        _ => None,
    }
}

fn focus(app: &mut App, field: PortsField) {
    app.ports.focus = PortsField::ALL.iter().position(|f| *f == field).unwrap_or(0);
}

/// `p` on the checklist: the ports screen, the first port with a problem focused; Enter or
/// Esc there comes back to the checklist.
fn open_ports_from_checks(app: &mut App) -> Vec<Cmd> {
    let problem = app
        .preflight
        .checks
        .iter()
        .find(|c| c.is_port() && c.status != preflight::CheckStatus::Pass)
        .and_then(|c| c.field)
        .and_then(ports_field);
    go(app, Screen::Ports);
    app.ports_from_checks = true;
    if let Some(field) = problem {
        focus(app, field);
    }
    Vec::new()
}

/// Back from the ports screen to the checklist, checked again with the ports as typed.
fn back_to_checks(app: &mut App) -> Vec<Cmd> {
    let mut probe = app.base.clone();
    if let Err(e) = answers_form::apply_ports(&app.ports, &mut probe) {
        return show_form_error(app, e);
    }
    app.ports_from_checks = false;
    go(app, Screen::Preflight);
    run_preflight(app)
}

/// The ports checked once more before the review: a port still taken keeps the user on the
/// ports screen with its field focused; otherwise on to the review.
pub(super) fn on_ports_checked(app: &mut App, checks: Vec<Check>) -> Vec<Cmd> {
    if !app.ports.checking {
        return Vec::new();
    }
    app.ports.checking = false;
    if app.screen != Screen::Ports {
        return Vec::new();
    }
    match preflight::first_port_problem(&checks) {
        Some(c) => {
            if let Some(field) = c.field.and_then(ports_field) {
                focus(app, field);
            }
            let mut m = msg!("newcomer.ports.blocked")
                .nested("name", c.name.clone())
                .nested("summary", c.summary.clone());
            m = match c.field.and_then(|f| app.port_value(f)) {
                Some(port) if c.summary.key == "wizard.check.port.in_use" => m.nested(
                    "fix",
                    msg!("newcomer.ports.fix_taken").arg("cmd", preflight::port_owner_command(app.os.shell(), port)),
                ),
                _ => m.nested("fix", msg!("newcomer.ports.fix_other")),
            };
            app.error = Some(m);
            Vec::new()
        }
        None => prepare_review(app),
    }
}

impl App {
    /// The port typed for an answers field, when it is a number.
    fn port_value(&self, field: &str) -> Option<u32> {
        let input = match ports_field(field)? {
            PortsField::NginxPort => &self.ports.nginx_port,
            PortsField::LitellmPort => &self.ports.litellm_port,
            _ => &self.ports.prometheus_port,
        };
        input.value().trim().parse().ok()
    }
}

/// Enter on the ports screen: back to the checklist when it sent the user here; otherwise
/// the whole form validated and its ports checked again before the review.
fn ports_enter(app: &mut App) -> Vec<Cmd> {
    if app.ports_from_checks {
        return back_to_checks(app);
    }
    if app.ports.checking {
        return Vec::new();
    }
    match answers_form::answers(app) {
        Ok(answers) => {
            app.ports.checking = true;
            vec![Cmd::CheckPorts(answers)]
        }
        Err(e) => show_form_error(app, e),
    }
}

pub(super) fn on_ports_key(app: &mut App, k: Key) -> Vec<Cmd> {
    let form = &mut app.ports;
    let n = PortsField::ALL.len();
    match k {
        Key::Enter => return ports_enter(app),
        Key::Esc if app.ports_from_checks => {
            app.ports_from_checks = false;
            go(app, Screen::Preflight);
            return run_preflight(app);
        }
        Key::Esc => return go(app, Screen::Models),
        Key::Tab | Key::Down => form.focus = (form.focus + 1) % n,
        Key::BackTab | Key::Up => form.focus = (form.focus + n - 1) % n,
        Key::Char(' ') if !form.field().is_text() => match form.field() {
            PortsField::NginxEnabled => form.nginx_enabled = !form.nginx_enabled,
            PortsField::NginxPublic => form.nginx_public = !form.nginx_public,
            PortsField::PrometheusEnabled => form.prometheus_enabled = !form.prometheus_enabled,
            _ => {}
        },
        other => match form.field() {
            PortsField::NginxPort => {
                form.nginx_port.handle(other);
            }
            PortsField::LitellmPort => {
                form.litellm_port.handle(other);
            }
            PortsField::PrometheusPort => {
                form.prometheus_port.handle(other);
            }
            _ => {}
        },
    }
    Vec::new()
}
