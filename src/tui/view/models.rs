//! Screen 5: providers, their models and keys (masked; optional), Azure's base URL and version.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::{checkbox, label_width, place_cursor, secret_field, style_dim, style_focus, text_field, tr, wrapped};
use crate::i18n::Msg as Text;
use crate::tui::app::{App, ModelsFocus, Provider};

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let form = &app.models;
    let mut lines = vec![Line::raw(tr(app, key!("wizard.models.intro"))), Line::raw("")];
    let list_focused = form.focus == ModelsFocus::List;
    for (i, p) in form.providers.iter().enumerate() {
        let selected = i == form.selected;
        let marker = if selected { "▶ " } else { "  " };
        let style = if selected && list_focused {
            style_focus()
        } else {
            Style::new()
        };
        let mut spans = vec![Span::styled(
            format!("{marker}{} {}", checkbox(p.enabled), super::pad(p.provider.label(), 15)),
            style,
        )];
        if p.enabled {
            spans.push(Span::styled(p.models.value().to_string(), style_dim()));
        }
        lines.push(Line::from(spans));
    }
    let smoke_selected = form.selected == form.smoke_row();
    lines.push(Line::styled(
        format!(
            "{}{} {}",
            if smoke_selected { "▶ " } else { "  " },
            checkbox(form.smoke_test),
            tr(app, key!("wizard.models.smoke_test"))
        ),
        if smoke_selected && list_focused {
            style_focus()
        } else {
            Style::new()
        },
    ));
    lines.push(Line::raw(""));
    let mut cursor: Option<(u16, Option<u16>)> = None;
    match form.selected_provider() {
        Some(p) if p.enabled => {
            lines.push(Line::styled(format!("── {} ──", p.provider.label()), style_dim()));
            let models_label = tr(
                app,
                if p.provider == Provider::Azure {
                    key!("wizard.models.deployments")
                } else {
                    key!("wizard.models.models")
                },
            );
            let key_label = tr(app, key!("wizard.models.key"));
            let base_label = tr(app, key!("wizard.models.api_base"));
            let version_label = tr(app, key!("wizard.models.api_version"));
            let lw = label_width(&[&models_label, &key_label, &base_label, &version_label]);
            let box_w = (area.width as usize).saturating_sub(lw + 2).min(44);
            let (l, c) = text_field(&models_label, lw, &p.models, box_w, form.focus == ModelsFocus::Models);
            if c.is_some() {
                cursor = Some((lines.len() as u16, c));
            }
            lines.push(l);
            if p.key_in_env {
                lines.push(Line::from(vec![
                    Span::styled(
                        super::pad(&key_label, lw),
                        if form.focus == ModelsFocus::Key {
                            style_focus()
                        } else {
                            Style::new()
                        },
                    ),
                    Span::raw(
                        msg!("wizard.models.key_in_env")
                            .arg("var", p.provider.key_var())
                            .text(app.lang),
                    ),
                ]));
            } else {
                let (l, c) = secret_field(&key_label, lw, &p.key, box_w, form.focus == ModelsFocus::Key);
                if c.is_some() {
                    cursor = Some((lines.len() as u16, c));
                }
                lines.push(l);
                let hint = if p.key.is_empty() {
                    key!("wizard.models.key_empty_hint")
                } else {
                    key!("wizard.models.key_hint")
                };
                lines.push(Line::styled(
                    format!(
                        "{}{}",
                        " ".repeat(lw),
                        Text::new(hint).arg("var", p.provider.key_var()).text(app.lang)
                    ),
                    style_dim(),
                ));
            }
            if p.provider == Provider::Azure {
                for (label, input, focus) in [
                    (&base_label, &p.api_base, ModelsFocus::ApiBase),
                    (&version_label, &p.api_version, ModelsFocus::ApiVersion),
                ] {
                    let (l, c) = text_field(label, lw, input, box_w, form.focus == focus);
                    if c.is_some() {
                        cursor = Some((lines.len() as u16, c));
                    }
                    lines.push(l);
                }
            }
        }
        Some(p) => lines.push(Line::styled(
            msg!("wizard.models.turn_on")
                .arg("provider", p.provider.label())
                .text(app.lang),
            style_dim(),
        )),
        None => lines.push(Line::styled(
            tr(app, key!("wizard.models.smoke_test_note")),
            style_dim(),
        )),
    }
    if !form.other_models.is_empty() {
        let names: Vec<String> = form.other_models.iter().filter_map(|m| m.name.clone()).collect();
        lines.push(Line::raw(""));
        lines.push(Line::raw(
            msg!("wizard.models.kept_from_answers")
                .arg("names", names.join(", "))
                .text(app.lang),
        ));
    }
    frame.render_widget(wrapped(lines, area.width), area);
    if let Some((row, col)) = cursor {
        place_cursor(frame, area, row, col);
    }
}
