//! Where text goes in headless runs: plain lines or JSON, errors on stderr.

use std::io::Write;

use crate::error::Error;
use crate::i18n::{Lang, Msg};

pub struct Printer {
    pub lang: Lang,
    pub json: bool,
}

impl Printer {
    pub fn new(lang: Lang, json: bool) -> Printer {
        Printer { lang, json }
    }

    pub fn line(&self, s: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{s}");
    }

    pub fn json_value(&self, v: &serde_json::Value) {
        self.line(&v.to_string());
    }

    pub fn warn(&self, m: &Msg) {
        let _ = writeln!(
            std::io::stderr().lock(),
            "{}{}",
            Msg::new("label.warning").text(self.lang),
            m.text(self.lang)
        );
    }

    pub fn error(&self, e: &Error) {
        let _ = writeln!(
            std::io::stderr().lock(),
            "{}{}",
            Msg::new("label.error").text(self.lang),
            e.render(self.lang)
        );
    }
}
