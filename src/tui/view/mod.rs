//! `view`: draws the state, one file per screen. Reads `App`, changes nothing.

mod directory;
pub(crate) mod done;
pub(crate) mod failed;
mod language;
mod models;
mod overlay;
mod ports;
mod preflight;
mod progress;
mod review;
mod welcome;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::i18n::{Key, Lang, Msg as Text};

use super::app::{App, Overlay, Screen};
use super::input::{SecretInput, TextInput};

pub(crate) use done::{
    check_lines as done_check_lines, follow_up_lines as done_follow_up_lines, shell_name as done_shell_name,
};

pub fn view(app: &App, frame: &mut Frame) {
    let [header, body, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(status_height(app, frame.area().width)),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    draw_header(app, frame, header);
    let body = body.inner(ratatui::layout::Margin::new(1, 0));
    match app.screen {
        Screen::Language => language::draw(app, frame, body),
        Screen::Welcome => welcome::draw(app, frame, body),
        Screen::Preflight => preflight::draw(app, frame, body),
        Screen::Directory => directory::draw(app, frame, body),
        Screen::Models => models::draw(app, frame, body),
        Screen::Ports => ports::draw(app, frame, body),
        Screen::Review => review::draw(app, frame, body),
        Screen::Progress => progress::draw(app, frame, body),
        Screen::Done => done::draw(app, frame, body),
        Screen::Failed => failed::draw(app, frame, body),
    }
    draw_status(app, frame, status);
    draw_footer(app, frame, footer);
    match app.overlay {
        Some(Overlay::Help) => overlay::help(app, frame),
        Some(Overlay::ConfirmQuit) => overlay::confirm_quit(app, frame),
        None => {}
    }
}

/// Text of a catalog key in the wizard's language.
pub(crate) fn tr(app: &App, key: Key) -> String {
    Text::new(key).text(app.lang)
}

pub(crate) fn msg(app: &App, m: &Text) -> String {
    m.text(app.lang)
}

pub(crate) fn style_focus() -> Style {
    Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD)
}

pub(crate) fn style_dim() -> Style {
    Style::new().fg(Color::DarkGray)
}

pub(crate) fn style_ok() -> Style {
    Style::new().fg(Color::Green)
}

pub(crate) fn style_warn() -> Style {
    Style::new().fg(Color::Yellow)
}

pub(crate) fn style_bad() -> Style {
    Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
}

/// Pads `s` with spaces to `width` terminal columns (CJK characters count two).
pub(crate) fn pad(s: &str, width: usize) -> String {
    let w = Span::raw(s).width();
    format!("{s}{}", " ".repeat(width.saturating_sub(w)))
}

/// Width of the widest of `labels`, plus a gap.
pub(crate) fn label_width(labels: &[&str]) -> usize {
    labels.iter().map(|l| Span::raw(*l).width()).max().unwrap_or(0) + 2
}

pub(crate) fn checkbox(on: bool) -> &'static str {
    if on { "[x]" } else { "[ ]" }
}

/// A field: `label [value     ]`, highlighted when focused. Returns the line and, when
/// focused, the cursor's column offset within it.
pub(crate) fn field_line<'a>(
    label: &str,
    label_w: usize,
    value: &str,
    cursor: usize,
    box_w: usize,
    focused: bool,
) -> (Line<'a>, Option<u16>) {
    let shown: String = value.to_string();
    let shown_w = Span::raw(shown.as_str()).width();
    let inner = pad(&shown, box_w.max(shown_w));
    let style = if focused { style_focus() } else { Style::new() };
    let cursor_col = focused.then(|| {
        let before: String = value.chars().take(cursor).collect();
        (label_w + 1 + Span::raw(before.as_str()).width()) as u16
    });
    (
        Line::from(vec![
            Span::styled(pad(label, label_w), style),
            Span::styled("[", style),
            Span::styled(inner, if focused { style.underlined() } else { style }),
            Span::styled("]", style),
        ]),
        cursor_col,
    )
}

pub(crate) fn text_field<'a>(
    label: &str,
    label_w: usize,
    input: &TextInput,
    box_w: usize,
    focused: bool,
) -> (Line<'a>, Option<u16>) {
    field_line(label, label_w, input.value(), input.cursor(), box_w, focused)
}

pub(crate) fn secret_field<'a>(
    label: &str,
    label_w: usize,
    input: &SecretInput,
    box_w: usize,
    focused: bool,
) -> (Line<'a>, Option<u16>) {
    field_line(label, label_w, &input.masked(), input.cursor(), box_w, focused)
}

/// Places the terminal cursor in a text field being edited.
pub(crate) fn place_cursor(frame: &mut Frame, area: Rect, row: u16, col: Option<u16>) {
    if let Some(col) = col {
        if row < area.height && col < area.width {
            frame.set_cursor_position(Position::new(area.x + col, area.y + row));
        }
    }
}

/// Characters that must not start a row (Chinese line-breaking rules).
const NO_ROW_START: &str = "。，、；：！？）」』】》〉…";

/// Characters that must not end a row: opening brackets go to the next row with what they open.
const NO_ROW_END: &str = "（「『【《〈([";

/// The units a row may break between: a run of narrow characters (a word, a path, a command)
/// with its trailing spaces, or a single wide (CJK) character, which may break anywhere. A
/// command in backticks is one unit, spaces and all, so it is never split across rows.
fn break_units(text: &str) -> Vec<String> {
    let mut units: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut in_code = false;
    for c in text.chars() {
        if in_code {
            current.push(c);
            in_code = c != '`';
            continue;
        }
        let wide = Span::raw(c.to_string()).width() > 1 || NO_ROW_START.contains(c) && !c.is_ascii();
        if c == ' ' {
            current.push(c);
        } else if wide {
            if !current.is_empty() {
                units.push(std::mem::take(&mut current));
            }
            units.push(c.to_string());
        } else {
            if current.ends_with(' ') {
                units.push(std::mem::take(&mut current));
            }
            current.push(c);
            in_code = c == '`';
        }
    }
    if !current.is_empty() {
        units.push(current);
    }
    units
}

/// Splits `text` into rows of at most `width` columns: between words and between CJK
/// characters, never starting a row with closing punctuation; a word longer than a row is cut.
pub(crate) fn wrap_text(text: &str, width: usize) -> Vec<String> {
    let width = width.max(2);
    let w_of = |s: &str| Span::raw(s).width();
    let row_w = |row: &[String]| row.iter().map(|u| w_of(u)).sum::<usize>();
    let starts_closed = |u: &str| u.chars().next().is_some_and(|c| NO_ROW_START.contains(c));
    let ends_open = |u: &str| u.trim_end().chars().last().is_some_and(|c| NO_ROW_END.contains(c));
    let mut rows: Vec<Vec<String>> = vec![Vec::new()];
    for unit in break_units(text) {
        let visible = w_of(unit.trim_end_matches(' '));
        let used = rows.last().map_or(0, |r| row_w(r));
        if used > 0 && used + visible > width {
            // Closing punctuation stays with what comes before it, an opening bracket goes with
            // what it opens: whole units move to the new row (a word is never cut for it), as
            // many as it takes, but never all of the row they leave.
            let mut carried: Vec<String> = Vec::new();
            if let Some(last) = rows.last_mut() {
                let mut first_closed = starts_closed(&unit);
                while last.len() > 1 {
                    let prev_open = last.last().is_some_and(|u| ends_open(u));
                    if !(first_closed || prev_open) {
                        break;
                    }
                    let moved = last.pop().unwrap_or_default();
                    first_closed = starts_closed(&moved);
                    carried.insert(0, moved);
                }
            }
            rows.push(carried);
        }
        let used = rows.last().map_or(0, |r| row_w(r));
        if used + visible <= width {
            if let Some(last) = rows.last_mut() {
                last.push(unit);
            }
            continue;
        }
        // A unit longer than a row is cut.
        let mut used = used;
        for c in unit.chars() {
            let cw = w_of(&c.to_string());
            if used + cw > width {
                rows.push(Vec::new());
                used = 0;
            }
            if let Some(last) = rows.last_mut() {
                last.push(c.to_string());
            }
            used += cw;
        }
    }
    rows.into_iter().map(|r| r.concat().trim_end().to_string()).collect()
}

/// Lines wider than `width` split into rows. A line of several differently styled spans is
/// kept whole when it fits; otherwise it wraps in the style of its first span.
pub(crate) fn rewrap<'a>(lines: Vec<Line<'a>>, width: u16) -> Vec<Line<'a>> {
    let width = usize::from(width.max(2));
    let mut out = Vec::new();
    for line in lines {
        if line.width() <= width {
            out.push(line);
            continue;
        }
        let style = line
            .style
            .patch(line.spans.first().map(|s| s.style).unwrap_or_default());
        let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
        for row in wrap_text(&text, width) {
            out.push(Line::styled(row, style));
        }
    }
    out
}

/// How many rows `lines` take at `width`.
pub(crate) fn wrapped_height(lines: &[Line], width: u16) -> u16 {
    u16::try_from(rewrap(lines.to_vec(), width).len()).unwrap_or(u16::MAX)
}

/// `text` wrapped under `first` (e.g. "    → "), later rows indented as far as it.
pub(crate) fn hanging<'a>(first: &str, text: &str, width: u16, style: Style) -> Vec<Line<'a>> {
    let indent = Span::raw(first).width();
    wrap_text(text, usize::from(width).saturating_sub(indent))
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            let prefix = if i == 0 { first.to_string() } else { " ".repeat(indent) };
            Line::styled(format!("{prefix}{row}"), style)
        })
        .collect()
}

/// A paragraph of `lines` wrapped to `width` (see `rewrap`; ratatui's own wrapping breaks
/// mixed Chinese and English text badly).
pub(crate) fn wrapped<'a>(lines: Vec<Line<'a>>, width: u16) -> Paragraph<'a> {
    Paragraph::new(rewrap(lines, width))
}

fn language_name(lang: Lang) -> &'static str {
    match lang {
        Lang::ZhTw => "繁體中文",
        Lang::En => "English",
    }
}

fn draw_header(app: &App, frame: &mut Frame, area: Rect) {
    let title = match app.screen {
        // The directory screen's upgrade runs on the install's screens: named as what it is.
        Screen::Progress if app.upgrade_run => tr(app, key!("wizard.screen.progress_upgrade")),
        Screen::Failed if app.upgrade_run => tr(app, key!("wizard.screen.failed_upgrade")),
        _ => msg(app, &app.screen.title()),
    };
    let left = match app.screen.number() {
        Some(n) => format!(" litellm-stack · {n}/{} · {title}", Screen::FORMS.len()),
        None => format!(" litellm-stack · {title}"),
    };
    let right = format!("F2: {} ", language_name(app.lang.other()));
    let gap =
        (area.width as usize).saturating_sub(Span::raw(left.as_str()).width() + Span::raw(right.as_str()).width());
    let line = Line::from(vec![
        Span::raw(left).bold(),
        Span::raw(" ".repeat(gap)),
        Span::raw(right),
    ]);
    frame.render_widget(Paragraph::new(line).style(Style::new().reversed()), area);
}

/// The validation error or the notice of the current screen.
fn status_text(app: &App) -> Option<(String, Style)> {
    if let Some(e) = &app.error {
        return Some((format!("✗ {}", msg(app, e)), style_bad()));
    }
    app.notice.as_ref().map(|n| (format!("ℹ {}", msg(app, n)), style_ok()))
}

fn status_height(app: &App, width: u16) -> u16 {
    match status_text(app) {
        None => 0,
        Some((s, _)) => wrapped_height(&[Line::raw(s)], width.saturating_sub(2)).clamp(1, 3),
    }
}

fn draw_status(app: &App, frame: &mut Frame, area: Rect) {
    if let Some((s, style)) = status_text(app) {
        let area = area.inner(ratatui::layout::Margin::new(1, 0));
        frame.render_widget(wrapped(vec![Line::styled(s, style)], area.width), area);
    }
}

fn footer_key(app: &App) -> Key {
    match app.screen {
        Screen::Language => key!("wizard.keys.language"),
        Screen::Welcome => key!("wizard.keys.welcome"),
        Screen::Preflight => key!("wizard.keys.preflight"),
        Screen::Directory => key!("wizard.keys.directory"),
        Screen::Models if app.models.focus == super::app::ModelsFocus::List => key!("wizard.keys.models_list"),
        Screen::Models => key!("wizard.keys.models_field"),
        Screen::Ports => key!("wizard.keys.ports"),
        Screen::Review if app.review.viewing.is_some() => key!("wizard.keys.review_viewer"),
        Screen::Review => key!("wizard.keys.review"),
        Screen::Progress => key!("wizard.keys.progress"),
        Screen::Done => key!("wizard.keys.done"),
        Screen::Failed if app.upgrade_run => key!("wizard.keys.failed_upgrade"),
        Screen::Failed => key!("wizard.keys.failed"),
    }
}

fn draw_footer(app: &App, frame: &mut Frame, area: Rect) {
    let line = Line::from(format!(" {}", tr(app, footer_key(app))));
    frame.render_widget(Paragraph::new(line).style(style_dim()), area);
}
#[cfg(test)]
mod wrap_tests {
    use super::{NO_ROW_START, wrap_text};
    use ratatui::text::Span;

    /// At every width: rows fit, none starts with closing punctuation, no word is cut for the
    /// punctuation's sake, and nothing is lost. Two closing marks in a row (`）。`) after an
    /// ASCII word (`MiB`) once put `）` at the start of a row, or cut `MiB` into `Mi` / `B）`.
    #[test]
    fn closing_punctuation_never_starts_a_row_and_words_stay_whole() {
        let text = "備份已儲存：/srv/team/backups/litellm-backup-20261203-140000.tar.gz（3.0 MiB）。其中含有整套服務的密鑰（.env）：請放在只有你能讀取的地方。";
        for width in 20..=90 {
            let rows = wrap_text(text, width);
            for r in &rows {
                assert!(Span::raw(r.as_str()).width() <= width, "{width}: {r:?} is too wide");
                let first = r.chars().next().unwrap_or(' ');
                assert!(
                    !NO_ROW_START.contains(first),
                    "{width}: a row starts with {first}: {rows:?}"
                );
                assert!(!r.starts_with('B') && !r.ends_with("Mi"), "{width}: MiB cut: {rows:?}");
            }
            let joined: String = rows.concat().split_whitespace().collect();
            let want: String = text.split_whitespace().collect();
            assert_eq!(joined, want, "{width}");
        }
    }
}
