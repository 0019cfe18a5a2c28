//! Screen 6: host ports and exposure (defaults from the team's port plan), optional services.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;

use super::{checkbox, place_cursor, style_dim, style_focus, text_field, tr, wrapped};
use crate::tui::app::{App, PortsField};

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let f = &app.ports;
    let focused = |field: PortsField| f.field() == field;
    let toggle = |field: PortsField, on: bool, key: crate::i18n::Key| {
        let style = if focused(field) { style_focus() } else { Style::new() };
        let indent = if field == PortsField::NginxPublic { "    " } else { "" };
        Line::styled(format!("{indent}{} {}", checkbox(on), tr(app, key)), style)
    };
    let port_label = format!("    {}", tr(app, key!("wizard.ports.port")));
    let lw = ratatui::text::Span::raw(port_label.as_str()).width() + 2;
    let mut cursor = None;
    let mut lines = vec![Line::raw(tr(app, key!("wizard.ports.intro"))), Line::raw("")];
    let mut port_line = |lines: &mut Vec<Line>, field: PortsField, input, enabled: bool| {
        let (mut l, c) = text_field(&port_label, lw, input, 6, focused(field));
        if !enabled {
            l = l.style(style_dim());
        }
        if c.is_some() {
            cursor = Some((lines.len() as u16, c));
        }
        lines.push(l);
    };
    lines.push(toggle(
        PortsField::NginxEnabled,
        f.nginx_enabled,
        key!("wizard.ports.nginx"),
    ));
    port_line(&mut lines, PortsField::NginxPort, &f.nginx_port, f.nginx_enabled);
    lines.push(toggle(
        PortsField::NginxPublic,
        f.nginx_public,
        key!("wizard.ports.nginx_public"),
    ));
    lines.push(Line::raw(""));
    lines.push(Line::raw(tr(app, key!("wizard.ports.litellm"))));
    port_line(&mut lines, PortsField::LitellmPort, &f.litellm_port, true);
    lines.push(Line::raw(""));
    lines.push(toggle(
        PortsField::PrometheusEnabled,
        f.prometheus_enabled,
        key!("wizard.ports.prometheus"),
    ));
    port_line(
        &mut lines,
        PortsField::PrometheusPort,
        &f.prometheus_port,
        f.prometheus_enabled,
    );
    lines.push(Line::raw(""));
    lines.push(Line::styled(tr(app, key!("wizard.ports.not_published")), style_dim()));
    if app.ports_from_checks {
        lines.push(Line::styled(
            tr(app, key!("newcomer.ports.back_to_checks")),
            style_focus(),
        ));
    }
    if f.checking {
        lines.push(Line::raw(tr(app, key!("newcomer.ports.checking"))));
    }
    frame.render_widget(wrapped(lines, area.width), area);
    if let Some((row, col)) = cursor {
        place_cursor(frame, area, row, col);
    }
}
