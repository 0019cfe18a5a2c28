//! Screen 1: the language, defaulting to the locale's, switchable at any time.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;

use super::{language_name, style_focus, tr, wrapped};
use crate::i18n::Lang;
use crate::tui::app::App;

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let mut lines = vec![
        Line::raw(""),
        Line::raw(tr(app, key!("wizard.language.prompt"))).bold_if(true),
        Line::raw(""),
    ];
    for (i, lang) in Lang::ALL.iter().enumerate() {
        let chosen = i == app.language_choice;
        let marker = if chosen { "  ▶ " } else { "    " };
        let line = Line::raw(format!("{marker}{}", language_name(*lang)));
        lines.push(if chosen { line.style(style_focus()) } else { line });
    }
    lines.push(Line::raw(""));
    lines.push(Line::raw(tr(app, key!("wizard.language.switch_any_time"))));
    frame.render_widget(wrapped(lines, area.width), area);
}

trait BoldIf {
    fn bold_if(self, on: bool) -> Self;
}

impl BoldIf for Line<'_> {
    fn bold_if(self, on: bool) -> Self {
        if on {
            self.style(ratatui::style::Style::new().add_modifier(ratatui::style::Modifier::BOLD))
        } else {
            self
        }
    }
}
