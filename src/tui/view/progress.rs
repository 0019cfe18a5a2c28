//! Screen 8: the steps as a checklist, the current one expanded, pull bars, a log pane.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::{msg, pad, style_bad, style_dim, style_focus, style_ok, style_warn, tr};
use crate::tui::app::{App, PullRow, StepState};

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

fn mb(bytes: u64) -> String {
    format!("{:.0}", bytes as f64 / 1_000_000.0)
}

fn pull_line(row: &PullRow, width: usize) -> Line<'static> {
    let name_w = 26.min(width / 3);
    let count = row.image.chars().count();
    let name = if count > name_w {
        let tail: String = row.image.chars().skip(count + 1 - name_w).collect();
        format!("…{tail}")
    } else {
        row.image.clone()
    };
    let fraction = if row.bytes_total > 0 {
        (row.bytes_done as f64 / row.bytes_total as f64).clamp(0.0, 1.0)
    } else if row.layers_total > 0 {
        (row.layers_done as f64 / row.layers_total as f64).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let bar_w = 16;
    let filled = (fraction * bar_w as f64).round() as usize;
    let bar = format!("{}{}", "█".repeat(filled), "░".repeat(bar_w - filled));
    let figures = if row.bytes_total > 0 {
        format!(
            "{:>3}% {}/{} MB",
            (fraction * 100.0).round(),
            mb(row.bytes_done),
            mb(row.bytes_total)
        )
    } else {
        format!("{}/{}", row.layers_done, row.layers_total)
    };
    Line::from(vec![
        Span::raw(format!("    {} ", pad(&name, name_w))),
        Span::styled(bar, style_ok()),
        Span::raw(format!(" {figures} ")),
        Span::styled(row.status.clone(), style_dim()),
    ])
}

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let p = &app.progress;
    let mut lines: Vec<Line> = Vec::new();
    for row in &p.steps {
        let (mark, style) = match row.state {
            StepState::Pending => ("·".to_string(), style_dim()),
            StepState::Running => (SPINNER[p.spinner % SPINNER.len()].to_string(), style_focus()),
            StepState::Done => ("✓".to_string(), style_ok()),
            StepState::Skipped => ("–".to_string(), style_dim()),
            StepState::Failed => ("✗".to_string(), style_bad()),
        };
        let title_style = match row.state {
            StepState::Pending | StepState::Skipped => style_dim(),
            _ => Style::new(),
        };
        let mut spans = vec![
            Span::styled(format!("{mark} "), style),
            Span::styled(msg(app, &row.id.title()), title_style),
        ];
        // Done and skipped steps keep their one-line note on the same line, to save room.
        if matches!(row.state, StepState::Done | StepState::Skipped) {
            if let Some(note) = row.lines.last() {
                spans.push(Span::styled(format!("  {}", msg(app, note)), style_dim()));
            }
        }
        lines.push(Line::from(spans));
        if matches!(row.state, StepState::Running | StepState::Failed) {
            for l in &row.lines {
                lines.push(Line::styled(format!("    {}", msg(app, l)), style_dim()));
            }
            if row.id == crate::steps::StepId::Images {
                for pull in &p.pulls {
                    lines.push(pull_line(pull, area.width as usize));
                }
            }
        }
    }
    if let Some(w) = p.warnings.last() {
        lines.push(Line::styled(format!("! {}", msg(app, w)), style_warn()));
    }
    let steps_h = (lines.len() as u16).min(area.height.saturating_sub(3));
    let [steps_area, log_area] = Layout::vertical([Constraint::Length(steps_h), Constraint::Min(3)]).areas(area);
    frame.render_widget(Paragraph::new(lines), steps_area);
    let inner_h = log_area.height.saturating_sub(2) as usize;
    let log: Vec<Line> = p
        .log
        .iter()
        .skip(p.log.len().saturating_sub(inner_h))
        .map(|l| Line::raw(l.clone()))
        .collect();
    let title = match &p.log_path {
        Some(path) => format!(" {} · {} ", tr(app, "wizard.progress.log"), path.display()),
        None => format!(" {} ", tr(app, "wizard.progress.log")),
    };
    frame.render_widget(
        Paragraph::new(log).block(Block::bordered().title(title).border_style(style_dim())),
        log_area,
    );
}
