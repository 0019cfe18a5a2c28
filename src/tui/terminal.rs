//! The real terminal: raw mode and the alternate screen while the wizard runs, restored on
//! every way out (return, error, panic), and crossterm's events turned into `Msg`s on a
//! thread of their own, so a busy install never delays a key.

use std::io::Stdout;
use std::sync::Arc;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossterm::event::{
    self, DisableBracketedPaste, EnableBracketedPaste, Event as TermEvent, KeyCode, KeyEventKind, KeyModifiers,
};
use crossterm::execute;
use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::sync::mpsc::UnboundedSender;

use crate::error::{Error, Result};

use super::input::Key;
use super::update::Msg;

pub type RealTerminal = Terminal<CrosstermBackend<Stdout>>;

/// Holds the terminal in raw mode on the alternate screen; dropping it restores the screen.
pub struct TerminalGuard {
    pub terminal: RealTerminal,
}

fn terminal_error(e: impl std::fmt::Display) -> Error {
    Error::environment(msg!("wizard.error.terminal"))
        .detail(e)
        .hint(msg!("wizard.hint.terminal"))
}

impl TerminalGuard {
    pub fn enter() -> Result<TerminalGuard> {
        install_panic_hook();
        enable_raw_mode().map_err(terminal_error)?;
        let mut out = std::io::stdout();
        if let Err(e) = execute!(out, EnterAlternateScreen, EnableBracketedPaste) {
            restore();
            return Err(terminal_error(e));
        }
        match Terminal::new(CrosstermBackend::new(out)) {
            Ok(terminal) => Ok(TerminalGuard { terminal }),
            Err(e) => {
                restore();
                Err(terminal_error(e))
            }
        }
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Leaves raw mode and the alternate screen and shows the cursor. Safe to call twice.
pub fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(
        std::io::stdout(),
        DisableBracketedPaste,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// A panic restores the terminal before the message is printed, or the message would be
/// lost on the alternate screen and the shell left in raw mode.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}

/// Maps a terminal event to the wizard's messages: none for what the wizard ignores (key
/// releases, mouse), two for Esc typed just before a letter, which terminals deliver as one
/// Alt+letter.
pub fn to_msgs(ev: TermEvent) -> Vec<Msg> {
    match ev {
        TermEvent::Key(k) if k.kind != KeyEventKind::Release => {
            let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
            let alt = k.modifiers.contains(KeyModifiers::ALT);
            let key = match k.code {
                KeyCode::Char('c') if ctrl => Key::CtrlC,
                KeyCode::Char(_) if ctrl => return Vec::new(),
                KeyCode::Char(c) if alt => return vec![Msg::Key(Key::Esc), Msg::Key(Key::Char(c))],
                KeyCode::Char(c) => Key::Char(c),
                KeyCode::Enter => Key::Enter,
                KeyCode::Esc => Key::Esc,
                KeyCode::Tab if k.modifiers.contains(KeyModifiers::SHIFT) => Key::BackTab,
                KeyCode::Tab => Key::Tab,
                KeyCode::BackTab => Key::BackTab,
                KeyCode::Up => Key::Up,
                KeyCode::Down => Key::Down,
                KeyCode::Left => Key::Left,
                KeyCode::Right => Key::Right,
                KeyCode::Home => Key::Home,
                KeyCode::End => Key::End,
                KeyCode::PageUp => Key::PageUp,
                KeyCode::PageDown => Key::PageDown,
                KeyCode::Backspace => Key::Backspace,
                KeyCode::Delete => Key::Delete,
                KeyCode::F(n) => Key::F(n),
                _ => return Vec::new(),
            };
            vec![Msg::Key(key)]
        }
        TermEvent::Paste(s) => vec![Msg::Paste(s)],
        TermEvent::Resize(w, h) => vec![Msg::Resize(w, h)],
        _ => Vec::new(),
    }
}

/// Reads the terminal on its own thread until `stop` is set or the wizard is gone.
pub fn spawn_input_thread(tx: UnboundedSender<Msg>, stop: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            // The poll wakes at once on input; the timeout only bounds how long `stop` waits.
            match event::poll(Duration::from_millis(100)) {
                Ok(true) => match event::read() {
                    Ok(ev) => {
                        if to_msgs(ev).into_iter().any(|m| tx.send(m).is_err()) {
                            break;
                        }
                    }
                    Err(_) => break,
                },
                Ok(false) => {}
                Err(_) => break,
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyEvent;

    #[test]
    fn esc_then_a_letter_arriving_as_alt_letter_is_both_keys() {
        let ev = TermEvent::Key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::ALT));
        assert_eq!(to_msgs(ev), vec![Msg::Key(Key::Esc), Msg::Key(Key::Char('s'))]);
        let ev = TermEvent::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
        assert_eq!(to_msgs(ev), vec![Msg::Key(Key::CtrlC)]);
    }
}
