//! Screen 2: what will be installed (the SOP's architecture drawing), time and disk.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Stylize;
use ratatui::text::Line;

use super::{label_width, pad, tr, wrapped};
use crate::tui::app::App;

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let a = &app.base;
    let nginx = format!("Nginx :{}", a.ports.nginx);
    let litellm = format!("LiteLLM Proxy :{}", crate::stack::LITELLM_PORT);
    let prom = format!("Prometheus :{}", a.ports.prometheus.unwrap_or(9090));
    // The SOP's section 1.1 drawing, with the services it left out of its compose file.
    let width = |s: &str| ratatui::text::Span::raw(s).width();
    let to_litellm = format!("  Client ─► {nginx} ─► ");
    let to_branch = format!("{to_litellm}{litellm} ─");
    let head = format!("{to_branch}┬─► PostgreSQL");
    let redis = format!("{}└─► Redis", " ".repeat(width(&to_branch)));
    let under_litellm = width(&to_litellm) + 4;
    let up = format!("{}▲", " ".repeat(under_litellm));
    let prom_line = format!("{}{prom}", " ".repeat(under_litellm.saturating_sub(width(&prom) / 2)));
    let roles = [
        ("Nginx", tr(app, key!("wizard.welcome.role.nginx"))),
        ("LiteLLM", tr(app, key!("wizard.welcome.role.litellm"))),
        ("PostgreSQL", tr(app, key!("wizard.welcome.role.postgres"))),
        ("Redis", tr(app, key!("wizard.welcome.role.redis"))),
        ("Prometheus", tr(app, key!("wizard.welcome.role.prometheus"))),
    ];
    let w = label_width(&roles.iter().map(|(n, _)| *n).collect::<Vec<_>>());
    let mut lines = vec![
        Line::raw(tr(app, key!("wizard.welcome.intro"))),
        Line::raw(""),
        Line::raw(head).cyan(),
        Line::raw(redis).cyan(),
        Line::raw(up).cyan(),
        Line::raw(prom_line).cyan(),
        Line::raw(""),
    ];
    for (name, role) in roles {
        lines.push(Line::raw(format!("  {}{role}", pad(name, w))));
    }
    lines.push(Line::raw(""));
    lines.push(Line::raw(tr(app, key!("wizard.welcome.time"))));
    lines.push(Line::raw(tr(app, key!("wizard.welcome.disk"))));
    lines.push(Line::raw(tr(app, key!("wizard.welcome.nothing_yet"))).bold());
    frame.render_widget(wrapped(lines, area.width), area);
}
