//! Screen 8: the steps as a checklist, the current one expanded, pull bars, a log pane.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::{hanging, msg, pad, rewrap, style_bad, style_dim, style_focus, style_ok, style_warn, tr};
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

/// Progress lines of the running step shown: the latest tell where it is.
const SHOWN_STEP_LINES: usize = 2;

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let p = &app.progress;
    let mut lines: Vec<Line> = Vec::new();
    for row in &p.steps {
        let (mark, style) = match row.state {
            StepState::Pending => ("·".to_string(), style_dim()),
            StepState::Running => (SPINNER[p.spinner % SPINNER.len()].to_string(), style_focus()),
            StepState::Done => ("✓".to_string(), style_ok()),
            StepState::Failed => ("✗".to_string(), style_bad()),
        };
        let title_style = match row.state {
            StepState::Pending => style_dim(),
            _ => Style::new(),
        };
        let title = msg(app, &row.id.title());
        // Done and skipped steps keep their one-line note after the title, to save room.
        let note = match row.state {
            StepState::Done => row.lines.last().map(|n| msg(app, n)),
            _ => None,
        };
        match note {
            Some(note) => {
                let head = format!("{mark} {title}  ");
                let mut rows = hanging(&head, &note, area.width, style_dim()).into_iter();
                if let Some(first) = rows.next() {
                    let text: String = first.spans.iter().map(|s| s.content.as_ref()).collect();
                    let rest = text.get(head.len()..).unwrap_or_default().to_string();
                    lines.push(Line::from(vec![
                        Span::styled(format!("{mark} "), style),
                        Span::styled(format!("{title}  "), title_style),
                        Span::styled(rest, style_dim()),
                    ]));
                }
                lines.extend(rows.map(|l| l.style(style_dim())));
            }
            None => lines.push(Line::from(vec![
                Span::styled(format!("{mark} "), style),
                Span::styled(title, title_style),
            ])),
        }
        if matches!(row.state, StepState::Running | StepState::Failed) {
            for l in row.lines.iter().skip(row.lines.len().saturating_sub(SHOWN_STEP_LINES)) {
                lines.extend(hanging("    ", &msg(app, l), area.width, style_dim()));
            }
            if row.id == crate::steps::StepId::Images {
                for pull in &p.pulls {
                    lines.push(pull_line(pull, area.width as usize));
                }
            }
        }
    }
    if let Some(w) = p.warnings.last() {
        lines.extend(hanging("! ", &msg(app, w), area.width, style_warn()));
    }
    let steps_h = (lines.len() as u16).min(area.height.saturating_sub(3));
    let [steps_area, log_area] = Layout::vertical([Constraint::Length(steps_h), Constraint::Min(3)]).areas(area);
    frame.render_widget(Paragraph::new(lines), steps_area);
    // The pane shows the newest rows that fit, each history line wrapped.
    let inner_w = log_area.width.saturating_sub(2);
    let inner_h = usize::from(log_area.height.saturating_sub(2));
    let mut rows: Vec<Line> = Vec::new();
    for entry in p.log.iter().rev() {
        let wrapped_rows = rewrap(vec![Line::raw(entry.text(app.lang))], inner_w);
        rows.splice(0..0, wrapped_rows);
        if rows.len() >= inner_h {
            break;
        }
    }
    let rows: Vec<Line> = rows.split_off(rows.len().saturating_sub(inner_h));
    let title = match &p.log_path {
        Some(path) => format!(" {} · {} ", tr(app, key!("wizard.progress.log")), path.display()),
        None => format!(" {} ", tr(app, key!("wizard.progress.log"))),
    };
    frame.render_widget(
        Paragraph::new(rows).block(Block::bordered().title(title).border_style(style_dim())),
        log_area,
    );
}
