//! Screen 3: the preflight checklist, with each problem's fix; `r` checks again.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::{hanging, label_width, msg, pad, style_bad, style_dim, style_ok, style_warn, tr, wrap_text, wrapped};
use crate::steps::preflight::CheckStatus;
use crate::tui::app::App;

pub fn status_mark(s: CheckStatus) -> (&'static str, Style) {
    match s {
        CheckStatus::Pass => ("✓", style_ok()),
        CheckStatus::Warn => ("!", style_warn()),
        CheckStatus::Fail => ("✗", style_bad()),
        CheckStatus::Unchecked => ("·", style_dim()),
    }
}

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let mut lines = vec![Line::raw(tr(app, key!("wizard.preflight.intro"))), Line::raw("")];
    if app.preflight.running && app.preflight.checks.is_empty() {
        lines.push(Line::raw(tr(app, key!("wizard.preflight.running"))));
    }
    let names: Vec<String> = app.preflight.checks.iter().map(|c| msg(app, &c.name)).collect();
    let w = label_width(&names.iter().map(String::as_str).collect::<Vec<_>>());
    for (c, name) in app.preflight.checks.iter().zip(&names) {
        let (mark, style) = status_mark(c.status);
        let summary_style = if c.status == CheckStatus::Pass {
            Style::new()
        } else {
            style
        };
        let indent = 2 + w;
        let rows = wrap_text(&msg(app, &c.summary), usize::from(area.width).saturating_sub(indent));
        for (i, row) in rows.into_iter().enumerate() {
            lines.push(if i == 0 {
                Line::from(vec![
                    Span::styled(format!("{mark} "), style),
                    Span::raw(pad(name, w)),
                    Span::styled(row, summary_style),
                ])
            } else {
                Line::styled(format!("{}{row}", " ".repeat(indent)), summary_style)
            });
        }
        if let Some(fix) = &c.fix {
            lines.extend(hanging("    → ", &msg(app, fix), area.width, Style::new()));
        }
    }
    lines.push(Line::raw(""));
    if app.preflight.running && !app.preflight.checks.is_empty() {
        lines.push(Line::raw(tr(app, key!("wizard.preflight.running"))));
    }
    lines.push(Line::styled(tr(app, key!("wizard.preflight.again_later")), style_dim()));
    frame.render_widget(wrapped(lines, area.width), area);
}
