//! The layering of `src/`, as written in the import table of `docs/architecture.md`, holds for
//! every `crate::…` path in the code; and no source file grows past 600 lines.
//!
//! The scanner is a small Rust lexer rather than a `syn` parse on purpose: paths inside macro
//! invocations (`matches!`, `tokio::select!`, `format!` arguments) are plain tokens to `syn`,
//! and an import hidden there is still an import.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const TABLE_FILE: &str = "docs/architecture.md";
const MAX_LINES: usize = 600;

// ---------------------------------------------------------------------------------------------
// The import table

/// What a module may name: a list of modules, or anything (the crate root files).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Allowed {
    /// In table order, as the failure message shows them.
    Only(Vec<String>),
    Anything,
}

/// The rows of the markdown table whose header is `| module | may import |`, in table order.
fn parse_table(markdown: &str) -> Result<Vec<(String, Allowed)>, String> {
    let mut lines = markdown.lines().enumerate();
    let header_at = lines
        .by_ref()
        .find(|(_, l)| {
            let cells = cells(l);
            cells.len() == 2 && cells[0] == "module" && cells[1] == "may import"
        })
        .map(|(n, _)| n + 1)
        .ok_or("no table with the header `| module | may import |`")?;
    let mut rows = Vec::new();
    for (n, line) in lines {
        if !line.trim_start().starts_with('|') {
            break;
        }
        let cells = cells(line);
        if cells.iter().all(|c| c.chars().all(|ch| ch == '-' || ch == ':')) {
            continue; // the |---|---| separator
        }
        let [modules, imports] = cells.as_slice() else {
            return Err(format!("line {}: a row needs exactly two cells: {line}", n + 1));
        };
        let allowed = if names(imports) == ["anything"] {
            Allowed::Anything
        } else {
            Allowed::Only(names(imports))
        };
        for m in names(modules) {
            rows.push((m, allowed.clone()));
        }
    }
    if rows.is_empty() {
        return Err(format!("the table under line {header_at} has no rows"));
    }
    Ok(rows)
}

fn cells(line: &str) -> Vec<String> {
    let t = line.trim();
    if !t.starts_with('|') {
        return Vec::new();
    }
    let t = t.trim_start_matches('|').trim_end_matches('|');
    t.split('|').map(|c| c.trim().to_string()).collect()
}

/// `` `a`, `b` (a remark) `` → `["a", "b"]`: parenthesized remarks are prose.
fn names(cell: &str) -> Vec<String> {
    let mut plain = String::new();
    let mut depth = 0usize;
    for c in cell.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            '`' => {}
            _ if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    plain
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Files and their modules

/// The top-level module a file of `src/` belongs to, and how many module levels deep its code
/// sits (for `super::`); `None` for the crate root files, which may name anything.
fn module_of(rel: &Path) -> Option<(String, usize)> {
    let parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    match parts.as_slice() {
        [] => None,
        [only] if only == "lib.rs" || only == "main.rs" => None,
        [first, ..] if first == "bin" => None,
        [first, rest @ ..] => {
            let module = first.strip_suffix(".rs").unwrap_or(first).to_string();
            let depth = if rest.last().is_some_and(|l| l == "mod.rs") {
                parts.len() - 1
            } else {
                parts.len()
            };
            Some((module, depth))
        }
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The folder a file's `mod name;` declarations live in.
fn child_dir(file: &Path) -> PathBuf {
    let parent = file.parent().unwrap_or(Path::new(""));
    match file.file_name().and_then(|n| n.to_str()) {
        Some("mod.rs" | "lib.rs" | "main.rs") => parent.to_path_buf(),
        _ => parent.join(file.file_stem().unwrap_or_default()),
    }
}

// ---------------------------------------------------------------------------------------------
// The scanner

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    /// `::`
    PathSep,
    Punct(char),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: usize,
}

/// Rust source as identifiers, `::` and punctuation, with comments, string, char and number
/// literals and lifetimes dropped (none of them can hold a path the compiler follows).
fn lex(src: &str) -> Vec<Token> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1;
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    // Skips a "…" string starting at the opening quote, returning the index after it.
    let skip_string = |mut i: usize, line: &mut usize| {
        i += 1;
        while i < chars.len() {
            match chars[i] {
                '\\' => {
                    if chars.get(i + 1) == Some(&'\n') {
                        *line += 1;
                    }
                    i += 2;
                    continue;
                }
                '"' => return i + 1,
                '\n' => *line += 1,
                _ => {}
            }
            i += 1;
        }
        i
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\n' => {
                line += 1;
                i += 1;
            }
            c if c.is_whitespace() => i += 1,
            '/' if at(i + 1) == '/' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if at(i + 1) == '*' => {
                let mut depth = 0;
                while i < chars.len() {
                    if chars[i] == '/' && at(i + 1) == '*' {
                        depth += 1;
                        i += 2;
                    } else if chars[i] == '*' && at(i + 1) == '/' {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        if chars[i] == '\n' {
                            line += 1;
                        }
                        i += 1;
                    }
                }
            }
            '"' => i = skip_string(i, &mut line),
            '\'' => {
                // 'x', '\n', '\u{1F600}' are chars; 'a (no closing quote after one char) is a
                // lifetime or label.
                if at(i + 1) == '\\' {
                    i += 2;
                    while i < chars.len() && chars[i] != '\'' {
                        i += 1;
                    }
                    i += 1;
                } else if at(i + 2) == '\'' {
                    i += 3;
                } else {
                    i += 1;
                    while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                        i += 1;
                    }
                }
            }
            c if c.is_ascii_digit() => {
                while i < chars.len()
                    && (chars[i].is_alphanumeric()
                        || chars[i] == '_'
                        || (chars[i] == '.' && at(i + 1).is_ascii_digit()))
                {
                    i += 1;
                }
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let raw_prefix = matches!(word.as_str(), "r" | "br" | "cr");
                if raw_prefix && (at(i) == '"' || (at(i) == '#' && (at(i + 1) == '"' || at(i + 1) == '#'))) {
                    // r#"…"#: ends at a quote followed by as many #s as it opened with.
                    let mut hashes = 0;
                    while at(i) == '#' {
                        hashes += 1;
                        i += 1;
                    }
                    i += 1; // the opening quote
                    while i < chars.len() {
                        if chars[i] == '"' && (1..=hashes).all(|h| at(i + h) == '#') {
                            i += 1 + hashes;
                            break;
                        }
                        if chars[i] == '\n' {
                            line += 1;
                        }
                        i += 1;
                    }
                } else if matches!(word.as_str(), "b" | "c") && at(i) == '"' {
                    i = skip_string(i, &mut line);
                } else if word == "b" && at(i) == '\'' {
                    i += 1;
                    if at(i) == '\\' {
                        i += 1;
                    }
                    i += 1;
                    while i < chars.len() && chars[i] != '\'' {
                        i += 1;
                    }
                    i += 1;
                } else if word == "r" && at(i) == '#' {
                    // r#ident: a raw identifier.
                    i += 1;
                    let start = i;
                    while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                        i += 1;
                    }
                    out.push(Token {
                        tok: Tok::Ident(chars[start..i].iter().collect()),
                        line,
                    });
                } else {
                    out.push(Token {
                        tok: Tok::Ident(word),
                        line,
                    });
                }
            }
            ':' if at(i + 1) == ':' => {
                out.push(Token {
                    tok: Tok::PathSep,
                    line,
                });
                i += 2;
            }
            c => {
                out.push(Token {
                    tok: Tok::Punct(c),
                    line,
                });
                i += 1;
            }
        }
    }
    out
}

/// A path naming a top-level module of the crate.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ref {
    line: usize,
    /// The module named (`*` for a glob of the crate root).
    module: String,
}

#[derive(Debug, Default)]
struct Scan {
    refs: Vec<Ref>,
    /// `#[cfg(test)] mod name;`: files that are test code wherever they are.
    test_mods: Vec<String>,
    /// `#[macro_export] macro_rules! name`: macros at the crate root (`crate::name`) that
    /// belong to the module defining them.
    macro_exports: Vec<String>,
    /// Every `name!(…)` invoked without a path: a use of the module exporting `name`, if any
    /// (`#[macro_use]` makes exported macros callable without an import).
    bang_calls: Vec<Ref>,
}

fn is_ident(t: Option<&Token>, word: &str) -> bool {
    matches!(t, Some(Token { tok: Tok::Ident(w), .. }) if w == word)
}

fn is_punct(t: Option<&Token>, c: char) -> bool {
    matches!(t, Some(Token { tok: Tok::Punct(p), .. }) if *p == c)
}

/// The index after the group opened at `open` (`(`, `[` or `{`), matching brackets of any kind.
fn skip_group(toks: &[Token], open: usize) -> usize {
    let mut depth = 0i32;
    let mut i = open;
    while i < toks.len() {
        match toks[i].tok {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    i
}

/// Whether the predicate starting at `i` (inside `cfg(…)`) only holds when compiling tests:
/// `test`, `all(…, test, …)`, `any(a, b)` when both are. Returns that and the index after it.
fn cfg_implies_test(toks: &[Token], i: usize) -> (bool, usize) {
    let Some(Token {
        tok: Tok::Ident(word), ..
    }) = toks.get(i)
    else {
        return (false, i + 1);
    };
    if is_punct(toks.get(i + 1), '(') {
        let end = skip_group(toks, i + 1);
        let mut parts = Vec::new();
        let mut j = i + 2;
        while j < end - 1 {
            let (implies, next) = cfg_implies_test(toks, j);
            parts.push(implies);
            j = next;
            // Skip `= "value"` (the string is already gone) up to the next comma.
            while j < end - 1 && !is_punct(toks.get(j), ',') {
                j += 1;
            }
            j += 1;
        }
        let implies = match word.as_str() {
            "all" => parts.iter().any(|p| *p),
            "any" => !parts.is_empty() && parts.iter().all(|p| *p),
            _ => false, // not(…) and anything else
        };
        (implies, end)
    } else {
        (word == "test", i + 1)
    }
}

/// Whether the attribute `#[…]` whose `[` is at `open` is a `cfg` that implies `test`.
fn attr_is_test_only(toks: &[Token], open: usize) -> bool {
    is_ident(toks.get(open + 1), "cfg") && is_punct(toks.get(open + 2), '(') && cfg_implies_test(toks, open + 3).0
}

/// The index after the item starting at `i`: its `;` or the close of its first `{…}`.
fn skip_item(toks: &[Token], mut i: usize) -> usize {
    while i < toks.len() {
        match toks[i].tok {
            Tok::Punct(';') => return i + 1,
            Tok::Punct('{') => return skip_group(toks, i),
            Tok::Punct('(' | '[') => i = skip_group(toks, i),
            _ => i += 1,
        }
    }
    i
}

/// Every `crate::module` (and `$crate::`, `crate::{a, b}`, `super::` climbing out to the crate
/// root) outside `#[cfg(test)]` code in one file whose code sits `depth` modules deep.
fn scan(src: &str, depth: usize) -> Scan {
    let toks = lex(src);
    let mut scan = Scan::default();
    // Brace depths at which inline `mod name {` blocks were opened: each adds one `super` level.
    let mut inline_mods: Vec<i32> = Vec::new();
    let mut braces = 0i32;
    let mut i = 0;
    while i < toks.len() {
        // Attributes: a test-only one hides the item it is on (or, inner, the whole file).
        if is_punct(toks.get(i), '#') {
            let inner = is_punct(toks.get(i + 1), '!');
            let open = if inner { i + 2 } else { i + 1 };
            if is_punct(toks.get(open), '[') {
                let test_only = attr_is_test_only(&toks, open);
                let mut next = skip_group(&toks, open);
                if test_only && inner {
                    return Scan::default();
                }
                if is_ident(toks.get(open + 1), "macro_export") {
                    let mut j = next;
                    while is_punct(toks.get(j), '#') && is_punct(toks.get(j + 1), '[') {
                        j = skip_group(&toks, j + 1);
                    }
                    if is_ident(toks.get(j), "macro_rules") && is_punct(toks.get(j + 1), '!') {
                        if let Some(Token {
                            tok: Tok::Ident(name), ..
                        }) = toks.get(j + 2)
                        {
                            scan.macro_exports.push(name.clone());
                        }
                    }
                }
                if test_only {
                    // Further attributes belong to the same item.
                    while is_punct(toks.get(next), '#') && is_punct(toks.get(next + 1), '[') {
                        next = skip_group(&toks, next + 1);
                    }
                    let item_start = next;
                    let end = skip_item(&toks, next);
                    let words: Vec<&Token> = toks[item_start..end].iter().collect();
                    if let Some(p) = words.iter().position(|t| is_ident(Some(t), "mod")) {
                        if let (
                            Some(Token {
                                tok: Tok::Ident(name), ..
                            }),
                            true,
                        ) = (words.get(p + 1), is_punct(words.get(p + 2).copied(), ';'))
                        {
                            scan.test_mods.push(name.clone());
                        }
                    }
                    i = end;
                } else {
                    i = next;
                }
                continue;
            }
        }
        let t = &toks[i];
        match &t.tok {
            Tok::Punct('{') => braces += 1,
            Tok::Punct('}') => {
                braces -= 1;
                if inline_mods.last() == Some(&braces) {
                    inline_mods.pop();
                }
            }
            Tok::Ident(w)
                if w == "mod"
                    && matches!(toks.get(i + 1), Some(Token { tok: Tok::Ident(_), .. }))
                    && is_punct(toks.get(i + 2), '{') =>
            {
                inline_mods.push(braces);
            }
            Tok::Ident(w)
                if w != "macro_rules"
                    && is_punct(toks.get(i + 1), '!')
                    && !matches!(toks.get(i.wrapping_sub(1)).map(|t| &t.tok), Some(Tok::PathSep)) =>
            {
                scan.bang_calls.push(Ref {
                    line: t.line,
                    module: w.clone(),
                });
            }
            Tok::Ident(w) if w == "crate" && toks.get(i + 1).map(|t| &t.tok) == Some(&Tok::PathSep) => {
                i = record_after_root(&toks, i + 2, &mut scan.refs);
                continue;
            }
            Tok::Ident(w)
                if w == "super" && !matches!(toks.get(i.wrapping_sub(1)).map(|t| &t.tok), Some(Tok::PathSep)) =>
            {
                // super::super::…: once the chain climbs out of the file's top module, the
                // next segment is a top-level module.
                let mut j = i;
                let mut levels = 0;
                while is_ident(toks.get(j), "super") && toks.get(j + 1).map(|t| &t.tok) == Some(&Tok::PathSep) {
                    levels += 1;
                    j += 2;
                }
                if levels > 0 && levels >= depth + inline_mods.len() {
                    i = record_after_root(&toks, j, &mut scan.refs);
                    continue;
                }
                i = j.max(i + 1);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    scan
}

/// Records the module(s) named right after `crate::` (at `i`); returns the index to go on at.
fn record_after_root(toks: &[Token], i: usize, refs: &mut Vec<Ref>) -> usize {
    match toks.get(i) {
        Some(Token {
            tok: Tok::Ident(m),
            line,
        }) => {
            refs.push(Ref {
                line: *line,
                module: m.clone(),
            });
            i + 1
        }
        Some(Token {
            tok: Tok::Punct('*'),
            line,
        }) => {
            refs.push(Ref {
                line: *line,
                module: "*".into(),
            });
            i + 1
        }
        Some(Token {
            tok: Tok::Punct('{'), ..
        }) => {
            // crate::{a::B, c, d::{e, f}}: the first segment of each top-level entry.
            let end = skip_group(toks, i);
            let mut j = i + 1;
            let mut expect_first = true;
            let mut depth = 0;
            while j < end - 1 {
                match &toks[j].tok {
                    Tok::Punct('{' | '(' | '[') => depth += 1,
                    Tok::Punct('}' | ')' | ']') => depth -= 1,
                    Tok::Punct(',') if depth == 0 => {
                        expect_first = true;
                        j += 1;
                        continue;
                    }
                    Tok::Ident(m) if expect_first && depth == 0 && m != "self" => {
                        refs.push(Ref {
                            line: toks[j].line,
                            module: m.clone(),
                        });
                    }
                    Tok::Punct('*') if expect_first && depth == 0 => {
                        refs.push(Ref {
                            line: toks[j].line,
                            module: "*".into(),
                        });
                    }
                    _ => {}
                }
                expect_first = false;
                j += 1;
            }
            end
        }
        _ => i,
    }
}

// ---------------------------------------------------------------------------------------------
// The tests on the tree

fn table() -> Vec<(String, Allowed)> {
    let path = root().join(TABLE_FILE);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    parse_table(&text).unwrap_or_else(|e| panic!("{TABLE_FILE}: {e}"))
}

fn rel(p: &Path) -> String {
    p.strip_prefix(root()).unwrap_or(p).display().to_string()
}

#[test]
fn imports_point_down_the_layers_of_docs_architecture_md() {
    let rules_in_order = table();
    let rules: BTreeMap<String, Allowed> = rules_in_order.iter().cloned().collect();
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);

    let mut scans = Vec::new();
    let mut test_files: BTreeSet<PathBuf> = BTreeSet::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("read {}: {e}", f.display()));
        let depth = module_of(f.strip_prefix(&src).expect("under src")).map_or(0, |(_, d)| d);
        let s = scan(&text, depth);
        for m in &s.test_mods {
            let dir = child_dir(f);
            test_files.insert(dir.join(format!("{m}.rs")));
            test_files.insert(dir.join(m));
        }
        scans.push((f.clone(), s));
    }

    // crate::msg is the module that exports `msg`, not a module named msg.
    let mut macros: BTreeMap<String, String> = BTreeMap::new();
    for (f, s) in &scans {
        if let Some((module, _)) = module_of(f.strip_prefix(&src).expect("under src")) {
            for m in &s.macro_exports {
                macros.insert(m.clone(), module.clone());
            }
        }
    }
    let resolve = |r: &Ref| Ref {
        line: r.line,
        module: macros.get(&r.module).unwrap_or(&r.module).clone(),
    };

    let mut missing: BTreeMap<String, String> = BTreeMap::new();
    // Per offending module, in table order: its rule, then every line that breaks it.
    let mut broken: Vec<(String, &Vec<String>, Vec<String>)> = Vec::new();
    let mut count = 0;
    for (f, s) in &scans {
        if test_files.iter().any(|t| f.starts_with(t)) {
            continue;
        }
        let Some((module, _)) = module_of(f.strip_prefix(&src).expect("under src")) else {
            continue;
        };
        let allowed = match rules.get(&module) {
            Some(Allowed::Anything) => continue,
            Some(Allowed::Only(list)) => list,
            None => {
                missing.entry(module).or_insert_with(|| rel(f));
                continue;
            }
        };
        let mut seen = BTreeSet::new();
        let calls = s.bang_calls.iter().filter(|c| macros.contains_key(&c.module));
        for r in s.refs.iter().chain(calls).map(resolve) {
            if r.module == module || allowed.contains(&r.module) || !seen.insert((r.line, r.module.clone())) {
                continue;
            }
            let at = match broken.iter().position(|(m, _, _)| *m == module) {
                Some(at) => at,
                None => {
                    broken.push((module.clone(), allowed, Vec::new()));
                    broken.len() - 1
                }
            };
            broken[at]
                .2
                .push(format!("    {}:{}: {module} → {}", rel(f), r.line, r.module));
            count += 1;
        }
    }
    let order: Vec<&String> = rules_in_order.iter().map(|(m, _)| m).collect();
    broken.sort_by_key(|(m, _, _)| order.iter().position(|o| *o == m));

    let mut report = String::new();
    if !missing.is_empty() {
        let _ = writeln!(
            report,
            "{} module(s) of src/ missing from the import table of {TABLE_FILE} (add a row, or fold the module into one that has one):",
            missing.len()
        );
        for (m, f) in &missing {
            let _ = writeln!(report, "  {m} (e.g. {f})");
        }
    }
    if count > 0 {
        let _ = writeln!(
            report,
            "{count} import(s) outside #[cfg(test)] break the layering in {TABLE_FILE} (## Imports):"
        );
        for (module, allowed, lines) in &broken {
            let rule = if allowed.is_empty() {
                "is a leaf: it may name no other module".to_string()
            } else {
                format!("may import only {}", allowed.join(", "))
            };
            let _ = writeln!(report, "  {module} {rule}; yet:");
            for l in lines {
                let _ = writeln!(report, "{l}");
            }
        }
    }
    assert!(report.is_empty(), "\n{report}");
}

#[test]
fn no_source_file_is_over_600_lines() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let mut long: Vec<(usize, String)> = files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("read {}: {e}", f.display()));
            (text.lines().count(), rel(f))
        })
        .filter(|(n, _)| *n > MAX_LINES)
        .collect();
    long.sort_by(|a, b| b.cmp(a));
    let list: Vec<String> = long.iter().map(|(n, f)| format!("  {f}: {n} lines")).collect();
    assert!(
        long.is_empty(),
        "\n{} file(s) in src/ over {MAX_LINES} lines (split them by idea):\n{}\n",
        long.len(),
        list.join("\n")
    );
}

/// Every module a row allows is itself a row, and the rows form layers (no cycle), so the
/// table cannot allow what it never describes.
#[test]
fn the_import_table_names_only_its_rows_and_has_no_cycle() {
    let rows = table();
    let names: BTreeSet<&String> = rows.iter().map(|(m, _)| m).collect();
    let mut problems = Vec::new();
    let mut graph: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (m, allowed) in &rows {
        if let Allowed::Only(set) = allowed {
            for dep in set {
                if !names.contains(dep) {
                    problems.push(format!("{m} may import {dep}, which has no row"));
                }
                if dep == m {
                    problems.push(format!("{m} lists itself"));
                }
            }
            graph.insert(m, set.iter().map(String::as_str).collect());
        }
    }
    // Depth-first search for a cycle; reports the first one found.
    fn visit<'a>(
        n: &'a str,
        graph: &BTreeMap<&'a str, Vec<&'a str>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<String> {
        if let Some(p) = path.iter().position(|x| *x == n) {
            let mut cycle = path[p..].to_vec();
            cycle.push(n);
            return Some(cycle.join(" → "));
        }
        if !done.insert(n) {
            return None;
        }
        path.push(n);
        for d in graph.get(n).into_iter().flatten() {
            if let Some(c) = visit(d, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for n in graph.keys() {
        if let Some(c) = visit(n, &graph, &mut Vec::new(), &mut done) {
            problems.push(format!("cycle: {c}"));
            break;
        }
    }
    assert!(problems.is_empty(), "{TABLE_FILE}: {problems:#?}");
}

// ---------------------------------------------------------------------------------------------
// The scanner's own tests: if it read nothing, the layering test would pass on any tree.

fn modules(src: &str) -> Vec<String> {
    scan(src, 1).refs.into_iter().map(|r| r.module).collect()
}

#[test]
fn scanner_finds_use_and_inline_paths() {
    assert_eq!(modules("use crate::steps::Event;"), ["steps"]);
    assert_eq!(modules("fn f() { crate::cli::parse_duration(x); }"), ["cli"]);
    assert_eq!(
        modules("let e: crate::steps::Event = crate::render::env::DotEnv::new();"),
        ["steps", "render"]
    );
    assert_eq!(modules("pub use crate::engine as e;"), ["engine"]);
    assert_eq!(modules("use crate::*;"), ["*"]);
}

#[test]
fn scanner_reads_every_entry_of_a_grouped_use() {
    let src = "use crate::{\n    cli::Cli,\n    steps::{Event, Plan},\n    self,\n    render,\n};";
    let scan = scan(src, 1);
    let found: Vec<(usize, &str)> = scan.refs.iter().map(|r| (r.line, r.module.as_str())).collect();
    assert_eq!(found, [(2, "cli"), (3, "steps"), (5, "render")]);
}

#[test]
fn scanner_ignores_comments_and_doc_comments() {
    let src = "// use crate::steps;\n/// See crate::cli::Cli.\n//! crate::engine\n\
               /* crate::health /* nested crate::tui */ still crate::render */\nuse crate::i18n::Msg;";
    assert_eq!(modules(src), ["i18n"]);
}

#[test]
fn scanner_ignores_string_and_char_literals() {
    let src = r###"
        let a = "crate::steps";
        let b = "escaped \" crate::cli";
        let c = r#"raw " crate::engine"#;
        let d = b"crate::health";
        let q = '"'; let e = crate::render::x();
        let l: &'static str = crate::secrets::X;
        let r#type = 1;
    "###;
    assert_eq!(modules(src), ["render", "secrets"]);
}

#[test]
fn scanner_skips_cfg_test_code() {
    let src = "use crate::i18n::Msg;\n\
               #[cfg(test)]\nmod tests {\n    use crate::steps::Event;\n    fn f() { crate::engine::x(); }\n}\n\
               #[cfg(test)]\nuse crate::cli::Cli;\n\
               #[cfg(all(test, unix))]\n#[allow(dead_code)]\nfn helper() { crate::tui::x(); }\n\
               fn g() { crate::error::Error::new(); }\n";
    assert_eq!(modules(src), ["i18n", "error"]);
}

#[test]
fn scanner_keeps_code_that_is_not_only_for_tests() {
    let src = "#[cfg(not(test))]\nuse crate::steps::A;\n#[cfg(any(test, feature = \"x\"))]\nuse crate::cli::B;\n\
               #[cfg(unix)]\nfn f() { crate::engine::x(); }";
    assert_eq!(modules(src), ["steps", "cli", "engine"]);
}

#[test]
fn scanner_notes_out_of_line_test_modules_and_test_only_files() {
    assert_eq!(
        scan("#[cfg(test)]\nmod tests;\nuse crate::cli::A;", 1).test_mods,
        ["tests"]
    );
    assert!(scan("#![cfg(test)]\nuse crate::steps::A;", 1).refs.is_empty());
}

#[test]
fn scanner_ignores_visibility_and_follows_macro_crate_paths() {
    assert_eq!(
        modules("pub(crate) fn f() {} pub(in crate::steps) struct S;"),
        ["steps"]
    );
    assert_eq!(
        modules("macro_rules! m { () => { $crate::report::print() } }"),
        ["report"]
    );
    assert_eq!(modules("matches!(e, crate::steps::Event::Done)"), ["steps"]);
}

#[test]
fn scanner_follows_super_out_of_the_top_module() {
    // src/engine/pull.rs sits two levels deep: one super is engine, two is the crate root.
    assert!(scan("use super::docker::X;", 2).refs.is_empty());
    let two: Vec<String> = scan("use super::super::steps::Event;", 2)
        .refs
        .into_iter()
        .map(|r| r.module)
        .collect();
    assert_eq!(two, ["steps"]);
    // src/engine/mod.rs: one level; an inline `mod inner {}` adds one.
    assert_eq!(modules("use super::cli::X;"), ["cli"]);
    assert!(modules("mod inner { use super::docker::X; }").is_empty());
}

#[test]
fn scanner_notes_exported_macros_and_their_calls() {
    let s = scan(
        "#[macro_export]\n#[doc(hidden)]\nmacro_rules! msg { () => {} }\nmacro_rules! local { () => {} }",
        1,
    );
    assert_eq!(s.macro_exports, ["msg"]);
    let calls: Vec<String> = scan("let m = msg!(\"a.b\"); x::y!(); format!(\"{}\", 1);", 1)
        .bang_calls
        .into_iter()
        .map(|r| r.module)
        .collect();
    assert_eq!(calls, ["msg", "format"]);
}

#[test]
fn files_map_to_their_top_level_module() {
    let m = |p: &str| module_of(Path::new(p));
    assert_eq!(m("engine/docker.rs"), Some(("engine".into(), 2)));
    assert_eq!(m("steps.rs"), Some(("steps".into(), 1)));
    assert_eq!(m("steps/mod.rs"), Some(("steps".into(), 1)));
    assert_eq!(m("tui/view/models.rs"), Some(("tui".into(), 3)));
    assert_eq!(m("lib.rs"), None);
    assert_eq!(m("main.rs"), None);
}

#[test]
fn table_parser_reads_names_remarks_and_anything() {
    let md = "text\n\n| module | may import |\n|---|---|\n| `platform` | (nothing: a leaf) |\n\
              | `i18n` | `platform` |\n| `steps` | `engine`, `i18n` |\n| `lib.rs`, `main.rs` | anything |\n\nafter";
    let rows = parse_table(md).expect("parses");
    let set = |v: &[&str]| Allowed::Only(v.iter().map(|s| s.to_string()).collect());
    assert_eq!(
        rows,
        [
            ("platform".to_string(), set(&[])),
            ("i18n".to_string(), set(&["platform"])),
            ("steps".to_string(), set(&["engine", "i18n"])),
            ("lib.rs".to_string(), Allowed::Anything),
            ("main.rs".to_string(), Allowed::Anything),
        ]
    );
    assert!(parse_table("no table here").is_err());
}
