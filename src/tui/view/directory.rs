//! Screen 4: the install directory; an existing install is updated, its keys kept.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{msg, place_cursor, style_bad, style_focus, style_ok, style_warn, text_field, tr, wrapped};
use crate::tui::answers_form;
use crate::tui::app::{App, BackupRun, DirFocus, UpgradeAsk};

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let label = tr(app, key!("wizard.directory.label"));
    let lw = ratatui::text::Span::raw(label.as_str()).width() + 1;
    let box_w = (area.width as usize).saturating_sub(lw + 3).min(60);
    let on_field = app.directory.focus == DirFocus::Field;
    let (field, cursor) = text_field(&label, lw, &app.directory.input, box_w, on_field);
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
            lines.extend(actions(app));
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
    if on_field {
        place_cursor(frame, area, 2, cursor);
    }
}

/// An existing install's actions (Tab reaches them): update, back up, and upgrade when it runs
/// another LiteLLM than the pinned one; the backup's state, the upgrade's plan.
fn actions(app: &App) -> Vec<Line<'static>> {
    // The focused button is marked, not only highlighted, so it shows without colours too.
    let button = |focus: DirFocus, key: crate::i18n::Key| {
        if app.directory.focus == focus {
            Span::styled(format!("▶[ {} ]", tr(app, key)), style_focus().reversed())
        } else {
            Span::raw(format!(" [ {} ]", tr(app, key)))
        }
    };
    let mut lines = vec![
        Line::raw(""),
        Line::from(vec![
            button(DirFocus::Update, key!("wizard.backup.update")),
            Span::raw("   "),
            button(DirFocus::Backup, key!("wizard.backup.backup")),
        ]),
    ];
    let other = app
        .directory
        .info
        .as_ref()
        .and_then(|i| i.other_litellm.as_ref().map(|o| (i, o)));
    match other {
        None => lines.push(Line::raw(tr(app, key!("wizard.backup.actions_hint")))),
        Some((info, (from, to))) => {
            lines.push(Line::from(button(DirFocus::Upgrade, key!("wizard.upgrade.button"))));
            lines.push(Line::raw(tr(app, key!("wizard.upgrade.actions_hint"))));
            lines.push(Line::raw(
                msg!("wizard.upgrade.offer")
                    .arg("from", from)
                    .arg("to", to)
                    .arg("cmd", app.follow_up_in(&format!("upgrade --litellm {to}"), &info.dir))
                    .text(app.lang),
            ));
        }
    }
    match &app.directory.upgrade {
        UpgradeAsk::Idle => {}
        UpgradeAsk::Planning => lines.push(Line::raw(tr(app, key!("wizard.upgrade.planning")))),
        UpgradeAsk::Confirm(changes) => {
            lines.push(Line::styled(tr(app, key!("wizard.upgrade.plan_title")), style_warn()));
            for c in changes {
                lines.push(Line::raw(format!(
                    "  {}",
                    msg!("upgrade.plan.change")
                        .arg("service", &c.service)
                        .arg("from", &c.from)
                        .arg("to", &c.to)
                        .text(app.lang)
                )));
            }
            lines.push(Line::styled(tr(app, key!("wizard.upgrade.confirm")), style_focus()));
        }
        UpgradeAsk::Failed(e) => {
            lines.push(Line::styled(tr(app, key!("wizard.upgrade.plan_failed")), style_bad()));
            lines.extend(e.render(app.lang).lines().map(|l| Line::raw(l.to_string())));
        }
    }
    match &app.directory.backup {
        BackupRun::Idle => {}
        BackupRun::Running(last) => {
            lines.push(Line::raw(tr(app, key!("wizard.backup.backup_running"))));
            if let Some(m) = last {
                lines.push(Line::raw(format!("  {}", msg(app, m))));
            }
        }
        BackupRun::Saved { path, size } => {
            lines.push(Line::styled(
                msg!("wizard.backup.backup_saved")
                    .arg("file", path.display())
                    .arg("size", crate::steps::backup::mib(*size))
                    .text(app.lang),
                style_ok(),
            ));
            let verify = format!(
                "backup verify {}",
                crate::howto::quote_path(app.os.shell(), &path.display().to_string())
            );
            lines.push(Line::raw(
                msg!("wizard.backup.backup_next")
                    .arg("cmd", app.follow_up(&verify))
                    .text(app.lang),
            ));
        }
        BackupRun::Failed(e) => {
            lines.push(Line::styled(tr(app, key!("wizard.backup.backup_failed")), style_bad()));
            lines.extend(e.render(app.lang).lines().map(|l| Line::raw(l.to_string())));
        }
    }
    lines
}

/// The SOP's folder as the SOP writes it (`~/litellm`, not this machine's home expanded).
fn sop_default_dir(os: crate::platform::Os) -> String {
    match os {
        crate::platform::Os::Linux => "~/litellm".into(),
        crate::platform::Os::Windows => os.default_dir().display().to_string(),
    }
}
