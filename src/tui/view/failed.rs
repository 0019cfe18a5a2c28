//! The failure screen: what failed, the diagnosis and what to do, the last log lines, the log
//! file's path.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};

use super::{style_bad, style_dim, tr, wrapped, wrapped_height};
use crate::tui::app::App;

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let Some(f) = &app.failure else { return };
    let headline = match f.step {
        Some(step) => msg!("wizard.failed.step").nested("step", step.title()).text(app.lang),
        None => tr(app, key!("wizard.failed.unknown_step")),
    };
    let mut top = vec![Line::styled(format!("✗ {headline}"), style_bad()), Line::raw("")];
    for l in f.error.render(app.lang).lines() {
        top.push(Line::raw(l.to_string()));
    }
    let top_h = wrapped_height(&top, area.width).min(area.height / 2 + 2);
    let path_line = match &f.log_path {
        Some(p) => msg!("wizard.failed.log_file").arg("path", p.display()).text(app.lang),
        None => tr(app, key!("wizard.failed.no_log_file")),
    };
    let [top_area, logs_area, path_area] =
        Layout::vertical([Constraint::Length(top_h), Constraint::Min(3), Constraint::Length(2)]).areas(area);
    frame.render_widget(wrapped(top, top_area.width), top_area);
    let inner = logs_area.height.saturating_sub(2) as usize;
    // A failure without log lines of its own (an API test, a refused port) shows the run's
    // history instead, which says what happened up to it.
    let texts: Vec<String> = if f.logs.is_empty() {
        app.progress.log.iter().map(|l| l.text(app.lang)).collect()
    } else {
        f.logs.clone()
    };
    let logs: Vec<Line> = texts
        .iter()
        .skip(texts.len().saturating_sub(inner))
        .map(|l| Line::raw(l.clone()))
        .collect();
    frame.render_widget(
        Paragraph::new(logs).block(
            Block::bordered()
                .title(format!(" {} ", tr(app, key!("wizard.failed.last_lines"))))
                .border_style(style_dim()),
        ),
        logs_area,
    );
    frame.render_widget(wrapped(vec![Line::raw(path_line)], path_area.width), path_area);
}
