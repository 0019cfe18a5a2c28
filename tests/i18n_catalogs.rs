//! Every message exists in both languages, with the same placeholders, and every key the code
//! uses is in the catalogs.

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

#[test]
fn both_languages_have_the_same_keys_and_placeholders() {
    let en = load_catalog(Lang::En).expect("en parses");
    let zh = load_catalog(Lang::ZhTw).expect("zh-TW parses");
    let missing_zh: Vec<_> = en.keys().filter(|k| !zh.contains_key(*k)).collect();
    let missing_en: Vec<_> = zh.keys().filter(|k| !en.contains_key(*k)).collect();
    assert!(missing_zh.is_empty(), "missing from zh-TW: {missing_zh:?}");
    assert!(missing_en.is_empty(), "missing from en: {missing_en:?}");
    for (k, v) in &en {
        assert_eq!(placeholders(v), placeholders(&zh[k]), "placeholders differ for {k}");
        assert!(!zh[k].trim().is_empty(), "{k} is empty in zh-TW");
    }
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

/// Keys in the code: string literals that look like catalog keys (`area.name`) and appear as
/// `Msg::new("…")` or `t(lang, "…")`.
#[test]
fn every_key_used_in_the_code_is_in_the_catalogs() {
    let en = load_catalog(Lang::En).expect("en parses");
    let mut files = Vec::new();
    rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    let mut missing = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read");
        for pattern in ["Msg::new(\"", "t(lang, \"", "t(self.lang, \"", "t(p.lang, \""] {
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
