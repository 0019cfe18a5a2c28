//! The `.env` reader (Docker Compose's rules) on any bytes, and the writer on what it accepts:
//! never a panic; a render keeps every line the installer does not own, and the file it
//! writes reads back with every value not ours unchanged.
#![no_main]

use std::path::{Path, PathBuf};

use libfuzzer_sys::fuzz_target;
use litellm_stack::answers::Answers;
use litellm_stack::platform::Os;
use litellm_stack::secrets::ExistingEnv;
use litellm_stack::workspace::Workspace;

fuzz_target!(|data: &[u8]| {
    let path = Path::new(".env");
    let none = |_: &str| None;
    let Ok(before) = ExistingEnv::parse_with(path, data, &none) else {
        return;
    };
    let mut a = Answers::defaults_for(Os::Linux);
    a.dir = PathBuf::from("/srv/litellm");
    // Refused (a value of ours it cannot write back): nothing is written, nothing to check.
    let Ok(ws) = Workspace::prepare_with_env(a.clone(), Os::Linux, before.clone(), &none) else {
        return;
    };
    let out = ws
        .files
        .iter()
        .find(|f| f.path == ".env")
        .expect(".env")
        .bytes()
        .to_vec();
    let after = ExistingEnv::parse_with(path, &out, &none).expect("what the installer writes reads back");
    let ours: Vec<String> = litellm_stack::answers::STACK_ENV_KEYS
        .iter()
        .map(|k| k.to_string())
        .chain(a.provider_key_vars())
        .collect();
    // Values written as they are (not `${…}`, which may name a key of ours) read the same.
    for (k, v) in &before.entries {
        let literal = before
            .statement(k)
            .is_some_and(|s| matches!(s.value, litellm_stack::secrets::dotenv::Value::Literal(_)));
        if !ours.contains(k) && literal {
            assert!(after.get(k) == Some(v), "{k} changed");
        }
    }
    for k in &ours {
        assert!(after.get(k).is_some(), "{k} is written");
    }
    // Every byte outside the statements of ours is still there, in order, where it was.
    let mut spans: Vec<_> = ours
        .iter()
        .filter_map(|k| before.statement(k))
        .map(|s| s.span.clone())
        .collect();
    spans.sort_by_key(|s| s.start);
    let mut cursor = 0;
    let mut from = 0;
    for span in spans
        .iter()
        .map(|s| (s.start, s.end))
        .chain([(before.text.0.len(), before.text.0.len())])
    {
        let chunk = &before.text.0[from..span.0];
        let at = if from == 0 {
            out.starts_with(chunk).then_some(0)
        } else {
            out[cursor..]
                .windows(chunk.len().max(1))
                .position(|w| chunk.is_empty() || w == chunk)
                .map(|p| cursor + p)
        };
        let at = at.unwrap_or_else(|| panic!("bytes {from}..{} were not kept", span.0));
        cursor = at + chunk.len();
        from = span.1;
    }
    // Rendering again changes nothing.
    let again = Workspace::prepare_with_env(a, Os::Linux, after, &none).expect("renders again");
    let out2 = again
        .files
        .iter()
        .find(|f| f.path == ".env")
        .expect(".env")
        .bytes()
        .to_vec();
    assert!(out2 == out, "a second render changed .env");
});
