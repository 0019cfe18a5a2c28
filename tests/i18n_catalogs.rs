//! Every message has the same placeholders in both languages, and every key the code uses is in
//! the catalogs (`build.rs` checks that both languages define the same keys).

use std::collections::BTreeSet;
use std::path::Path;

use litellm_stack::i18n::{Lang, load_catalog};

fn placeholders(s: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = s;
    while let Some(i) = rest.find('{') {
        rest = &rest[i + 1..];
        if let Some(j) = rest.find('}') {
            let name = &rest[..j];
            if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                out.insert(name.to_string());
            }
            rest = &rest[j + 1..];
        }
    }
    out
}

/// That both languages define the same keys, each once, `build.rs` checks on every build (the
/// crate does not compile otherwise); this checks what it does not: the placeholders match and
/// no translation is blank.
#[test]
fn both_languages_have_the_same_placeholders() {
    let en = load_catalog(Lang::En).expect("en parses");
    let zh = load_catalog(Lang::ZhTw).expect("zh-TW parses");
    let mut problems = Vec::new();
    for (k, v) in &en {
        let Some(z) = zh.get(k) else {
            problems.push(format!("{k}: missing from zh-TW (build.rs should have refused this)"));
            continue;
        };
        if placeholders(v) != placeholders(z) {
            problems.push(format!(
                "{k}: placeholders differ: en {:?}, zh-TW {:?}",
                placeholders(v),
                placeholders(z)
            ));
        }
        if z.trim().is_empty() {
            problems.push(format!("{k}: empty in zh-TW"));
        }
        if v.trim().is_empty() {
            problems.push(format!("{k}: empty in en"));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read src").flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Keys in the code that the compiler does not check yet: string literals in `Msg::new("…")`
/// (or its alias `Text::new`), `t(lang, "…")` or `tr(app, "…")`; `msg!` and `key!` reject an
/// unknown key while compiling.
#[test]
fn every_key_used_in_the_code_is_in_the_catalogs() {
    let en = load_catalog(Lang::En).expect("en parses");
    let mut files = Vec::new();
    rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    let mut missing = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read");
        // `Text` is the wizard's name for `Msg`; `tr(app, …)` its shorthand for `t`.
        let patterns = [
            "Msg::new(\"",
            "Text::new(\"",
            "t(lang, \"",
            "t(self.lang, \"",
            "t(p.lang, \"",
            "tr(app, \"",
        ];
        for pattern in patterns {
            let mut rest = text.as_str();
            while let Some(i) = rest.find(pattern) {
                rest = &rest[i + pattern.len()..];
                let Some(end) = rest.find('"') else { break };
                let key = &rest[..end];
                if !en.contains_key(key) {
                    missing.push(format!("{}: {key}", f.display()));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "keys used in code but missing from the catalogs:\n{}",
        missing.join("\n")
    );
}
