//! Pop-ups over any screen: the keys (`?`), and the confirmation to quit a running install.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear};

use ratatui::style::Style;

use super::{hanging, label_width, pad, style_focus, tr};
use crate::tui::app::App;

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [v] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [h] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(v);
    h
}

/// A wide (CJK) character of the screen below that straddles the pop-up's edge would hide its
/// border: the terminal draws the whole character, and ratatui does not send the cell it
/// covers. The half left outside becomes a space, on the left edge and on the right one.
fn free_edges(buf: &mut ratatui::buffer::Buffer, area: Rect) {
    let wide = |buf: &ratatui::buffer::Buffer, x: u16, y: u16| {
        buf.area.contains(ratatui::layout::Position::new(x, y))
            && unicode_width::UnicodeWidthStr::width(buf[(x, y)].symbol()) > 1
    };
    for y in area.top()..area.bottom() {
        if area.x > 0 && wide(buf, area.x - 1, y) {
            buf[(area.x - 1, y)].set_symbol(" ");
        }
        // The last column starts a wide character: its second half, outside, is blanked.
        let last = area.right().saturating_sub(1);
        if area.width > 0 && wide(buf, last, y) && area.right() < buf.area.right() {
            buf[(area.right(), y)].set_symbol(" ");
        }
    }
}

fn popup(frame: &mut Frame, title: String, lines: Vec<Line>, width: u16) {
    let inner = width.min(frame.area().width).saturating_sub(4);
    let height = super::wrapped_height(&lines, inner) + 2;
    let paragraph = super::wrapped(lines, inner);
    let area = centered(frame.area(), width, height);
    free_edges(frame.buffer_mut(), area);
    frame.render_widget(Clear, area);
    frame.render_widget(
        paragraph.block(
            Block::bordered()
                .title(format!(" {title} "))
                .border_style(style_focus())
                .padding(ratatui::widgets::Padding::horizontal(1)),
        ),
        area,
    );
}

pub fn help(app: &App, frame: &mut Frame) {
    let rows = [
        (key!("wizard.help.move.keys"), key!("wizard.help.move")),
        (key!("wizard.help.enter.keys"), key!("wizard.help.enter")),
        (key!("wizard.help.esc.keys"), key!("wizard.help.esc")),
        (key!("wizard.help.space.keys"), key!("wizard.help.space")),
        (key!("wizard.help.language.keys"), key!("wizard.help.language")),
        (key!("wizard.help.help.keys"), key!("wizard.help.help")),
        (key!("wizard.help.quit.keys"), key!("wizard.help.quit")),
    ];
    let key_texts: Vec<String> = rows.iter().map(|(k, _)| tr(app, *k)).collect();
    let w = label_width(&key_texts.iter().map(String::as_str).collect::<Vec<_>>());
    let inner = frame.area().width.min(76).saturating_sub(4);
    let mut lines: Vec<Line> = rows
        .iter()
        .zip(&key_texts)
        .flat_map(|((_, what), keys)| hanging(&pad(keys, w), &tr(app, *what), inner, Style::new()))
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::raw(tr(app, key!("wizard.help.text_fields"))));
    popup(frame, tr(app, key!("wizard.help.title")), lines, 76);
}

pub fn confirm_quit(app: &App, frame: &mut Frame) {
    let lines = vec![
        Line::raw(
            msg!("newcomer.quit.running")
                .arg("cmd", app.follow_up("install"))
                .text(app.lang),
        ),
        Line::raw(""),
        Line::raw(tr(app, key!("wizard.quit.choices"))).style(style_focus()),
    ];
    popup(frame, tr(app, key!("wizard.quit.title")), lines, 64);
}
