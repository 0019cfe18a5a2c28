//! `.env`: the one place secrets live (errata 11). Existing values are always kept, and an
//! existing file byte for byte but for the statements of our keys that change (issue 11, 4).
//! The model (`DotEnv`) and the reader (Compose's rules) are in `secrets`; here its entries are
//! chosen from the answers and written.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::answers::{Answers, STACK_ENV_KEYS};
use crate::error::{Error, Result};
use crate::secrets::{DotEnv, ExistingEnv, Secret, Secrets};
use crate::stack::{POSTGRES_PORT, REDIS_PORT};

/// What stays unencoded in the user, password and database of `DATABASE_URL`: RFC 3986's
/// unreserved characters. Everything else (`@ : / # ? %`, spaces, non-ASCII) is
/// percent-encoded, so a hand-set password cannot end the user info early (errata 11).
const URL_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

fn encode(part: &str) -> String {
    utf8_percent_encode(part, URL_COMPONENT).to_string()
}

/// The stack's own Postgres, as the proxy reaches it on the Compose network.
pub fn database_url(user: &str, password: &str, db: &str) -> String {
    format!(
        "postgresql://{}:{}@postgres:{POSTGRES_PORT}/{}",
        encode(user),
        encode(password),
        encode(db)
    )
}

/// Whether a `DATABASE_URL` found in `.env` points at the stack's own Postgres with nothing
/// added (then it is derived again from `POSTGRES_*`, which may have been changed by hand, and
/// an old unencoded one is repaired); any other URL is the user's and kept as it is.
fn is_stack_database_url(url: &str, db: &str) -> bool {
    let tail = |d: &str| format!("@postgres:{POSTGRES_PORT}/{d}");
    url.starts_with("postgresql://") && (url.ends_with(&tail(db)) || url.ends_with(&tail(&encode(db))))
}

/// The `.env` of an install. `process_env` looks up provider keys in the environment of the
/// run (tests inject it).
pub fn build(
    a: &Answers,
    secrets: &Secrets,
    existing: &ExistingEnv,
    process_env: &dyn Fn(&str) -> Option<String>,
) -> DotEnv {
    // A value already in `.env` wins; an empty one is filled (generated, or from the
    // environment for provider keys).
    let keep = |k: &str, v: Secret| -> Secret {
        match existing.get(k) {
            // `KEY=${VAR}` is kept as written, whatever VAR holds now (check refuses it for
            // the stack's own keys).
            Some(old) if !old.is_empty() || existing.is_reference(k) => old.clone(),
            _ => v,
        }
    };
    let pg_user = keep("POSTGRES_USER", Secret::new("llmproxy"));
    let pg_db = keep("POSTGRES_DB", Secret::new("litellm"));
    let pg_password = keep("POSTGRES_PASSWORD", secrets.postgres_password.clone());
    let url = Secret::new(database_url(pg_user.expose(), pg_password.expose(), pg_db.expose()));
    let mut entries: Vec<(String, Secret)> = STACK_ENV_KEYS
        .iter()
        .map(|&k| {
            let value = match k {
                // Compose reads the project name from here, so `docker compose ps` in the
                // install dir sees the stack whatever its name. Derived from the answers.
                "COMPOSE_PROJECT_NAME" => Secret::new(a.project_name()),
                "LITELLM_MASTER_KEY" => keep(k, secrets.master_key.clone()),
                "LITELLM_SALT_KEY" => keep(k, secrets.salt_key.clone()),
                "POSTGRES_USER" => pg_user.clone(),
                "POSTGRES_PASSWORD" => pg_password.clone(),
                "POSTGRES_DB" => pg_db.clone(),
                "DATABASE_URL" => match existing.get(k) {
                    Some(old)
                        if existing.is_reference(k)
                            || (!old.is_empty() && !is_stack_database_url(old.expose(), pg_db.expose())) =>
                    {
                        old.clone()
                    }
                    _ => url.clone(),
                },
                "REDIS_HOST" => keep(k, Secret::new("redis")),
                "REDIS_PORT" => keep(k, Secret::new(REDIS_PORT.to_string())),
                "REDIS_PASSWORD" => keep(k, secrets.redis_password.clone()),
                _ => keep(k, Secret::default()),
            };
            (k.to_string(), value)
        })
        .collect();
    for var in a.provider_key_vars() {
        let from_env = process_env(&var).unwrap_or_default();
        // An empty value in .env is a key still to be filled in: one given now (typed in the
        // wizard, or in the run's environment) fills it. A non-empty value is always kept.
        let value = keep(&var, Secret::new(from_env));
        entries.push((var, value));
    }
    let ours: std::collections::HashSet<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
    let extra = existing
        .entries
        .iter()
        .filter(|(k, _)| !ours.contains(k.as_str()))
        .cloned()
        .collect();
    DotEnv {
        entries,
        extra,
        base: existing.clone(),
    }
}

/// Every value of ours can be written so that Compose and dotenvy read it back as it is: the
/// stack's values and the provider keys hold no control character at all (a line break there
/// is a key pasted with its newline, which would end up in every request's header). As read
/// from `.env`, each must be one the installer can know and write back: the stack's own keys a
/// plain value (not `${VAR}`, which the installer cannot resolve as the containers will), any
/// key of ours UTF-8 and nothing Compose alone can read. Lines of keys not ours are never
/// rewritten, so any value there is fine. Errors name the variable and line, never the value.
pub fn check(dotenv: &DotEnv, path: &std::path::Path) -> Result<()> {
    use crate::secrets::dotenv::Value;
    let stack_keys = STACK_ENV_KEYS.len();
    for (i, (k, v)) in dotenv.entries.iter().enumerate() {
        if let Some(st) = dotenv.base.statement(k) {
            let problem = match &st.value {
                Value::Reference { .. } | Value::Inherited { .. } if i < stack_keys => {
                    Some(msg!("hardening2.env.reference"))
                }
                Value::Unknown { .. } => Some(msg!("hardening2.env.unknown")),
                value if std::str::from_utf8(value.bytes()).is_err() => Some(msg!("hardening2.env.not_utf8")),
                _ => None,
            };
            if let Some(m) = problem {
                return Err(
                    Error::input(m.arg("path", path.display()).arg("line", st.line).arg("key", k))
                        .hint(msg!("hardening2.env.fix_line_hint").arg("line", st.line)),
                );
            }
        }
        if v.expose().chars().any(char::is_control) {
            return Err(Error::input(
                msg!("hardening.env.control_char")
                    .arg("key", k)
                    .arg("path", path.display()),
            )
            .hint(msg!("hardening.env.control_char_hint").arg("key", k)));
        }
    }
    Ok(())
}

/// The bytes of `.env`. A new one is written whole from our entries. An existing one is kept
/// byte for byte, comments, order and keys not ours included: only a statement of ours whose
/// value changes (an empty key filled, `DATABASE_URL` derived again) is replaced, in place, and
/// a key of ours it lacks is added at the end. A statement written as a reference (`${VAR}`)
/// is never replaced.
pub fn render(dotenv: &DotEnv, a: &Answers) -> Vec<u8> {
    let base = &dotenv.base;
    if base.text.0.is_empty() {
        return render_new(dotenv, a).into_bytes();
    }
    let mut edits: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    let providers = a.provider_key_vars();
    let mut added = String::new();
    if dotenv.entries.iter().all(|(k, _)| base.statement(k).is_none()) {
        // A `.env` made by hand before the first run: ours follows it whole.
        added = format!("\n{}", render_new(dotenv, a));
    } else {
        let mut commented = false;
        for (k, v) in &dotenv.entries {
            match base.statement(k) {
                Some(st) if base.is_reference(k) || st.value.bytes() == v.expose().as_bytes() => {}
                Some(st) => {
                    // Text right after the value (`KEY="x"B=1`) would join a bare value.
                    let joined = base.text.0.get(st.span.end).is_some_and(|b| *b != b'\n');
                    let value = quote(v.expose());
                    let value = if joined && !value.starts_with('"') {
                        format!("\"{value}\"")
                    } else {
                        value
                    };
                    edits.push((st.span.clone(), format!("{k}={value}")));
                }
                None => {
                    if providers.contains(k) && !commented {
                        added.push_str(PROVIDER_COMMENT);
                        commented = true;
                    }
                    added.push_str(&format!("{k}={}\n", quote(v.expose())));
                }
            }
        }
    }
    let mut out = base.text.0.clone();
    edits.sort_by_key(|(span, _)| std::cmp::Reverse(span.start));
    for (span, text) in edits {
        out.splice(span, text.into_bytes());
    }
    if !added.is_empty() {
        if !out.ends_with(b"\n") {
            out.push(b'\n');
        }
        out.extend_from_slice(added.as_bytes());
    }
    out
}

const PROVIDER_COMMENT: &str = "\n# Provider keys (empty: fill in, then run `litellm-stack install` again)\n";

/// A new `.env`: the header, the stack's keys, the provider keys.
fn render_new(dotenv: &DotEnv, a: &Answers) -> String {
    let mut out = String::from(
        "# Generated by litellm-stack. Every value here is kept on later runs: edit provider keys freely.\n\
             # LITELLM_SALT_KEY encrypts the credentials stored in the database. Never change it once used.\n\
             # This file holds secrets: keep it out of git, chats and screenshots.\n",
    );
    let providers = a.provider_key_vars();
    for (k, v) in &dotenv.entries {
        if providers.first() == Some(k) {
            out.push_str(PROVIDER_COMMENT);
        }
        out.push_str(&format!("{k}={}\n", quote(v.expose())));
    }
    out
}

/// A value as Docker Compose v2 and dotenvy both read it back exactly. Bare when it has only
/// characters neither treats specially; otherwise double-quoted, with `\`, `"` and `$` escaped
/// by a backslash and a line break written `\n` (the escapes both share). Single quotes are
/// never used: Compose reads `\'` inside them as a quote and dotenvy as a backslash, and a value
/// holding `'` cannot be single-quoted at all. Control characters other than `\n` are refused
/// by `check` before anything is written.
pub fn quote(v: &str) -> String {
    let bare = v.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:@+=,%".contains(c));
    if bare {
        return v.to_string();
    }
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        match c {
            '\\' | '"' | '$' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stack_key_is_written_and_none_twice() {
        let a = Answers::defaults_for(crate::platform::Os::Linux);
        let d = build(&a, &Secrets::placeholders(), &ExistingEnv::default(), &|_| None);
        let keys: Vec<&str> = d.entries.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(&keys[..STACK_ENV_KEYS.len()], STACK_ENV_KEYS);
        assert!(d.entries.iter().take(STACK_ENV_KEYS.len()).all(|(_, v)| !v.is_empty()));
    }

    #[test]
    fn the_database_url_encodes_user_password_and_database() {
        assert_eq!(
            database_url("u@x", "p@ss:/#?%w rd", "d/b"),
            "postgresql://u%40x:p%40ss%3A%2F%23%3F%25w%20rd@postgres:5432/d%2Fb"
        );
        assert!(is_stack_database_url(
            "postgresql://a:b@c@postgres:5432/litellm",
            "litellm"
        ));
        assert!(!is_stack_database_url(
            "postgresql://a:b@db.example.com:5432/litellm",
            "litellm"
        ));
        assert!(!is_stack_database_url(
            "postgresql://a:b@postgres:5432/litellm?sslmode=require",
            "litellm"
        ));
    }

    /// Only the statement of ours that changes is replaced, in place; text right after it on
    /// the same line stays a statement of its own.
    #[test]
    fn a_changed_statement_is_replaced_in_place() {
        let a = Answers::defaults_for(crate::platform::Os::Linux);
        let text = b"# mine\nOPENAI_API_KEY=\"\"B=1\nLITELLM_SALT_KEY=sk-kept # note\n";
        let existing = ExistingEnv::parse_with(std::path::Path::new(".env"), text, &|_| None).expect("parses");
        let filled = |k: &str| (k == "OPENAI_API_KEY").then(|| "sk-filled".to_string());
        let d = build(&a, &Secrets::keep_or_generate(&existing), &existing, &filled);
        let out = render(&d, &a);
        let head = b"# mine\nOPENAI_API_KEY=\"sk-filled\"B=1\nLITELLM_SALT_KEY=sk-kept # note\n";
        assert!(out.starts_with(head), "{}", String::from_utf8_lossy(&out));
        let again = ExistingEnv::parse_with(std::path::Path::new(".env"), &out, &|_| None).expect("parses");
        assert_eq!(again.get("B").map(Secret::expose), Some("1"));
        assert_eq!(again.get("OPENAI_API_KEY").map(Secret::expose), Some("sk-filled"));
    }

    #[test]
    fn values_are_quoted_only_when_needed() {
        assert_eq!(quote("sk-abc_DEF.1"), "sk-abc_DEF.1");
        assert_eq!(quote(""), "");
        assert_eq!(quote("a b"), "\"a b\"");
        assert_eq!(quote(r#"it's "$HOME" \ #x"#), r#""it's \"\$HOME\" \\ #x""#);
        assert_eq!(quote("one\ntwo"), "\"one\\ntwo\"");
    }
}
