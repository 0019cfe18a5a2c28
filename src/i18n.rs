//! User-facing text in Traditional Chinese and English.
//!
//! Every string a person reads lives in `assets/i18n/<lang>.yaml`; code refers to it by key
//! (`Msg::new("problem.port_range").arg("value", 0)`) and fills `{name}` placeholders.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, Hash)]
pub enum Lang {
    #[serde(rename = "zh-TW")]
    ZhTw,
    #[default]
    #[serde(rename = "en")]
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::ZhTw, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Lang::ZhTw => "zh-TW",
            Lang::En => "en",
        }
    }

    /// The language a locale string (`LANG`, `LC_ALL`, a Windows UI language name) asks for.
    pub fn from_locale(locale: &str) -> Lang {
        let l = locale.to_ascii_lowercase();
        if l.starts_with("zh") { Lang::ZhTw } else { Lang::En }
    }

    /// The language of the environment: `LC_ALL`, `LC_MESSAGES`, `LANG`, in POSIX order, then the
    /// session's UI language (Windows).
    pub fn from_env() -> Lang {
        ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|v| std::env::var(v).ok())
            .find(|v| !v.is_empty())
            // Windows sets none of them: its UI language decides there.
            .or_else(crate::platform::ui_locale)
            .map(|v| Lang::from_locale(&v))
            .unwrap_or_default()
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::ZhTw => Lang::En,
            Lang::En => Lang::ZhTw,
        }
    }
}

impl FromStr for Lang {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "zh-tw" | "zh_tw" | "zh" | "tw" => Ok(Lang::ZhTw),
            "en" | "en-us" | "en_us" | "english" => Ok(Lang::En),
            _ => Err(format!("unknown language {s:?}: use zh-TW or en")),
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

pub type Catalog = BTreeMap<String, String>;

/// The catalog files, one per area of the program, so each area's texts stay together.
pub const AREAS: [&str; 5] = ["core", "engine", "health", "wizard", "platform"];

const SOURCES: [(Lang, &str, &str); 10] = [
    (Lang::En, "core", include_str!("../assets/i18n/en/core.yaml")),
    (Lang::En, "engine", include_str!("../assets/i18n/en/engine.yaml")),
    (Lang::En, "health", include_str!("../assets/i18n/en/health.yaml")),
    (Lang::En, "wizard", include_str!("../assets/i18n/en/wizard.yaml")),
    (Lang::En, "platform", include_str!("../assets/i18n/en/platform.yaml")),
    (Lang::ZhTw, "core", include_str!("../assets/i18n/zh-TW/core.yaml")),
    (Lang::ZhTw, "engine", include_str!("../assets/i18n/zh-TW/engine.yaml")),
    (Lang::ZhTw, "health", include_str!("../assets/i18n/zh-TW/health.yaml")),
    (Lang::ZhTw, "wizard", include_str!("../assets/i18n/zh-TW/wizard.yaml")),
    (
        Lang::ZhTw,
        "platform",
        include_str!("../assets/i18n/zh-TW/platform.yaml"),
    ),
];

/// Parses every catalog file of `lang`; a key defined twice is an error.
pub fn load_catalog(lang: Lang) -> Result<Catalog, String> {
    let mut all = Catalog::new();
    for (l, area, src) in SOURCES {
        if l != lang {
            continue;
        }
        let part: Catalog =
            serde_norway::from_str(src).map_err(|e| format!("assets/i18n/{}/{area}.yaml: {e}", lang.code()))?;
        for (k, v) in part {
            if all.insert(k.clone(), v).is_some() {
                return Err(format!("assets/i18n/{}: key {k} defined twice", lang.code()));
            }
        }
    }
    Ok(all)
}

/// The catalog of a language, parsed once. The catalogs are compiled in; a test proves they
/// parse and carry the same keys, so a failure here is a build defect.
pub fn catalog(lang: Lang) -> &'static Catalog {
    static CATALOGS: OnceLock<[Catalog; 2]> = OnceLock::new();
    let all = CATALOGS.get_or_init(|| {
        let get = |l: Lang| load_catalog(l).unwrap_or_else(|e| panic!("{e}"));
        [get(Lang::ZhTw), get(Lang::En)]
    });
    match lang {
        Lang::ZhTw => &all[0],
        Lang::En => &all[1],
    }
}

/// A message to show a person: a catalog key plus the values of its placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    pub key: &'static str,
    pub args: Vec<(&'static str, Arg)>,
}

/// A placeholder's value: plain text, or another message rendered in the same language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Text(String),
    Msg(Box<Msg>),
}

impl Msg {
    pub fn new(key: &'static str) -> Msg {
        Msg { key, args: Vec::new() }
    }

    pub fn arg(mut self, name: &'static str, value: impl ToString) -> Msg {
        self.args.push((name, Arg::Text(value.to_string())));
        self
    }

    /// A placeholder filled with another message, in the same language.
    pub fn nested(mut self, name: &'static str, value: Msg) -> Msg {
        self.args.push((name, Arg::Msg(Box::new(value))));
        self
    }

    pub fn text(&self, lang: Lang) -> String {
        let template = match catalog(lang).get(self.key) {
            Some(t) => t.as_str(),
            // A missing key is caught by the catalog tests; show the key rather than nothing.
            None => self.key,
        };
        let mut out = template.to_string();
        for (name, value) in &self.args {
            let value = match value {
                Arg::Text(t) => t.clone(),
                Arg::Msg(m) => m.text(lang),
            };
            out = out.replace(&format!("{{{name}}}"), &value);
        }
        out
    }
}

/// Shorthand for `Msg::new(key).text(lang)`.
pub fn t(lang: Lang, key: &'static str) -> String {
    Msg::new(key).text(lang)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled() {
        let m = Msg::new("error.answers.field")
            .arg("field", "ports.nginx")
            .nested("problem", Msg::new("problem.port_range").arg("value", 0));
        let en = m.text(Lang::En);
        assert!(
            en.contains("ports.nginx") && en.contains("0 is not a usable port"),
            "{en}"
        );
        assert!(!en.contains('{'), "{en}");
        let zh = m.text(Lang::ZhTw);
        assert!(zh.contains("連接埠"), "{zh}");
    }

    #[test]
    fn locale_picks_traditional_chinese() {
        assert_eq!(Lang::from_locale("zh_TW.UTF-8"), Lang::ZhTw);
        assert_eq!(Lang::from_locale("en_US.UTF-8"), Lang::En);
        assert_eq!(Lang::from_locale("C"), Lang::En);
    }
}
