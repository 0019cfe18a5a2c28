//! Screen 9: the gateway URL, the master key hidden until revealed, commands to try it in the
//! user's shell (from `howto`), where the files are, what next.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Stylize;
use ratatui::text::{Line, Span};

use super::{label_width, pad, style_dim, style_ok, tr};
use crate::howto::HandCheck;
use crate::i18n::Lang;
use crate::platform::{Os, Shell};
use crate::tui::app::{App, InstallReport};

pub fn shell_name(os: Os) -> &'static str {
    match os.shell() {
        Shell::Bash => "bash",
        Shell::PowerShell => "PowerShell",
    }
}

/// The checks worth trying first, short enough for the screen: load the key, readiness, and
/// one answer from the gateway. All of them are printed when the wizard ends.
fn first_checks(r: &InstallReport) -> Vec<&HandCheck> {
    let pick = |key: &str| r.hand_checks.iter().find(|c| c.what.key == key);
    let answer = pick("health.howto.chat").or_else(|| pick("health.howto.models"));
    [pick("health.howto.load_key"), pick("health.howto.readiness"), answer]
        .into_iter()
        .flatten()
        .collect()
}

/// Every check as `# what` then the command: a block that pastes into bash and PowerShell.
pub fn check_lines(checks: &[HandCheck], lang: Lang) -> Vec<String> {
    checks
        .iter()
        .flat_map(|c| [format!("# {}", c.what.text(lang)), c.command.clone()])
        .collect()
}

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let Some(done) = &app.done else { return };
    let r = &done.report;
    let labels = [
        tr(app, key!("wizard.done.gateway")),
        tr(app, key!("wizard.done.master_key")),
        tr(app, key!("wizard.done.files")),
        tr(app, key!("wizard.done.log")),
    ];
    let w = label_width(&labels.iter().map(String::as_str).collect::<Vec<_>>());
    let headline = if r.up_to_date {
        key!("wizard.done.up_to_date")
    } else {
        key!("wizard.done.running")
    };
    let key = if done.key_revealed {
        Span::raw(r.master_key.expose().to_string())
    } else {
        Span::raw(format!("{}  {}", "•".repeat(12), tr(app, key!("wizard.done.reveal"))))
    };
    let mut gateway = vec![Span::raw(pad(&labels[0], w)), Span::raw(r.gateway_url.clone()).bold()];
    if r.reachable_from_network {
        gateway.push(Span::styled(
            format!("  {}", tr(app, key!("wizard.done.other_machines"))),
            style_dim(),
        ));
    }
    let mut lines = vec![
        Line::styled(format!("✓ {}", tr(app, headline)), style_ok().bold()),
        Line::raw(""),
        Line::from(gateway),
        Line::from(vec![Span::raw(pad(&labels[1], w)), key]),
        Line::raw(format!("{}{}", pad(&labels[2], w), r.dir.display())),
    ];
    if let Some(log) = &r.log_path {
        lines.push(Line::raw(format!("{}{}", pad(&labels[3], w), log.display())));
    }
    lines.push(Line::raw(""));
    lines.push(Line::raw(
        msg!("wizard.done.try_it").arg("shell", shell_name(r.os)).text(app.lang),
    ));
    for c in first_checks(r) {
        lines.push(Line::styled(format!("# {}", c.what.text(app.lang)), style_dim()));
        lines.push(Line::raw(c.command.clone()).cyan());
    }
    lines.push(Line::raw(""));
    for l in follow_up_lines(app, r) {
        lines.push(Line::raw(l));
    }
    let rows = super::rewrap(lines, area.width);
    // Too small a terminal scrolls (↑↓); the last row says there is more.
    let total = u16::try_from(rows.len()).unwrap_or(u16::MAX);
    let max_scroll = total.saturating_sub(area.height);
    let scroll = done.scroll.min(max_scroll);
    frame.render_widget(ratatui::widgets::Paragraph::new(rows).scroll((scroll, 0)), area);
    if scroll < max_scroll && area.height > 0 {
        let last = Rect {
            y: area.bottom() - 1,
            height: 1,
            ..area
        };
        frame.render_widget(ratatui::widgets::Clear, last);
        frame.render_widget(Line::styled(tr(app, key!("newcomer.done.more")), style_dim()), last);
    }
}

/// What next, with the commands for this install dir: keys still missing (only those), then
/// how to see it run.
pub fn follow_up_lines(app: &App, r: &InstallReport) -> Vec<String> {
    let mut out = Vec::new();
    if !r.missing_keys.is_empty() {
        out.push(
            msg!("newcomer.done.missing_keys")
                .arg("keys", r.missing_keys.join(", "))
                .arg("cmd", app.follow_up_in("install", &r.dir))
                .text(app.lang),
        );
    }
    out.push(msg!("newcomer.done.see_it_run").text(app.lang));
    out.push(app.follow_up_in("status", &r.dir));
    out.push(app.follow_up_in("logs", &r.dir));
    out
}
