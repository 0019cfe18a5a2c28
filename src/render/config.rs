//! `config.yaml`: the proxy's models and settings (SOP 4.4, corrected).

use serde::Serialize;
use serde_norway::{Mapping, Value};

use crate::answers::{Answers, SMOKE_TEST_MODEL};
use crate::stack::SMOKE_TEST_ANSWER;

#[derive(Serialize)]
struct Config {
    model_list: Vec<ModelEntry>,
    general_settings: GeneralSettings,
    litellm_settings: LitellmSettings,
}

#[derive(Serialize)]
struct ModelEntry {
    model_name: String,
    litellm_params: LitellmParams,
}

#[derive(Serialize)]
struct LitellmParams {
    model: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_base: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mock_response: Option<String>,
}

#[derive(Serialize)]
struct GeneralSettings {
    master_key: &'static str,
    database_url: &'static str,
    use_redis_transaction_buffer: bool,
    database_connection_pool_limit: u32,
}

#[derive(Serialize)]
struct LitellmSettings {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    callbacks: Vec<&'static str>,
    cache: bool,
    cache_params: CacheParams,
}

#[derive(Serialize)]
struct CacheParams {
    #[serde(rename = "type")]
    kind: &'static str,
    host: &'static str,
    port: &'static str,
    password: &'static str,
}

/// The proxy reads config.yaml with PyYAML, a YAML 1.1 parser: there a bare `2024-10-21` is a
/// date (LiteLLM then drops the deployment: "api_version: Input should be a valid string"),
/// `yes`/`on` are booleans, `1_000` and `12:30` numbers, `~` and `null` nothing, `<<` a merge
/// and `=` a value key. serde_yaml writes YAML 1.2, where most of those are text, so it leaves
/// them bare. So the file is written here, from the serialized tree: a string is bare only
/// when it is text for every YAML parser, double-quoted otherwise, and no text is ever patched
/// afterwards (a patch could be made to write a key of its own).
fn yaml_document(root: &Value) -> String {
    let mut out = String::new();
    match root {
        Value::Mapping(m) => entries(&mut out, m, 0, false),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

/// A mapping's entries at `indent`; `inline`: the first one goes where the line already is
/// (after a sequence's `- `).
fn entries(out: &mut String, m: &Mapping, indent: usize, mut inline: bool) {
    for (k, v) in m {
        if !inline {
            pad(out, indent);
        }
        inline = false;
        out.push_str(&scalar(k));
        out.push(':');
        match v {
            Value::Mapping(child) if !child.is_empty() => {
                out.push('\n');
                entries(out, child, indent + 2, false);
            }
            Value::Sequence(items) if !items.is_empty() => {
                out.push('\n');
                sequence(out, items, indent);
            }
            other => {
                out.push(' ');
                out.push_str(&scalar(other));
                out.push('\n');
            }
        }
    }
}

fn sequence(out: &mut String, items: &[Value], indent: usize) {
    for item in items {
        pad(out, indent);
        out.push('-');
        match item {
            Value::Mapping(m) if !m.is_empty() => {
                out.push(' ');
                entries(out, m, indent + 2, true);
            }
            Value::Sequence(inner) if !inner.is_empty() => {
                out.push('\n');
                sequence(out, inner, indent + 2);
            }
            other => {
                out.push(' ');
                out.push_str(&scalar(other));
                out.push('\n');
            }
        }
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => yaml_string(s),
        Value::Sequence(_) => "[]".into(),
        Value::Mapping(_) => "{}".into(),
        Value::Tagged(t) => scalar(&t.value),
    }
}

/// A string as every YAML parser reads it back: bare when it starts with a letter, holds only
/// letters, digits and `_ . / -`, and is none of the words YAML 1.1 gives a meaning
/// (`yes`, `on`, `null`…); else double-quoted, with `"` and `\` escaped, and every character
/// PyYAML does not take as printable text, or takes as a line break, written `\uXXXX`.
pub fn yaml_string(s: &str) -> String {
    const WORDS: &[&str] = &["y", "n", "yes", "no", "on", "off", "true", "false", "null"];
    let plain = s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "_./-".contains(c))
        && !WORDS.contains(&s.to_ascii_lowercase().as_str());
    if plain {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{FEFF}' | '\u{FFFE}' | '\u{FFFF}') => {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The answers' text as the proxy gets it: without the spaces around it.
fn trimmed(v: &Option<String>) -> Option<String> {
    v.as_deref().map(|s| s.trim().to_string())
}

pub fn render_config_yaml(a: &Answers) -> String {
    let mut model_list: Vec<ModelEntry> = a
        .models
        .iter()
        .map(|m| ModelEntry {
            model_name: trimmed(&m.name).unwrap_or_default(),
            litellm_params: LitellmParams {
                model: trimmed(&m.model).unwrap_or_default(),
                api_key: trimmed(&m.api_key_env).map(|v| format!("os.environ/{v}")),
                api_base: trimmed(&m.api_base),
                api_version: trimmed(&m.api_version),
                mock_response: None,
            },
        })
        .collect();
    if a.smoke_test_model {
        model_list.push(ModelEntry {
            model_name: SMOKE_TEST_MODEL.into(),
            litellm_params: LitellmParams {
                model: "openai/gpt-3.5-turbo".into(),
                api_key: Some("fake".into()),
                api_base: None,
                api_version: None,
                mock_response: Some(SMOKE_TEST_ANSWER.into()),
            },
        });
    }
    let config = Config {
        model_list,
        general_settings: GeneralSettings {
            master_key: "os.environ/LITELLM_MASTER_KEY",
            database_url: "os.environ/DATABASE_URL",
            use_redis_transaction_buffer: true,
            database_connection_pool_limit: 10,
        },
        litellm_settings: LitellmSettings {
            // errata 3: without the callback `/metrics` answers 404.
            callbacks: if a.services.prometheus {
                vec!["prometheus"]
            } else {
                vec![]
            },
            cache: true,
            cache_params: CacheParams {
                kind: "redis",
                host: "os.environ/REDIS_HOST",
                port: "os.environ/REDIS_PORT",
                password: "os.environ/REDIS_PASSWORD",
            },
        },
    };
    let body = serde_norway::to_value(&config)
        .map(|v| yaml_document(&v))
        .unwrap_or_default();
    format!(
        "# Generated by litellm-stack from answers.yaml; a re-run rewrites it (the old one goes to backups/files/).\n\
         # Keys are read from the environment (`os.environ/NAME`), which .env fills.\n{body}"
    )
}
