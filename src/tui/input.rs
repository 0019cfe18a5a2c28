//! Keys as the wizard understands them, and the text fields it edits. The terminal layer maps
//! crossterm's events onto `Key`, so `update` and its tests never see crossterm.

use std::fmt;

use crate::secrets::Secret;

/// A key press, already decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Enter,
    Esc,
    Tab,
    BackTab,
    Up,
    Down,
    Left,
    Right,
    Home,
    End,
    PageUp,
    PageDown,
    Backspace,
    Delete,
    /// F1..F12.
    F(u8),
    CtrlC,
}

/// An editable line of text with a cursor (counted in characters, not bytes, so CJK input
/// edits cleanly).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TextInput {
    value: String,
    cursor: usize,
}

impl TextInput {
    pub fn new(value: impl Into<String>) -> TextInput {
        let value = value.into();
        let cursor = value.chars().count();
        TextInput { value, cursor }
    }

    pub fn value(&self) -> &str {
        &self.value
    }

    /// The cursor position, in characters from the start.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    pub fn set(&mut self, value: impl Into<String>) {
        *self = TextInput::new(value);
    }

    fn byte_at(&self, char_index: usize) -> usize {
        self.value
            .char_indices()
            .nth(char_index)
            .map_or(self.value.len(), |(i, _)| i)
    }

    /// Inserts pasted or typed text at the cursor; line breaks are dropped (one-line fields).
    pub fn insert_str(&mut self, s: &str) {
        for c in s.chars().filter(|c| !c.is_control()) {
            let at = self.byte_at(self.cursor);
            self.value.insert(at, c);
            self.cursor += 1;
        }
    }

    /// Applies an editing key; returns whether the key was one.
    pub fn handle(&mut self, key: Key) -> bool {
        let len = self.value.chars().count();
        match key {
            Key::Char(c) => self.insert_str(&c.to_string()),
            Key::Backspace if self.cursor > 0 => {
                let at = self.byte_at(self.cursor - 1);
                self.value.remove(at);
                self.cursor -= 1;
            }
            Key::Delete if self.cursor < len => {
                let at = self.byte_at(self.cursor);
                self.value.remove(at);
            }
            Key::Left => self.cursor = self.cursor.saturating_sub(1),
            Key::Right => self.cursor = (self.cursor + 1).min(len),
            Key::Home => self.cursor = 0,
            Key::End => self.cursor = len,
            Key::Backspace | Key::Delete => {}
            _ => return false,
        }
        true
    }
}

/// A text field for a secret: edited like `TextInput`, shown masked, and redacted in `Debug`
/// so a state dump can never carry the key.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SecretInput(TextInput);

impl SecretInput {
    pub fn is_empty(&self) -> bool {
        self.0.value().is_empty()
    }

    /// One mask character per typed character: the user sees that something was pasted.
    pub fn masked(&self) -> String {
        "•".repeat(self.0.value().chars().count().min(40))
    }

    pub fn cursor(&self) -> usize {
        self.0.cursor().min(40)
    }

    pub fn to_secret(&self) -> Secret {
        Secret::new(self.0.value().trim())
    }

    pub fn insert_str(&mut self, s: &str) {
        self.0.insert_str(s);
    }

    pub fn handle(&mut self, key: Key) -> bool {
        self.0.handle(key)
    }
}

impl fmt::Debug for SecretInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretInput(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editing_counts_characters_not_bytes() {
        let mut t = TextInput::new("家目錄");
        t.handle(Key::Left);
        t.handle(Key::Backspace);
        assert_eq!(t.value(), "家錄");
        t.handle(Key::Char('x'));
        assert_eq!(t.value(), "家x錄");
        t.handle(Key::End);
        t.handle(Key::Delete);
        assert_eq!(t.value(), "家x錄");
    }

    #[test]
    fn secret_input_never_debugs_its_value() {
        let mut s = SecretInput::default();
        s.insert_str("sk-live-123");
        assert_eq!(format!("{s:?}"), "SecretInput(***)");
        assert_eq!(s.masked().chars().count(), 11);
        assert_eq!(s.to_secret().expose(), "sk-live-123");
    }
}
