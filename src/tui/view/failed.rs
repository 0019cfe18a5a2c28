//! The failure screen: what failed, the diagnosis and what to do, the last log lines, the log
//! file's path.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};

use super::{style_bad, style_dim, tr, wrapped, wrapped_height};
use crate::steps::StepId;
use crate::tui::app::App;

/// After a failure once the files are written (the stack exists, at least in part): the two
/// day-2 commands that take it from here, `doctor` (the SOP's troubleshooting table, check by
/// check) and `support-bundle` (one file to send, every secret removed), for this install dir.
/// Shown on the failure screen and printed again when the wizard ends.
pub fn next_steps(app: &App) -> Option<String> {
    let f = app.failure.as_ref()?;
    let stack_exists = matches!(
        f.step,
        Some(StepId::Images | StepId::Start | StepId::Readiness | StepId::ApiTest)
    );
    stack_exists.then(|| {
        msg!("doctor.wizard.next")
            .arg("doctor", app.follow_up("doctor"))
            .arg("bundle", app.follow_up("support-bundle"))
            .text(app.lang)
    })
}

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let Some(f) = &app.failure else { return };
    let headline = match f.step {
        Some(step) => msg!("wizard.failed.step").nested("step", step.title()).text(app.lang),
        None => tr(app, key!("wizard.failed.unknown_step")),
    };
    let mut top = vec![Line::styled(format!("✗ {headline}"), style_bad()), Line::raw("")];
    for l in crate::tui::feed::in_wizard_terms(f.error.clone(), app.os)
        .render(app.lang)
        .lines()
    {
        top.push(Line::raw(l.to_string()));
    }
    let top_h = wrapped_height(&top, area.width).min(area.height / 2 + 2);
    let path_line = match &f.log_path {
        Some(p) => msg!("wizard.failed.log_file").arg("path", p.display()).text(app.lang),
        None => tr(app, key!("wizard.failed.no_log_file")),
    };
    let mut bottom: Vec<Line> = next_steps(app)
        .map(|t| t.lines().map(|l| Line::raw(l.to_string())).collect())
        .unwrap_or_default();
    bottom.push(Line::raw(path_line));
    let bottom_h = wrapped_height(&bottom, area.width).max(2);
    let [top_area, logs_area, path_area] = Layout::vertical([
        Constraint::Length(top_h),
        Constraint::Min(3),
        Constraint::Length(bottom_h),
    ])
    .areas(area);
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
    frame.render_widget(wrapped(bottom, path_area.width), path_area);
}
