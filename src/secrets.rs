//! Secrets: kept from an existing `.env`, generated only where missing, never printable.
//!
//! The salt key encrypts provider credentials stored in the database; regenerating it makes
//! them unreadable (errata 14). So every value already in `.env` wins, always.

use std::fmt;
use std::path::Path;

use rand::TryRngCore;
use rand::distr::{Alphanumeric, SampleString};
use rand::rngs::OsRng;

use crate::error::{Error, Result};

/// A secret value. It has no `Display`, and its `Debug` is redacted, so it cannot reach a
/// log line or a snapshot by accident; `expose` is the one deliberate way out.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// `n` characters from [A-Za-z0-9], drawn from the operating system's CSPRNG. The alphabet is
/// URL-safe, so passwords never break `DATABASE_URL` (errata 11).
pub fn random_token(n: usize) -> String {
    let mut rng = OsRng.unwrap_err();
    Alphanumeric.sample_string(&mut rng, n)
}

/// LiteLLM wants the `sk-` prefix and refuses weak keys (errata 13).
pub fn generate_api_key() -> Secret {
    Secret(format!("sk-{}", random_token(48)))
}

pub fn generate_password() -> Secret {
    Secret(random_token(32))
}

/// The keys of `.env` whose values are not secret (shown in diffs as they are).
pub const PLAIN_ENV_KEYS: &[&str] = &[
    "COMPOSE_PROJECT_NAME",
    "POSTGRES_USER",
    "POSTGRES_DB",
    "REDIS_HOST",
    "REDIS_PORT",
];

pub fn is_secret_key(key: &str) -> bool {
    !PLAIN_ENV_KEYS.contains(&key)
}

pub mod dotenv;

/// An existing `.env`, as read: its entries in file order (a key set twice once, with the value
/// Compose takes: the last), whether it had CRLF endings (errata 22: a file edited on
/// Windows), and the file itself with its statements as Compose reads them, so that a writer
/// changes the statements it owns and keeps every other byte.
#[derive(Debug, Default, Clone)]
pub struct ExistingEnv {
    pub entries: Vec<(String, Secret)>,
    pub had_crlf: bool,
    /// The file's bytes, LF line ends; empty when there was none.
    pub text: EnvText,
    pub statements: Vec<dotenv::Statement>,
}

/// The bytes of a `.env`. Its `Debug` shows only the length: the file holds secrets.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct EnvText(pub Vec<u8>);

impl fmt::Debug for EnvText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EnvText({} bytes)", self.0.len())
    }
}

impl ExistingEnv {
    pub fn get(&self, key: &str) -> Option<&Secret> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The statement Compose takes for `key`: the last one.
    pub fn statement(&self, key: &str) -> Option<&dotenv::Statement> {
        self.statements.iter().rev().find(|s| s.key == key)
    }

    /// `key` is written so that its value comes from elsewhere (`${VAR}`, `KEY` alone): the
    /// line is kept as it is, whatever the value is now.
    pub fn is_reference(&self, key: &str) -> bool {
        self.statement(key)
            .is_some_and(|s| !matches!(s.value, dotenv::Value::Literal(_)))
    }

    /// Reads `path` as Docker Compose does; a missing file is an empty `.env`.
    pub fn read(path: &Path) -> Result<ExistingEnv> {
        let raw = match std::fs::read(path) {
            Ok(raw) => raw,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ExistingEnv::default()),
            Err(e) => return Err(Error::io(path, &e)),
        };
        Self::parse(path, &raw)
    }

    /// `raw` as Docker Compose reads it, `${VAR}` looked up in this run's environment (as
    /// Compose run here would; the value found is never written back).
    pub fn parse(path: &Path, raw: &[u8]) -> Result<ExistingEnv> {
        Self::parse_with(path, raw, &|k| std::env::var(k).ok())
    }

    pub fn parse_with(path: &Path, raw: &[u8], lookup: &dyn Fn(&str) -> Option<String>) -> Result<ExistingEnv> {
        let text = decode_windows_text(raw);
        let lf = crlf_to_lf(&text);
        let had_crlf = lf != text;
        let text = lf;
        // The line's number, never its text: it may hold a value.
        let statements = dotenv::parse(&text, lookup).map_err(|e| {
            Error::input(
                msg!("hardening2.env.syntax")
                    .arg("path", path.display())
                    .arg("line", e.line),
            )
            .hint(msg!("hint.env.parse"))
        })?;
        let mut entries: Vec<(String, Secret)> = Vec::new();
        for st in statements.iter().filter(|s| !s.key.is_empty()) {
            let v = Secret(String::from_utf8_lossy(st.value.bytes()).into_owned());
            match entries.iter_mut().find(|(key, _)| *key == st.key) {
                Some(entry) => entry.1 = v,
                None => entries.push((st.key.clone(), v)),
            }
        }
        Ok(ExistingEnv {
            entries,
            had_crlf,
            text: EnvText(text),
            statements,
        })
    }
}

/// Every `\r` of a run of them that ends a line or the file goes (`\r\r\n` too, and a `\r`
/// last, which a line added after it would make a CRLF): the result read again has none, so
/// the rewrite is done once. Compose reads these `\r` as trailing blanks.
fn crlf_to_lf(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for (i, &b) in text.iter().enumerate() {
        let ends_line = b == b'\r' && matches!(text[i..].iter().find(|&&c| c != b'\r'), Some(b'\n') | None);
        if !ends_line {
            out.push(b);
        }
    }
    out
}

/// Text as Windows tools save it: UTF-8 with or without a byte-order mark (older Notepad), or
/// UTF-16 with one (PowerShell 5.1's `>`). Containers need UTF-8; a UTF-16 file is rewritten
/// so. Any other bytes are kept as they are, UTF-8 or not.
fn decode_windows_text(raw: &[u8]) -> Vec<u8> {
    let utf16 = |bytes: &[u8], le: bool| -> Vec<u8> {
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| {
                if le {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    u16::from_be_bytes([c[0], c[1]])
                }
            })
            .collect();
        String::from_utf16_lossy(&units).into_bytes()
    };
    match raw {
        [0xEF, 0xBB, 0xBF, rest @ ..] => rest.to_vec(),
        [0xFF, 0xFE, rest @ ..] => utf16(rest, true),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, false),
        _ => raw.to_vec(),
    }
}

/// The `.env` of an install, as it will be written: our entries in file order, then the ones
/// the user added by hand. Built from the answers by `render::env::build`, written as text by
/// `render::env::render`.
#[derive(Debug, Clone, Default)]
pub struct DotEnv {
    pub entries: Vec<(String, Secret)>,
    /// Keys the user added by hand; kept, after ours.
    pub extra: Vec<(String, Secret)>,
    /// The `.env` it was built from (empty: a new one): every byte of it not in a statement
    /// of ours is written back as it was.
    pub base: ExistingEnv,
}

impl DotEnv {
    pub fn get(&self, key: &str) -> Option<&Secret> {
        self.entries
            .iter()
            .chain(&self.extra)
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Every value that must not be shown, for masking diffs and logs.
    pub fn secret_values(&self) -> Vec<String> {
        self.entries
            .iter()
            .chain(&self.extra)
            .filter(|(k, v)| is_secret_key(k) && v.expose().len() >= MIN_SECRET_LEN)
            .map(|(_, v)| v.expose().to_string())
            .collect()
    }
}

/// The secrets of one installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secrets {
    pub master_key: Secret,
    pub salt_key: Secret,
    pub postgres_password: Secret,
    pub redis_password: Secret,
}

impl Secrets {
    /// Keeps every value `existing` has; generates only what is missing or empty.
    pub fn keep_or_generate(existing: &ExistingEnv) -> Secrets {
        let keep = |key: &str, make: fn() -> Secret| match existing.get(key) {
            Some(v) if !v.is_empty() => v.clone(),
            _ => make(),
        };
        Secrets {
            master_key: keep("LITELLM_MASTER_KEY", generate_api_key),
            salt_key: keep("LITELLM_SALT_KEY", generate_api_key),
            postgres_password: keep("POSTGRES_PASSWORD", generate_password),
            redis_password: keep("REDIS_PASSWORD", generate_password),
        }
    }

    /// Fixed placeholders, for snapshots and documentation.
    pub fn placeholders() -> Secrets {
        Secrets {
            master_key: Secret::new("sk-MASTER-KEY-PLACEHOLDER"),
            salt_key: Secret::new("sk-SALT-KEY-PLACEHOLDER"),
            postgres_password: Secret::new("POSTGRES-PASSWORD-PLACEHOLDER"),
            redis_password: Secret::new("REDIS-PASSWORD-PLACEHOLDER"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Masking: the one place that decides what of a secret may be shown (logs, diffs, the review).

/// What a secret is shown as.
pub const MASK: &str = "********";

/// Shorter values are not masked in free text: replacing every `abc` would garble the text and
/// hide nothing worth hiding.
const MIN_SECRET_LEN: usize = 4;

/// Replaces each known secret value in free text (a log line, an error's detail, a file that is
/// not private), longest first, so a value containing another is masked whole.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut sorted: Vec<&String> = secrets.iter().filter(|s| s.len() >= MIN_SECRET_LEN).collect();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_string();
    for s in sorted {
        out = out.replace(s.as_str(), MASK);
    }
    out
}

/// How a `.env` entry whose value is empty is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmptyValues {
    /// As any other secret (`KEY=********`): diffs, where an empty key is no news.
    Masked,
    /// As it is (`KEY=`): the review, where the user sees which key is left to fill in.
    Shown,
}

/// `.env` text as it may be shown: comments, blank lines and the values of `PLAIN_ENV_KEYS` as
/// they are, every other entry as `KEY=********`, whatever it spans (a quoted value over
/// several lines is one entry). Lines end with `\n`, the last one only if `text`'s does.
pub fn mask_env(text: &str, empty: EmptyValues) -> String {
    let text = text.replace("\r\n", "\n");
    let mut out = env_records(&text)
        .iter()
        .map(|r| r.masked(empty, None))
        .collect::<Vec<_>>()
        .join("\n");
    if text.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// Two versions of `.env`, masked for a diff (no final newline on either side, so the last
/// lines compare alike): an entry of `new` whose value differs from `old`'s says
/// `(changed)`, or the diff would show nothing where a secret changed.
pub fn mask_env_change(old: &str, new: &str) -> (String, String) {
    let old = old.replace("\r\n", "\n");
    let new = new.replace("\r\n", "\n");
    let old_records = env_records(&old);
    let shown = |records: &[EnvRecord], before: Option<&[EnvRecord]>| {
        records
            .iter()
            .map(|r| r.masked(EmptyValues::Masked, before))
            .collect::<Vec<_>>()
            .join("\n")
    };
    (shown(&old_records, None), shown(&env_records(&new), Some(&old_records)))
}

/// One logical line of `.env` as dotenv reads it: a comment, a blank line, or one entry with
/// all the physical lines its value spans.
struct EnvRecord<'a>(&'a str);

impl EnvRecord<'_> {
    /// `KEY` as written before `=` (`export KEY`, spaces kept), and the raw value after it.
    /// `None` for what is not an entry, or whose key part would show a value's text.
    fn entry(&self) -> Option<(&str, &str)> {
        let (key, value) = self.0.split_once('=')?;
        let plausible = !key.trim().is_empty() && !key.contains(['\n', '"', '\'', '#']);
        plausible.then_some((key, value))
    }

    /// The entry as dotenvy reads it on its own: key and value; `None` when it is not exactly
    /// one entry.
    fn parsed(&self) -> Option<(String, String)> {
        let mut items = dotenvy::from_read_iter(self.0.as_bytes());
        match (items.next(), items.next()) {
            (Some(Ok(kv)), None) => Some(kv),
            _ => None,
        }
    }

    /// Masked per entry as parsed, not as written: shown as it is only when dotenvy reads it
    /// as one entry of a plain key (`export REDIS_HOST=…` too), or, in the review, as empty
    /// (`KEY=""` too); and "(changed)" only when the value read differs (a value only quoted
    /// otherwise is the same value).
    fn masked(&self, empty: EmptyValues, before: Option<&[EnvRecord]>) -> String {
        // An indented comment or a line of spaces is shown as `********`: nothing is lost.
        if self.0.is_empty() || self.0.starts_with('#') {
            return self.0.to_string();
        }
        let Some((key, value)) = self.entry() else {
            return MASK.to_string();
        };
        let parsed = self.parsed();
        let written_key = key.trim().strip_prefix("export ").unwrap_or(key.trim()).trim();
        let plain = parsed
            .as_ref()
            .is_some_and(|(k, _)| k == written_key && !is_secret_key(k));
        let empty_value = parsed.as_ref().map_or(value.is_empty(), |(_, v)| v.is_empty());
        if plain || (empty == EmptyValues::Shown && empty_value) {
            return self.0.to_string();
        }
        let old = before.and_then(|old| {
            old.iter().find(|r| match (r.parsed(), &parsed) {
                (Some((k, _)), Some((want, _))) => &k == want,
                _ => r.entry().is_some_and(|(k, _)| k == key),
            })
        });
        let changed = old.is_some_and(|o| match (o.parsed(), &parsed) {
            (Some((_, a)), Some((_, b))) => &a != b,
            _ => o.entry().map(|(_, v)| v) != Some(value),
        });
        if changed {
            format!("{key}={MASK} (changed)")
        } else {
            format!("{key}={MASK}")
        }
    }
}

/// Splits LF text into records the way dotenvy groups lines: a line starting with `#` is a
/// comment; otherwise a line ends its record unless a quote is still open (a backslash escapes
/// the next character inside quotes and out; `#` after a space starts a comment).
fn env_records(text: &str) -> Vec<EnvRecord<'_>> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Complete,
        Escape,
        Strong,
        StrongEscape,
        Weak,
        WeakEscape,
        Space,
    }
    let mut records = Vec::new();
    let mut start = 0;
    let mut state = State::Complete;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let line_start = offset;
        offset += line.len();
        if state == State::Complete {
            start = line_start;
            if line.trim_start().starts_with('#') {
                records.push(EnvRecord(line.trim_end_matches('\n')));
                continue;
            }
        }
        for c in line.chars() {
            state = match (state, c) {
                (State::Space, '#') => {
                    // The rest of the line is a comment: the record ends with it.
                    state = State::Complete;
                    break;
                }
                (State::Space | State::Complete, '\\') => State::Escape,
                (State::Space | State::Complete, '"') => State::Weak,
                (State::Space | State::Complete, '\'') => State::Strong,
                (State::Complete, c) if c.is_whitespace() && c != '\n' && c != '\r' => State::Space,
                (State::Space | State::Complete | State::Escape, _) => State::Complete,
                (State::Weak, '\\') => State::WeakEscape,
                (State::Weak, '"') => State::Complete,
                (State::Weak | State::WeakEscape, _) => State::Weak,
                (State::Strong, '\\') => State::StrongEscape,
                (State::Strong, '\'') => State::Complete,
                (State::Strong | State::StrongEscape, _) => State::Strong,
            };
        }
        if matches!(state, State::Complete | State::Space | State::Escape) {
            state = State::Complete;
            records.push(EnvRecord(text[start..offset].trim_end_matches('\n')));
        }
    }
    if state != State::Complete {
        // An unclosed quote: dotenvy refuses the file; show nothing of what follows.
        records.push(EnvRecord(&text[start..]));
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("sk-very-secret");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        let all = Secrets::placeholders();
        assert!(!format!("{all:?}").contains("PLACEHOLDER"));
    }

    #[test]
    fn generated_master_key_is_strong_and_url_safe() {
        let k = generate_api_key();
        let k = k.expose();
        assert!(k.starts_with("sk-"));
        assert!(k.len() >= 3 + 32);
        assert!(k[3..].chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(generate_api_key(), generate_api_key());
    }

    #[test]
    fn existing_values_are_kept_and_missing_ones_generated() {
        let env =
            ExistingEnv::parse(Path::new(".env"), b"LITELLM_SALT_KEY=sk-old-salt\nREDIS_PASSWORD=\n").expect("parses");
        let s = Secrets::keep_or_generate(&env);
        assert_eq!(s.salt_key.expose(), "sk-old-salt");
        assert!(!s.redis_password.is_empty());
        assert!(s.master_key.expose().starts_with("sk-"));
    }

    #[test]
    fn env_saved_by_windows_tools_is_read() {
        let bom = b"\xEF\xBB\xBFLITELLM_SALT_KEY=sk-old\r\n";
        let env = ExistingEnv::parse(Path::new(".env"), bom).expect("UTF-8 with BOM");
        assert_eq!(env.get("LITELLM_SALT_KEY").map(Secret::expose), Some("sk-old"));
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend(
            "LITELLM_SALT_KEY=sk-old\r\n"
                .encode_utf16()
                .flat_map(|u| u.to_le_bytes()),
        );
        let env = ExistingEnv::parse(Path::new(".env"), &utf16).expect("UTF-16");
        assert_eq!(env.get("LITELLM_SALT_KEY").map(Secret::expose), Some("sk-old"));
        assert!(env.had_crlf);
    }

    #[test]
    fn crlf_env_is_read_and_reported() {
        let env = ExistingEnv::parse(Path::new(".env"), b"LITELLM_SALT_KEY=sk-old\r\nOPENAI_API_KEY=abc\r\n")
            .expect("parses");
        assert!(env.had_crlf);
        assert_eq!(env.get("LITELLM_SALT_KEY").map(Secret::expose), Some("sk-old"));
        assert_eq!(env.get("OPENAI_API_KEY").map(Secret::expose), Some("abc"));
        // Found by fuzz/dotenv: `\r\r\n` ends a line too, or the rewritten file has a CRLF.
        let env = ExistingEnv::parse(Path::new(".env"), b"A=1\r\r\nB=2\r\n").expect("parses");
        assert_eq!(env.text.0, b"A=1\nB=2\n");
        let env = ExistingEnv::parse(Path::new(".env"), b"\nB=\r").expect("parses");
        assert_eq!(env.text.0, b"\nB=");
        let env = ExistingEnv::parse(Path::new(".env"), b"A=\"x\ry\"\n").expect("parses");
        assert!(
            !env.had_crlf && env.text.0 == b"A=\"x\ry\"\n",
            "a CR inside a line stays"
        );
    }

    #[test]
    fn longer_secrets_are_masked_whole() {
        let out = redact("key sk-abcdef and sk-abc", &["sk-abc".into(), "sk-abcdef".into()]);
        assert_eq!(out, "key ******** and ********");
    }

    #[test]
    fn short_values_are_not_masked_everywhere() {
        assert_eq!(redact("a b c", &["b".into()]), "a b c");
    }

    #[test]
    fn env_is_masked_per_entry_plain_keys_and_comments_shown() {
        let text = "# a comment\nCOMPOSE_PROJECT_NAME=litellm\nLITELLM_MASTER_KEY=sk-abc\nOPENAI_API_KEY=\n\nREDIS_PORT=6379\n";
        assert_eq!(
            mask_env(text, EmptyValues::Masked),
            "# a comment\nCOMPOSE_PROJECT_NAME=litellm\nLITELLM_MASTER_KEY=********\nOPENAI_API_KEY=********\n\nREDIS_PORT=6379\n"
        );
        assert!(mask_env(text, EmptyValues::Shown).contains("\nOPENAI_API_KEY=\n"));
        assert!(!mask_env("A=sk-abc", EmptyValues::Masked).ends_with('\n'));
    }

    /// A quoted value over several lines is one entry: none of its lines is shown, not one that
    /// looks like a plain key nor one that starts with `#`.
    #[test]
    fn a_multi_line_value_never_shows_its_lines() {
        let text = "CERT=\"-----BEGIN-----\nREDIS_HOST=leaked\n# leaked too\n-----END-----\"\nREDIS_HOST=redis\nTOKEN='one\ntwo=leaked'\n";
        // dotenvy reads it so: three entries.
        let parsed = ExistingEnv::parse(Path::new(".env"), text.as_bytes()).expect("parses");
        assert_eq!(parsed.entries.len(), 3);
        assert_eq!(
            mask_env(text, EmptyValues::Masked),
            "CERT=********\nREDIS_HOST=redis\nTOKEN=********\n"
        );
        let (old, new) = mask_env_change(text, &text.replace("leaked'", "other'"));
        assert!(
            !old.contains("leaked") && !new.contains("leaked") && !new.contains("other"),
            "{new}"
        );
        assert!(
            new.contains("TOKEN=******** (changed)") && new.contains("CERT=********\n"),
            "{new}"
        );
    }

    /// Per entry as dotenvy reads it: a value only quoted otherwise has not changed; an
    /// `export`ed plain key is shown; `KEY=""` is empty in the review.
    #[test]
    fn entries_are_masked_as_parsed() {
        let (_, new) = mask_env_change("A='x y'\nB=old\n", "A=\"x y\"\nB=new\n");
        assert_eq!(new, "A=********\nB=******** (changed)");
        assert_eq!(
            mask_env("export REDIS_HOST=redis\nK=\"\"\n", EmptyValues::Shown),
            "export REDIS_HOST=redis\nK=\"\"\n"
        );
        // A line dotenvy reads as two entries, or as none, shows nothing of its value.
        assert_eq!(
            mask_env("REDIS_HOST=a b\n", EmptyValues::Masked),
            "REDIS_HOST=********\n"
        );
    }

    #[test]
    fn an_unclosed_quote_hides_the_rest() {
        assert_eq!(mask_env("A=\"open\nB=secret\n", EmptyValues::Masked), "A=********\n");
    }

    #[test]
    fn a_changed_secret_says_so_in_the_diff() {
        let (old, new) = mask_env_change(
            "LITELLM_MASTER_KEY=sk-old\r\nREDIS_HOST=redis\r\nOPENAI_API_KEY=\r\n",
            "LITELLM_MASTER_KEY=sk-new\nREDIS_HOST=redis\nOPENAI_API_KEY=\nNEW_KEY=x\n",
        );
        assert_eq!(
            old,
            "LITELLM_MASTER_KEY=********\nREDIS_HOST=redis\nOPENAI_API_KEY=********"
        );
        assert_eq!(
            new,
            "LITELLM_MASTER_KEY=******** (changed)\nREDIS_HOST=redis\nOPENAI_API_KEY=********\nNEW_KEY=********"
        );
    }
}
