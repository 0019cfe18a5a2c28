//! Screen 4: the install directory; an existing install is updated, its keys kept.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;

use super::{place_cursor, style_warn, text_field, tr, wrapped};
use crate::tui::answers_form;
use crate::tui::app::App;

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let label = tr(app, key!("wizard.directory.label"));
    let lw = ratatui::text::Span::raw(label.as_str()).width() + 1;
    let box_w = (area.width as usize).saturating_sub(lw + 3).min(60);
    let (field, cursor) = text_field(&label, lw, &app.directory.input, box_w, true);
    let mut lines = vec![
        Line::raw(tr(app, key!("wizard.directory.intro"))),
        Line::raw(""),
        field,
        Line::raw(""),
        Line::raw(
            msg!("wizard.directory.sop_default")
                .arg("dir", sop_default_dir(app.os))
                .text(app.lang),
        ),
        Line::raw(""),
    ];
    let typed = answers_form::directory(app).ok();
    if app.directory.inspecting {
        lines.push(Line::raw(tr(app, key!("wizard.directory.inspecting"))));
    } else if let Some(info) = app.directory.info.as_ref().filter(|i| Some(&i.dir) == typed.as_ref()) {
        if info.existing_install {
            lines.push(Line::styled(tr(app, key!("wizard.directory.existing")), style_warn()));
            if let Some(e) = &info.saved_answers_error {
                lines.push(Line::raw(e.render(app.lang)));
            }
        } else {
            lines.push(Line::raw(tr(app, key!("wizard.directory.new"))));
        }
    }
    if let Some(i) = app
        .directory
        .info
        .as_ref()
        .filter(|i| !i.env_keys.is_empty() && Some(&i.dir) == typed.as_ref())
    {
        lines.push(Line::raw(
            msg!("wizard.directory.keys_kept")
                .arg("vars", i.env_keys.join(", "))
                .text(app.lang),
        ));
    }
    frame.render_widget(wrapped(lines, area.width), area);
    place_cursor(frame, area, 2, cursor);
}

/// The SOP's folder as the SOP writes it (`~/litellm`, not this machine's home expanded).
fn sop_default_dir(os: crate::platform::Os) -> String {
    match os {
        crate::platform::Os::Linux => "~/litellm".into(),
        crate::platform::Os::Windows => os.default_dir().display().to_string(),
    }
}
