//! The secrets a support bundle must not hold, found in free text and masked: every value of
//! the install's `.env` (and of its older copies in `backups/files/`), `sk-…` keys anywhere,
//! the password of a URL (`scheme://user:pass@host`) and the credential of an `Authorization:`
//! header. [`Redactor::redact`] masks them and counts what it masked, by name (a `.env` key) or
//! kind; [`Redactor::scan`] finds what is left, for the re-scan before a bundle is written and
//! for `support-bundle --check`. Neither ever returns a value.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use crate::platform::join_rel;
use crate::secrets::{ExistingEnv, MASK, is_secret_key};

/// Shorter `.env` values are not looked for in free text (as `secrets::redact`).
const MIN_VALUE_LEN: usize = 4;
/// `sk-` and at least this many key characters.
const MIN_SK_LEN: usize = 4;

/// What a secret found is: the name a bundle's redaction list and `--check` give it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A value of `.env`, by its key.
    Env(String),
    SkKey,
    UrlCredential,
    Authorization,
}

impl Kind {
    /// `env:LITELLM_MASTER_KEY`, `sk-key`, `url-credential`, `authorization-header`.
    pub fn label(&self) -> String {
        match self {
            Kind::Env(key) => format!("env:{key}"),
            Kind::SkKey => "sk-key".into(),
            Kind::UrlCredential => "url-credential".into(),
            Kind::Authorization => "authorization-header".into(),
        }
    }
}

/// Counts by kind.
pub type Counts = BTreeMap<Kind, usize>;

/// The values to look for, each with the `.env` key it is the value of.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Longest first, so a value containing another is masked whole.
    values: Vec<(String, String)>,
}

impl Redactor {
    /// From `(key, value)` pairs: the secret keys' values long enough to look for, each once.
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Redactor {
        let mut values: Vec<(String, String)> = Vec::new();
        for (k, v) in pairs {
            let looked_for = is_secret_key(&k) && v.len() >= MIN_VALUE_LEN && !v.chars().all(|c| c == '*');
            if looked_for && !values.iter().any(|(_, seen)| *seen == v) {
                values.push((k, v));
            }
        }
        values.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
        Redactor { values }
    }

    /// The install's `.env` (as read) and the older copies `install` kept in `backups/files/`
    /// (a password changed in `.env` leaves the old one in the containers' logs).
    pub fn of_install(dir: &Path, env: &ExistingEnv) -> Redactor {
        let mut pairs = pairs_of(env);
        if let Ok(entries) = std::fs::read_dir(join_rel(dir, "backups/files")) {
            let mut olds: Vec<_> = entries
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(".env."))
                .map(|e| e.path())
                .collect();
            olds.sort();
            for old in olds {
                if let Ok(old) = ExistingEnv::read(&old) {
                    pairs.extend(pairs_of(&old));
                }
            }
        }
        Redactor::new(pairs)
    }

    /// How many values are looked for.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `text` with every secret masked; what was masked is added to `counts`.
    pub fn redact(&self, text: &str, counts: &mut Counts) -> String {
        let mut out = text.to_string();
        for (key, value) in &self.values {
            let n = out.matches(value.as_str()).count();
            if n > 0 {
                out = out.replace(value.as_str(), MASK);
                *counts.entry(Kind::Env(key.clone())).or_default() += n;
            }
        }
        let found = patterns(&out);
        for (range, kind) in found.into_iter().rev() {
            let mask = if kind == Kind::SkKey {
                format!("sk-{MASK}")
            } else {
                MASK.to_string()
            };
            out.replace_range(range, &mask);
            *counts.entry(kind).or_default() += 1;
        }
        out
    }

    /// What `text` still holds: every `.env` value and every pattern, counted.
    /// A value of `.env` is counted as that (not also as the `sk-` key it may look like).
    pub fn scan(&self, text: &str) -> Counts {
        let mut counts = Counts::new();
        let mut rest = text.to_string();
        for (key, value) in &self.values {
            let n = rest.matches(value.as_str()).count();
            if n > 0 {
                rest = rest.replace(value.as_str(), MASK);
                *counts.entry(Kind::Env(key.clone())).or_default() += n;
            }
        }
        for (_, kind) in patterns(&rest) {
            *counts.entry(kind).or_default() += 1;
        }
        counts
    }
}

fn pairs_of(env: &ExistingEnv) -> Vec<(String, String)> {
    env.entries
        .iter()
        .map(|(k, v)| (k.clone(), v.expose().to_string()))
        .collect()
}

/// Every pattern match in `text`, by position, not overlapping.
fn patterns(text: &str) -> Vec<(Range<usize>, Kind)> {
    let mut found: Vec<(Range<usize>, Kind)> = Vec::new();
    found.extend(sk_keys(text).into_iter().map(|r| (r, Kind::SkKey)));
    found.extend(url_credentials(text).into_iter().map(|r| (r, Kind::UrlCredential)));
    found.extend(authorizations(text).into_iter().map(|r| (r, Kind::Authorization)));
    found.sort_by_key(|(r, _)| (r.start, std::cmp::Reverse(r.end)));
    let mut out: Vec<(Range<usize>, Kind)> = Vec::new();
    for (r, k) in found {
        match out.last_mut() {
            Some((last, _)) if r.start < last.end => last.end = last.end.max(r.end),
            _ => out.push((r, k)),
        }
    }
    out
}

fn key_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

/// `sk-…`: not inside a word (`task-list` is none), `sk-` and at least four key characters.
fn sk_keys(text: &str) -> Vec<Range<usize>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find("sk-").map(|i| i + from) {
        from = i + 3;
        if i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_') {
            continue;
        }
        let end = (i + 3..b.len()).find(|&j| !key_char(b[j])).unwrap_or(b.len());
        if end - (i + 3) >= MIN_SK_LEN {
            out.push(i..end);
            from = end;
        }
    }
    out
}

/// A placeholder where a secret would be (`${POSTGRES_PASSWORD}`, `$PASS`, `{password}`,
/// `<password>`, a mask), not one.
fn placeholder(s: &str) -> bool {
    s.is_empty()
        || s.starts_with('$')
        || (s.starts_with('{') && s.ends_with('}'))
        || (s.starts_with('<') && s.ends_with('>'))
        || s.contains(MASK)
        || s.chars().all(|c| c == '*')
}

/// The password of `scheme://user:password@host`.
fn url_credentials(text: &str) -> Vec<Range<usize>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find("://").map(|i| i + from) {
        from = i + 3;
        let scheme_start = (0..i)
            .rev()
            .take_while(|&j| b[j].is_ascii_alphanumeric() || matches!(b[j], b'+' | b'.' | b'-'))
            .last();
        if !scheme_start.is_some_and(|s| b[s].is_ascii_alphabetic()) {
            continue;
        }
        let start = i + 3;
        let end = (start..b.len())
            .find(|&j| {
                b[j].is_ascii_whitespace() || matches!(b[j], b'/' | b'?' | b'#' | b'"' | b'\'' | b'`' | b'<' | b'>')
            })
            .unwrap_or(b.len());
        let authority = &text[start..end];
        let Some(at) = authority.rfind('@') else { continue };
        let Some(colon) = authority[..at].find(':') else {
            continue;
        };
        let password = start + colon + 1..start + at;
        if !placeholder(&text[password.clone()]) {
            out.push(password);
        }
        from = end.max(from);
    }
    out
}

/// The credential of `Authorization: Bearer …` (also `"authorization": "…"`, `Authorization=…`).
fn authorizations(text: &str) -> Vec<Range<usize>> {
    const NAME: &str = "authorization";
    const SCHEMES: [&str; 5] = ["bearer", "basic", "token", "digest", "apikey"];
    let lower = text.to_ascii_lowercase();
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = lower[from..].find(NAME).map(|i| i + from) {
        from = i + NAME.len();
        if i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_') {
            continue;
        }
        let mut j = i + NAME.len();
        let skip = |j: &mut usize, set: &[u8]| {
            while *j < b.len() && set.contains(&b[*j]) {
                *j += 1;
            }
        };
        skip(&mut j, b"\"'");
        skip(&mut j, b" \t");
        if j >= b.len() || !matches!(b[j], b':' | b'=') {
            continue;
        }
        j += 1;
        skip(&mut j, b" \t");
        skip(&mut j, b"\"'");
        let word_end = (j..b.len()).find(|&k| !b[k].is_ascii_alphabetic()).unwrap_or(b.len());
        let word = &lower[j..word_end];
        if SCHEMES.contains(&word) && word_end < b.len() && matches!(b[word_end], b' ' | b'\t') {
            j = word_end;
            skip(&mut j, b" \t");
        }
        let end = (j..b.len())
            .find(|&k| b[k].is_ascii_whitespace() || matches!(b[k], b'"' | b'\'' | b',' | b'}' | b';'))
            .unwrap_or(b.len());
        let credential = &text[j..end];
        if !placeholder(credential) && !SCHEMES.contains(&credential.to_ascii_lowercase().as_str()) {
            out.push(j..end);
        }
        from = end.max(from);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor() -> Redactor {
        Redactor::new([
            ("POSTGRES_PASSWORD".to_string(), "pgPassword0123".to_string()),
            ("PROVIDER_KEY".to_string(), "planted-provider-value".to_string()),
            // Plain keys and short values are not looked for.
            ("POSTGRES_USER".to_string(), "llmproxy".to_string()),
            ("LITELLM_LOG".to_string(), "on".to_string()),
        ])
    }

    #[test]
    fn each_kind_is_masked_counted_and_gone_on_a_rescan() {
        let r = redactor();
        let text = "db pgPassword0123 and planted-provider-value twice: planted-provider-value\n\
            key sk-abcdEFGH1234 in 'task-list' and risk-free\n\
            DATABASE_URL=postgresql://llmproxy:other-pw-999@postgres:5432/litellm\n\
            url with ${POSTGRES_PASSWORD}: postgresql://${POSTGRES_USER}:${POSTGRES_PASSWORD}@postgres/x\n\
            -H \"Authorization: Bearer tok-abc.123\" and {\"authorization\": \"Basic dXNlcjpwYXNz\"}\n\
            proxy_set_header Authorization $http_authorization;\n\
            authorization:\n  credentials_file: /etc/prometheus/key\n";
        let mut counts = Counts::new();
        let out = r.redact(text, &mut counts);
        for gone in [
            "pgPassword0123",
            "planted-provider-value",
            "sk-abcdEFGH1234",
            "other-pw-999",
            "tok-abc.123",
            "dXNlcjpwYXNz",
        ] {
            assert!(!out.contains(gone), "{gone} in\n{out}");
        }
        for kept in [
            "llmproxy",
            "task-list",
            "risk-free",
            "${POSTGRES_PASSWORD}@postgres",
            "$http_authorization",
            "credentials_file",
            "Bearer ********",
        ] {
            assert!(out.contains(kept), "{kept} not in\n{out}");
        }
        assert_eq!(counts[&Kind::Env("PROVIDER_KEY".into())], 2);
        assert_eq!(counts[&Kind::Env("POSTGRES_PASSWORD".into())], 1);
        assert_eq!(counts[&Kind::SkKey], 1);
        assert_eq!(counts[&Kind::UrlCredential], 1);
        assert_eq!(counts[&Kind::Authorization], 2);
        assert!(!counts.contains_key(&Kind::Env("POSTGRES_USER".into())));
        assert!(r.scan(&out).is_empty(), "{:?}\n{out}", r.scan(&out));
        let found = r.scan(text);
        assert_eq!(found.len(), 5, "{found:?}");
    }

    #[test]
    fn a_key_in_a_header_is_masked_once() {
        let r = Redactor::default();
        for (text, masked) in [
            (
                "Authorization: Bearer sk-1234567890abcdef",
                "Authorization: Bearer sk-********",
            ),
            ("authorization=sk-1234567890abcdef", "authorization=sk-********"),
        ] {
            let mut counts = Counts::new();
            let out = r.redact(text, &mut counts);
            assert_eq!(out, masked);
            assert_eq!(counts.values().sum::<usize>(), 1, "{counts:?}");
            assert!(r.scan(&out).is_empty(), "{out}");
        }
    }

    #[test]
    fn labels_name_the_kind_never_the_value() {
        assert_eq!(Kind::Env("X".into()).label(), "env:X");
        assert_eq!(Kind::SkKey.label(), "sk-key");
        assert_eq!(Kind::UrlCredential.label(), "url-credential");
        assert_eq!(Kind::Authorization.label(), "authorization-header");
    }
}
