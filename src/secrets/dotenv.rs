//! `.env` as Docker Compose v2 reads it: compose-go's dotenv parser (v2.1, the one of Compose
//! 2.26) and its `$…` substitution, over bytes. Compose's reading is the one that counts: the
//! generated `docker-compose.yml` takes its values from this file, and the engine passes the
//! same values to the containers. Each statement keeps where it is in the text, so a writer can
//! replace the one statement it owns and leave every other byte as it was.
//!
//! Unlike dotenvy this reads a file as Compose does: an unquoted value is everything up to the
//! line's end (` #` starts a comment, a backslash is a backslash), a double-quoted one knows
//! the escapes `\n \t \\ \" \$ …` and `$VAR`, a single-quoted one only `\'`. Values need not be
//! UTF-8.

use std::fmt;
use std::ops::Range;

/// What a statement's value is, as Compose reads it. No `Debug` outside tests: it is a value.
#[cfg_attr(test, derive(Debug))]
#[derive(Clone, PartialEq, Eq)]
pub enum Value {
    /// The value itself: what Compose reads whatever the environment.
    Literal(Vec<u8>),
    /// It names other variables (`${VAR}`, `$VAR`, `${VAR:-x}`): Compose reads them from the
    /// environment of its run, then from earlier lines. `resolved` is what they give now.
    Reference { resolved: Vec<u8> },
    /// `KEY` alone on a line: Compose takes the whole value from the environment, if set.
    Inherited { resolved: Option<Vec<u8>> },
    /// A substitution this reader does not follow (nested `${…}`, `${VAR:?…}` unset, an
    /// invalid `${`): only Compose knows its value. `raw` is the value as written.
    Unknown { raw: Vec<u8> },
}

impl Value {
    /// The bytes the value stands for now (for `Unknown`, as written).
    pub fn bytes(&self) -> &[u8] {
        match self {
            Value::Literal(b) | Value::Reference { resolved: b } | Value::Unknown { raw: b } => b,
            Value::Inherited { resolved } => resolved.as_deref().unwrap_or_default(),
        }
    }
}

/// One `KEY=value` (or `KEY`) of the file.
#[derive(Clone, PartialEq, Eq)]
pub struct Statement {
    pub key: String,
    /// 1-based line of the statement's first byte.
    pub line: usize,
    /// From the key's first byte (after `export `) to the value's last (its closing quote;
    /// for an unquoted value, before trailing blanks and a ` #` comment).
    pub span: Range<usize>,
    pub value: Value,
}

/// Never shows a value: the file holds secrets.
impl fmt::Debug for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Statement({} at line {})", self.key, self.line)
    }
}

/// Where Compose refuses the file: the 1-based line of the statement it stops at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
}

/// The statements of `src` (LF line ends), in file order, duplicates included (Compose keeps the
/// last). `lookup` is the environment of the run: Compose looks a variable up there first,
/// then among the earlier lines.
pub fn parse(src: &[u8], lookup: &dyn Fn(&str) -> Option<String>) -> Result<Vec<Statement>, SyntaxError> {
    let mut out: Vec<Statement> = Vec::new();
    let mut pos = 0;
    let line_of = |at: usize| src[..at].iter().filter(|&&b| b == b'\n').count() + 1;
    loop {
        // The start of the next statement: past blanks (line breaks too) and comment lines.
        loop {
            match index_where(src, pos, |c| !c.is_whitespace()) {
                None => return Ok(out),
                Some(i) => pos = i,
            }
            if src[pos] != b'#' {
                break;
            }
            match src[pos..].iter().position(|&b| b == b'\n') {
                None => return Ok(out),
                Some(j) => pos += j,
            }
        }
        let line = line_of(pos);
        let err = SyntaxError { line };
        let mut s = pos;
        if src[s..].starts_with(b"export") && src.get(s + 6).is_some_and(|b| b"\t\n\x0c\r ".contains(b)) {
            s += 6;
            s = index_where(src, s, |c| !is_space(c)).unwrap_or(src.len());
        }
        // The key: up to `=`, `:` or a line break; letters, digits, `_ . - [ ]` and blanks.
        let mut i = s;
        let mut sep = None;
        while i < src.len() {
            let (c, w) = decode(src, i);
            if !is_space(c) {
                match c {
                    '=' | ':' | '\n' => {
                        sep = Some(c);
                        break;
                    }
                    '_' | '.' | '-' | '[' | ']' => {}
                    c if c.is_alphabetic() || c.is_numeric() => {}
                    _ => return Err(err),
                }
            }
            i += w;
        }
        let key_end = i;
        let key = trim_end_whitespace(&src[s..key_end]);
        let key = String::from_utf8_lossy(key).into_owned();
        // A last line without `=` nor line break Compose reads as a value of no key; here it
        // is read as it will be once a line is added after it (`KEY` alone, or an error for
        // a name with a space), so that adding one never changes what the file means.
        let sep = sep.unwrap_or('\n');
        if key.contains(' ') {
            return Err(err);
        }
        if sep == '\n' {
            let resolved = lookup(&key).map(String::into_bytes);
            out.push(Statement {
                key,
                line,
                span: s..key_end,
                value: Value::Inherited { resolved },
            });
            pos = key_end + 1;
            if pos > src.len() {
                return Ok(out);
            }
            continue;
        }
        let v = index_where(src, key_end + 1, |c| !is_space(c)).unwrap_or(src.len());
        let earlier = |name: &str| -> Option<Vec<u8>> {
            lookup(name).map(String::into_bytes).or_else(|| {
                out.iter()
                    .rev()
                    .find(|st| st.key == name)
                    .map(|st| st.value.bytes().to_vec())
            })
        };
        let (value, end, next) = match src.get(v) {
            Some(&q @ (b'"' | b'\'')) => {
                let mut chars = Vec::new();
                let mut escaped = false;
                let mut close = None;
                for (j, &b) in src.iter().enumerate().skip(v + 1) {
                    if b != q {
                        if !escaped && b == b'\\' {
                            escaped = true;
                            continue;
                        }
                        if escaped {
                            escaped = false;
                            chars.push(b'\\');
                        }
                        chars.push(b);
                    } else if escaped {
                        escaped = false;
                        chars.push(b);
                    } else {
                        close = Some(j);
                        break;
                    }
                }
                let close = close.ok_or(err)?;
                let value = if q == b'"' {
                    substitute(&expand_escapes(&chars), &earlier)
                } else {
                    Value::Literal(chars)
                };
                (value, close + 1, close + 1)
            }
            _ => {
                let line_end = src[v..].iter().position(|&b| b == b'\n').map_or(src.len(), |n| v + n);
                let mut raw = &src[v..line_end];
                if let Some(c) = raw.windows(2).position(|w| w == b" #") {
                    raw = &raw[..c];
                }
                let raw = trim_end_whitespace(raw);
                (substitute(raw, &earlier), v + raw.len(), (line_end + 1).min(src.len()))
            }
        };
        out.push(Statement {
            key,
            line,
            span: s..end,
            value,
        });
        pos = next;
    }
}

/// compose-go's `isSpace`: a blank that is not a line break.
fn is_space(c: char) -> bool {
    matches!(c, '\t' | '\x0b' | '\x0c' | '\r' | ' ' | '\u{85}' | '\u{a0}')
}

/// The char at `i` and its width, as Go's `range` decodes: an invalid byte is U+FFFD, one wide.
fn decode(src: &[u8], i: usize) -> (char, usize) {
    let want = match src[i] {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        _ => return ('\u{fffd}', 1),
    };
    match src.get(i..i + want).and_then(|b| std::str::from_utf8(b).ok()) {
        Some(s) => (s.chars().next().unwrap_or('\u{fffd}'), want),
        None => ('\u{fffd}', 1),
    }
}

fn index_where(src: &[u8], from: usize, pred: impl Fn(char) -> bool) -> Option<usize> {
    let mut i = from;
    while i < src.len() {
        let (c, w) = decode(src, i);
        if pred(c) {
            return Some(i);
        }
        i += w;
    }
    None
}

/// Without trailing whitespace (Go's `unicode.IsSpace`), bytes that are not UTF-8 kept.
fn trim_end_whitespace(mut b: &[u8]) -> &[u8] {
    while !b.is_empty() {
        let mut start = b.len() - 1;
        while start > 0 && b.len() - start < 4 && b[start] & 0xc0 == 0x80 {
            start -= 1;
        }
        match std::str::from_utf8(&b[start..]) {
            Ok(last) if last.chars().all(char::is_whitespace) => b = &b[..start],
            _ => break,
        }
    }
    b
}

/// The escapes of a double-quoted value (after the quote scan dropped the `\` of `\"`):
/// `\a \b \t \n`… as Go's `UnquoteChar` reads them, `\$` as `$$` (so no substitution), `\0ddd`
/// octal (`\0` then anything else loses its `0`, as in compose-go); any other backslash stays.
fn expand_escapes(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] != b'\\' || i + 1 >= s.len() {
            out.push(s[i]);
            i += 1;
            continue;
        }
        let simple = match s[i + 1] {
            b'a' => Some(&b"\x07"[..]),
            b'b' => Some(&b"\x08"[..]),
            b'f' => Some(&b"\x0c"[..]),
            b'n' => Some(&b"\n"[..]),
            b'r' => Some(&b"\r"[..]),
            b't' => Some(&b"\t"[..]),
            b'v' => Some(&b"\x0b"[..]),
            b'"' => Some(&b"\""[..]),
            b'\\' => Some(&b"\\"[..]),
            b'$' => Some(&b"$$"[..]),
            _ => None,
        };
        if let Some(rep) = simple {
            out.extend_from_slice(rep);
            i += 2;
            continue;
        }
        // `\c` is matched by the pattern but is no Go escape: it stays as written.
        if s[i + 1] == b'c' {
            out.extend_from_slice(b"\\c");
            i += 2;
            continue;
        }
        if s[i + 1] == b'0' {
            let digits = s[i + 2..].iter().take(3).take_while(|b| b.is_ascii_digit()).count();
            let m = &s[i..i + 2 + digits];
            // `\0ddd` is read as Go's `\ddd`: exactly three octal digits, at most 255.
            let octal = &m[2..];
            let value = (octal.len() == 3 && octal.iter().all(|b| (b'0'..=b'7').contains(b)))
                .then(|| octal.iter().fold(0u32, |v, b| v * 8 + u32::from(b - b'0')))
                .filter(|&v| v <= 255)
                .and_then(char::from_u32);
            match value {
                Some(c) => out.extend_from_slice(c.to_string().as_bytes()),
                // Go returns the rewritten text: `\0` became `\`.
                None => {
                    out.push(b'\\');
                    out.extend_from_slice(octal);
                }
            }
            i += m.len();
            continue;
        }
        out.push(b'\\');
        i += 1;
    }
    out
}

/// Compose's `$` substitution: `$$` is `$`; `$VAR` and `${VAR}` the variable's value (empty
/// when unset); `${VAR:-x}`, `${VAR-x}`, `${VAR:+x}`, `${VAR+x}` with a plain `x`;
/// `${VAR:?x}`/`${VAR?x}` when set. Anything else after `${` is left to Compose (`Unknown`).
fn substitute(s: &[u8], lookup: &dyn Fn(&str) -> Option<Vec<u8>>) -> Value {
    let name_start = |b: u8| b == b'_' || b.is_ascii_alphabetic();
    let name_char = |b: u8| b == b'_' || b.is_ascii_alphanumeric();
    let unknown = || Value::Unknown { raw: s.to_vec() };
    let mut out = Vec::with_capacity(s.len());
    let mut refers = false;
    let mut i = 0;
    while i < s.len() {
        if s[i] != b'$' {
            out.push(s[i]);
            i += 1;
            continue;
        }
        match s.get(i + 1).copied() {
            Some(b'$') => {
                out.push(b'$');
                i += 2;
            }
            Some(b) if name_start(b) => {
                let n = s[i + 1..].iter().take_while(|&&b| name_char(b)).count();
                let name = String::from_utf8_lossy(&s[i + 1..i + 1 + n]);
                out.extend(lookup(&name).unwrap_or_default());
                refers = true;
                i += 1 + n;
            }
            Some(b'{') => {
                let body = &s[i + 2..];
                if !body.first().is_some_and(|&b| name_start(b)) {
                    return unknown();
                }
                let n = body.iter().take_while(|&&b| name_char(b)).count();
                let name = String::from_utf8_lossy(&body[..n]).into_owned();
                let Some(close) = body.iter().position(|&b| b == b'}') else {
                    return unknown();
                };
                let op = &body[n..close];
                let (op, word) = match op {
                    [] => (&b""[..], &b""[..]),
                    [b':', o @ (b'-' | b'+' | b'?'), w @ ..] => (
                        if *o == b'-' {
                            &b":-"[..]
                        } else if *o == b'+' {
                            &b":+"[..]
                        } else {
                            &b":?"[..]
                        },
                        w,
                    ),
                    [o @ (b'-' | b'+' | b'?'), w @ ..] => (
                        if *o == b'-' {
                            &b"-"[..]
                        } else if *o == b'+' {
                            &b"+"[..]
                        } else {
                            &b"?"[..]
                        },
                        w,
                    ),
                    _ => return unknown(),
                };
                if word.iter().any(|b| b"${".contains(b)) {
                    return unknown();
                }
                let value = lookup(&name);
                let set = value.is_some();
                let full = value.as_ref().is_some_and(|v| !v.is_empty());
                let got = match op {
                    b"" => value.unwrap_or_default(),
                    b":-" => {
                        if full {
                            value.unwrap_or_default()
                        } else {
                            word.to_vec()
                        }
                    }
                    b"-" => {
                        if set {
                            value.unwrap_or_default()
                        } else {
                            word.to_vec()
                        }
                    }
                    b":+" => {
                        if full {
                            word.to_vec()
                        } else {
                            Vec::new()
                        }
                    }
                    b"+" => {
                        if set {
                            word.to_vec()
                        } else {
                            Vec::new()
                        }
                    }
                    b":?" if full => value.unwrap_or_default(),
                    b"?" if set => value.unwrap_or_default(),
                    _ => return unknown(),
                };
                out.extend(got);
                refers = true;
                i += 2 + close + 1;
            }
            _ => {
                out.push(b'$');
                i += 1;
            }
        }
    }
    if refers {
        Value::Reference { resolved: out }
    } else {
        Value::Literal(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<(String, Value)> {
        let env = |k: &str| (k == "SET").then(|| "from-env".to_string());
        parse(text.as_bytes(), &env)
            .expect("parses")
            .into_iter()
            .map(|s| (s.key, s.value))
            .collect()
    }

    fn lit(v: &str) -> Value {
        Value::Literal(v.as_bytes().to_vec())
    }

    /// Each case as `docker compose config` (2.26) reads it.
    #[test]
    fn values_read_as_compose_reads_them() {
        for (line, want) in [
            (r"A=a\nb", r"a\nb"),
            (r"A=a\\b", r"a\\b"),
            (r"A=a\ b", r"a\ b"),
            (r#"A=a"b"#, r#"a"b"#),
            ("A=a'b", "a'b"),
            ("A=$$x", "$x"),
            ("A=a#b", "a#b"),
            ("A=a #b", "a"),
            ("A=a  ", "a"),
            ("A=  a", "a"),
            (r#"A="a\nb""#, "a\nb"),
            (r#"A="a\\b""#, r"a\b"),
            (r#"A="a\$b""#, "a$b"),
            (r#"A="a\"b""#, r#"a"b"#),
            (r#"A="a\'b""#, r"a\'b"),
            (r#"A="a$$b""#, "a$b"),
            (r"A='a\nb'", r"a\nb"),
            ("A='a$P0 b'", "a$P0 b"),
            (r"A='a\'b'", "a'b"),
            (r#"A="x" # c"#, "x"),
            (r#"A="a\tb""#, "a\tb"),
            (r#"A="a\\""#, r"a\"),
            (r#"A="a\qb""#, r"a\qb"),
            (r#"A="\0101""#, "A"),
            ("A=\"\"", ""),
            ("A=''", ""),
            ("A=", ""),
            ("A= # note", "# note"),
            ("export A=1", "1"),
            ("A: 1", "1"),
            ("A=cost 5$", "cost 5$"),
        ] {
            assert_eq!(read(line), [("A".to_string(), lit(want))], "{line}");
        }
    }

    #[test]
    fn references_are_told_apart_from_literals() {
        let reference = |v: &str| Value::Reference {
            resolved: v.as_bytes().to_vec(),
        };
        assert_eq!(read("A=${SET}")[0].1, reference("from-env"));
        assert_eq!(read("A=$SET/x")[0].1, reference("from-env/x"));
        assert_eq!(read("A=${UNSET}")[0].1, reference(""));
        assert_eq!(read("A=${UNSET:-dflt}")[0].1, reference("dflt"));
        assert_eq!(read("B=1\nA=\"${B}2\"")[1].1, reference("12"));
        assert_eq!(read(r"A=a\$b")[0].1, reference(r"a\"));
        assert!(matches!(read("A=${UNSET:?x}")[0].1, Value::Unknown { .. }));
        assert!(matches!(read("A=${X:-${Y}}")[0].1, Value::Unknown { .. }));
        assert_eq!(
            read("SET\n")[0].1,
            Value::Inherited {
                resolved: Some(b"from-env".to_vec())
            }
        );
    }

    #[test]
    fn statements_know_their_lines_and_spans() {
        let text = "# c\n\nA=1 # x\nexport  B=\"two\nlines\"\nC='x'\n";
        let st = parse(text.as_bytes(), &|_| None).expect("parses");
        let at: Vec<(&str, usize, &str)> = st
            .iter()
            .map(|s| (s.key.as_str(), s.line, &text[s.span.clone()]))
            .collect();
        assert_eq!(at, [("A", 3, "A=1"), ("B", 4, "B=\"two\nlines\""), ("C", 6, "C='x'")]);
    }

    #[test]
    fn compose_refuses_what_it_cannot_read() {
        for (text, line) in [
            ("A=1\nB C=2\n", 2),
            ("A=1\n\nB=\"open\nC=3\n", 3),
            ("A$=1\n", 1),
            ("A=1\n# c\nB'=1\n", 3),
            // Found by fuzz/dotenv: with a line added after it, Compose would refuse it.
            ("A=1\nB C", 2),
        ] {
            assert_eq!(parse(text.as_bytes(), &|_| None), Err(SyntaxError { line }), "{text}");
        }
    }

    #[test]
    fn bytes_that_are_not_utf8_are_kept() {
        let st = parse(b"A=a\xff\xfeb\nB=\"\xc3x\"\n", &|_| None).expect("parses");
        assert_eq!(st[0].value, Value::Literal(b"a\xff\xfeb".to_vec()));
        assert_eq!(st[1].value, Value::Literal(b"\xc3x".to_vec()));
    }
}
