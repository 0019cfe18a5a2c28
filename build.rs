//! Checks the message catalogs in `assets/i18n/` and generates what `src/i18n.rs` compiles in:
//! the areas (one YAML file per area of the program, the same in every language), the sources
//! and the sorted list of keys that `key!`/`msg!` look keys up in at compile time.
//!
//! The build fails, naming file and key, when the languages' key sets differ or a key is
//! defined twice, so a missing translation never reaches a binary.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};

use serde::de::{Deserializer, MapAccess, Visitor};

/// The catalog folders, with the `Lang` variant each one is.
const LANGS: [(&str, &str); 2] = [("en", "En"), ("zh-TW", "ZhTw")];

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let base = manifest.join("assets").join("i18n");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=assets/i18n");
    println!("cargo:rerun-if-changed=versions.env");
    versions(&manifest.join("versions.env"), &out.join("versions.rs"));
    commit(&manifest);
    match check(&base) {
        Ok(checked) => {
            for f in &checked.files {
                println!("cargo:rerun-if-changed={}", f.display());
            }
            let code = generate(&checked);
            let target = out.join("i18n_catalogs.rs");
            if let Err(e) = std::fs::write(&target, code) {
                fail(&[format!("cannot write {}: {e}", target.display())]);
            }
        }
        Err(problems) => fail(&problems),
    }
}

/// `LST_COMMIT` for `--version`: the commit this binary is built from (the release script
/// passes it; otherwise `git rev-parse`, or `unknown` outside a checkout). No time stamp is
/// embedded, so two builds of one commit give the same bytes.
fn commit(manifest: &Path) {
    println!("cargo:rerun-if-env-changed=LST_COMMIT");
    let git = manifest.join(".git");
    if git.is_dir() {
        println!("cargo:rerun-if-changed=.git/HEAD");
        if let Ok(head) = std::fs::read_to_string(git.join("HEAD")) {
            if let Some(r) = head.trim().strip_prefix("ref: ") {
                // A missing path would rerun this script on every build: a packed ref is
                // watched through packed-refs.
                if git.join(r).is_file() {
                    println!("cargo:rerun-if-changed=.git/{r}");
                } else if git.join("packed-refs").is_file() {
                    println!("cargo:rerun-if-changed=.git/packed-refs");
                }
            }
        }
    }
    let from_env = std::env::var("LST_COMMIT").ok().filter(|c| !c.is_empty());
    let commit = from_env.unwrap_or_else(|| {
        std::process::Command::new("git")
            .args(["rev-parse", "--short=12", "HEAD"])
            .current_dir(manifest)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| "unknown".into())
    });
    println!("cargo:rustc-env=LST_COMMIT={commit}");
}

/// The pinned default images, from the repository's one versions file (`versions.env`, also
/// read by CI's image builds and checked against the README by `tests/versions.rs`).
fn versions(file: &Path, target: &Path) {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| {
        eprintln!("cannot read {}: {e}", file.display());
        std::process::exit(1)
    });
    let mut vars = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            eprintln!("{}:{}: expected NAME=value", file.display(), n + 1);
            std::process::exit(1)
        };
        vars.insert(k.trim().to_string(), v.trim().to_string());
    }
    let mut code = String::from(
        "/// Pinned defaults (generated from versions.env): never `latest` or `main-stable` (errata 20).\n",
    );
    let services = ["litellm", "postgres", "redis", "nginx", "prometheus"];
    let _ = writeln!(code, "pub const DEFAULT_IMAGES: [(&str, &str); {}] = [", services.len());
    for s in services {
        let key = format!("{}_IMAGE", s.to_uppercase());
        let Some(image) = vars.get(&key) else {
            eprintln!("{} has no {key}=", file.display());
            std::process::exit(1)
        };
        let _ = writeln!(code, "    ({s:?}, {image:?}),");
    }
    code.push_str("];\n");
    let litellm = vars.get("LITELLM_IMAGE").cloned().unwrap_or_default();
    let line = format!(
        "/// `--version`: the version, the commit and the LiteLLM image it pins.\npub const VERSION_LINE: &str = concat!(env!(\"CARGO_PKG_VERSION\"), \" (commit \", env!(\"LST_COMMIT\"), \"; pins LiteLLM \", {litellm:?}, \")\");\n"
    );
    let version_file = target.with_file_name("version_line.rs");
    if let Err(e) = std::fs::write(&version_file, line) {
        eprintln!("cannot write {}: {e}", version_file.display());
        std::process::exit(1)
    }
    if let Err(e) = std::fs::write(target, code) {
        eprintln!("cannot write {}: {e}", target.display());
        std::process::exit(1)
    }
}

fn fail(problems: &[String]) -> ! {
    eprintln!("\nThe message catalogs in assets/i18n/ are not consistent:\n");
    for p in problems {
        eprintln!("  - {p}");
    }
    eprintln!("\nEvery key must be defined once per language, in both en/ and zh-TW/.\n");
    std::process::exit(1);
}

struct Checked {
    /// Area names (file stems), sorted.
    areas: Vec<String>,
    /// Every file read, for rerun-if-changed and include_str!.
    files: Vec<PathBuf>,
    keys: BTreeSet<String>,
}

/// Reads and checks every catalog; returns every problem at once rather than the first.
fn check(base: &Path) -> Result<Checked, Vec<String>> {
    let mut problems = Vec::new();
    let mut files = Vec::new();
    // lang -> area set, lang -> key -> area defining it
    let mut areas: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut keys: BTreeMap<&str, BTreeMap<String, String>> = BTreeMap::new();
    for (lang, _) in LANGS {
        let dir = base.join(lang);
        let lang_areas = areas.entry(lang).or_default();
        let lang_keys = keys.entry(lang).or_default();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                problems.push(format!("cannot read {}: {e}", dir.display()));
                continue;
            }
        };
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            if path.extension().is_none_or(|x| x != "yaml") {
                continue;
            }
            let area = path.file_stem().unwrap_or_default().to_string_lossy().into_owned();
            let shown = format!("assets/i18n/{lang}/{area}.yaml");
            lang_areas.insert(area.clone());
            files.push(path.clone());
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) => {
                    problems.push(format!("cannot read {shown}: {e}"));
                    continue;
                }
            };
            let entries = match parse(&text) {
                Ok(entries) => entries,
                Err(e) => {
                    problems.push(format!("{shown} is not a YAML map of key: \"text\": {e}"));
                    continue;
                }
            };
            for (key, _) in entries {
                if let Some(first) = lang_keys.get(&key) {
                    let first = format!("assets/i18n/{lang}/{first}.yaml");
                    problems.push(if first == shown {
                        format!("key {key} is defined twice in {shown}")
                    } else {
                        format!("key {key} is defined twice in {lang}: in {first} and in {shown}")
                    });
                } else {
                    lang_keys.insert(key, area.clone());
                }
            }
        }
    }

    let (en, zh) = (LANGS[0].0, LANGS[1].0);
    for (a, b) in [(en, zh), (zh, en)] {
        for area in areas[a].difference(&areas[b]) {
            problems.push(format!(
                "assets/i18n/{a}/{area}.yaml has no twin assets/i18n/{b}/{area}.yaml"
            ));
        }
        for (key, area) in &keys[a] {
            if !keys[b].contains_key(key) {
                problems.push(format!(
                    "key {key} (assets/i18n/{a}/{area}.yaml) is missing from assets/i18n/{b}/"
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(Checked {
            areas: areas[en].iter().cloned().collect(),
            files,
            keys: keys[en].keys().cloned().collect(),
        })
    } else {
        Err(problems)
    }
}

/// The entries of one catalog file in file order, duplicates kept (a map would hide them).
fn parse(text: &str) -> Result<Vec<(String, String)>, serde_norway::Error> {
    struct Entries;
    impl<'de> Visitor<'de> for Entries {
        type Value = Vec<(String, String)>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a map of message keys to texts")
        }
        // An empty file (or one holding only comments) defines no key.
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(entry) = map.next_entry::<String, String>()? {
                out.push(entry);
            }
            Ok(out)
        }
    }
    serde_norway::Deserializer::from_str(text).deserialize_any(Entries)
}

fn generate(c: &Checked) -> String {
    let mut s = String::from("// Generated by build.rs from assets/i18n/; do not edit.\n\n");
    let _ = writeln!(
        s,
        "/// The catalog files, one per area of the program, so each area's texts stay together."
    );
    let _ = writeln!(s, "pub const AREAS: [&str; {}] = {:?};\n", c.areas.len(), c.areas);
    let _ = writeln!(
        s,
        "const SOURCES: [(Lang, &str, &str); {}] = [",
        c.areas.len() * LANGS.len()
    );
    for (lang, variant) in LANGS {
        for area in &c.areas {
            let path = c
                .files
                .iter()
                .find(|f| f.ends_with(Path::new(lang).join(format!("{area}.yaml"))))
                .map(|f| f.display().to_string())
                .unwrap_or_default();
            let _ = writeln!(s, "    (Lang::{variant}, {area:?}, include_str!({path:?})),");
        }
    }
    s.push_str("];\n\n");
    let _ = writeln!(
        s,
        "/// Every catalog key, sorted by bytes (the order `Key::find` searches in)."
    );
    let _ = writeln!(s, "const KEYS: [&str; {}] = [", c.keys.len());
    for k in &c.keys {
        let _ = writeln!(s, "    {k:?},");
    }
    s.push_str("];\n");
    s
}
