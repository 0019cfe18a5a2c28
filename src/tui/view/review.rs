//! Screen 7: every file that will be written or changed, viewable with secrets masked; where
//! the data lives; nothing is written before Install.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::{msg, pad, style_bad, style_dim, style_focus, style_ok, style_warn, tr, wrapped, wrapped_height};
use crate::platform::DataStorage;
use crate::render::write::{ChangeKind, kind_msg};
use crate::tui::app::{App, ReviewFocus};

/// Marks a row that goes on from the one above: a YAML line too long for the viewer is cut
/// there, not soft-wrapped into what would read as a line of its own.
const CONTINUED: &str = "↪ ";

/// A file's lines as rows of at most `width` columns, each continuation row marked.
fn viewer_rows(text: &str, width: usize) -> Vec<Line<'static>> {
    let width = width.max(4);
    let mut rows = Vec::new();
    for line in text.lines() {
        let mut row = String::new();
        let mut w = 0;
        let mut continued = false;
        for c in line.chars() {
            let cw = Span::raw(c.to_string()).width();
            if w + cw > width {
                // Cut after the last space of the row when there is one: words stay whole.
                let carried = match row.trim_end().rfind(' ') {
                    Some(i) if i > 0 => row.split_off(i + 1),
                    _ => String::new(),
                };
                rows.push(row_line(std::mem::replace(&mut row, carried), continued));
                continued = true;
                w = Span::raw(CONTINUED).width() + Span::raw(row.as_str()).width();
            }
            row.push(c);
            w += cw;
        }
        rows.push(row_line(row, continued));
    }
    rows
}

fn row_line(row: String, continued: bool) -> Line<'static> {
    if continued {
        Line::from(vec![Span::styled(CONTINUED, style_dim()), Span::raw(row)])
    } else {
        Line::raw(row)
    }
}

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    if let Some(e) = &app.review_error {
        let lines = vec![
            Line::styled(tr(app, key!("wizard.review.error")), style_bad()),
            Line::raw(""),
            Line::raw(e.render(app.lang)),
        ];
        frame.render_widget(wrapped(lines, area.width), area);
        return;
    }
    let Some(data) = app.review.data.as_ref().filter(|_| !app.review.loading) else {
        frame.render_widget(
            wrapped(vec![Line::raw(tr(app, key!("wizard.review.loading")))], area.width),
            area,
        );
        return;
    };
    if let (Some(scroll), Some(file)) = (app.review.viewing, data.files.get(app.review.selected)) {
        let title = format!(" {} ({}) ", file.path, msg(app, &kind_msg(file.kind)));
        let rows = viewer_rows(&file.shown, usize::from(area.width.saturating_sub(2)));
        let body = Paragraph::new(rows)
            .block(Block::bordered().title(title))
            .scroll((scroll, 0));
        frame.render_widget(body, area);
        return;
    }
    let data_note = match data.data {
        DataStorage::Bind => key!("wizard.review.data_bind"),
        DataStorage::Volumes => key!("wizard.review.data_volumes"),
    };
    let mut intro = vec![
        Line::raw(
            msg!("wizard.review.intro")
                .arg("dir", data.dir.display())
                .text(app.lang),
        ),
        Line::raw(tr(app, data_note)),
    ];
    // The choices, each with the number of the screen that changes it (the footer's 1–6).
    for m in &data.summary {
        intro.push(Line::raw(msg(app, m)));
    }
    let mut notes: Vec<Line> = data
        .missing_keys
        .iter()
        .map(|v| {
            Line::styled(
                msg!("wizard.review.key_missing").arg("var", v).text(app.lang),
                style_warn(),
            )
        })
        .collect();
    notes.push(Line::styled(
        tr(app, key!("wizard.review.nothing_written")),
        style_dim(),
    ));
    let list_h = data.files.len() as u16 + 2;
    let intro_h = wrapped_height(&intro, area.width);
    let notes_h = wrapped_height(&notes, area.width);
    let [intro_area, list_area, notes_area, buttons_area] = Layout::vertical([
        Constraint::Length(intro_h),
        Constraint::Max(list_h),
        Constraint::Length(notes_h),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(wrapped(intro, intro_area.width), intro_area);
    let kind_w = [ChangeKind::Create, ChangeKind::Update, ChangeKind::Unchanged]
        .iter()
        .map(|k| Span::raw(msg(app, &kind_msg(*k))).width())
        .max()
        .unwrap_or(8)
        + 2;
    let files_focused = app.review.focus == ReviewFocus::Files;
    let rows: Vec<Line> = data
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let selected = i == app.review.selected;
            let kind_style = match f.kind {
                ChangeKind::Create => style_ok(),
                ChangeKind::Update => style_warn(),
                ChangeKind::Unchanged => style_dim(),
            };
            let row_style = if selected && files_focused {
                style_focus()
            } else {
                Style::new()
            };
            Line::from(vec![
                Span::styled(if selected && files_focused { "▶ " } else { "  " }, row_style),
                Span::styled(pad(&msg(app, &kind_msg(f.kind)), kind_w), kind_style),
                Span::styled(f.path.clone(), row_style),
            ])
        })
        .collect();
    let title = format!(" {} ", tr(app, key!("wizard.review.files")));
    frame.render_widget(Paragraph::new(rows).block(Block::bordered().title(title)), list_area);
    frame.render_widget(wrapped(notes, notes_area.width), notes_area);
    // The focused button is marked, not only highlighted, so it shows without colours too.
    let button = |focus: ReviewFocus, key: crate::i18n::Key| {
        if app.review.focus == focus {
            Span::styled(format!("▶[ {} ]", tr(app, key)), style_focus().reversed())
        } else {
            Span::raw(format!(" [ {} ]", tr(app, key)))
        }
    };
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            button(ReviewFocus::Install, key!("wizard.review.install")),
            Span::raw("   "),
            button(ReviewFocus::SaveAnswers, key!("wizard.review.save_answers")),
        ])),
        buttons_area,
    );
}
