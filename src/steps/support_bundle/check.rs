//! `support-bundle --check FILE`: an existing bundle read again, every member decompressed
//! (the archive's gzip, and a member that is itself gzip), and scanned for what `scan` finds.
//! What is found is named by member and kind, never by value.

use std::io::Read;
use std::path::Path;

use flate2::read::GzDecoder;

use super::scan::{Kind, Redactor};
use crate::error::{Error, Result};

/// The member every bundle has (older bundles have no redaction list).
const MARKERS: [&str; 2] = ["doctor.json", super::REDACTIONS];

/// One member of a bundle that holds a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub member: String,
    pub kind: Kind,
    pub count: usize,
}

#[derive(Debug, Clone, Default)]
pub struct Checked {
    /// The members read.
    pub members: usize,
    pub found: Vec<Found>,
}

fn not_a_bundle(file: &Path, detail: Option<String>) -> Error {
    let e = Error::input(msg!("day2.check.not_bundle").arg("file", file.display()))
        .hint(msg!("day2.check.not_bundle.hint"));
    match detail {
        Some(d) => e.detail(d),
        None => e,
    }
}

/// The text of a member: gunzipped when it is gzip itself.
fn text_of(bytes: Vec<u8>) -> String {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut inner = Vec::new();
        if GzDecoder::new(bytes.as_slice()).read_to_end(&mut inner).is_ok() {
            return String::from_utf8_lossy(&inner).into_owned();
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Reads every member of the bundle `file` and scans it. Exit 2 for what is not a bundle
/// (not gzip, not tar, damaged, or without a doctor's report).
pub fn check(file: &Path, redactor: &Redactor) -> Result<Checked> {
    let f = std::fs::File::open(file).map_err(|e| not_a_bundle(file, Some(e.to_string())))?;
    let mut archive = tar::Archive::new(GzDecoder::new(std::io::BufReader::new(f)));
    let mut checked = Checked::default();
    let mut marked = false;
    let entries = archive.entries().map_err(|e| not_a_bundle(file, Some(e.to_string())))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| not_a_bundle(file, Some(e.to_string())))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry
            .path()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        // Members are `<top>/<path>`; the name shown is the path inside the bundle.
        let member = path.split_once('/').map_or(path.as_str(), |(_, rest)| rest).to_string();
        marked |= MARKERS.contains(&member.as_str());
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| not_a_bundle(file, Some(format!("{member}: {e}"))))?;
        checked.members += 1;
        let text = format!("{member}\n{}", text_of(bytes));
        for (kind, count) in redactor.scan(&text) {
            checked.found.push(Found {
                member: member.clone(),
                kind,
                count,
            });
        }
    }
    if !marked {
        return Err(not_a_bundle(file, None));
    }
    Ok(checked)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(bytes).expect("gzip");
        e.finish().expect("gzip")
    }

    fn bundle(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (path, data) in members {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o600);
            b.append_data(&mut h, format!("b/{path}"), *data).expect("append");
        }
        gz(&b.into_inner().expect("tar"))
    }

    #[test]
    fn a_clean_bundle_passes_and_a_tampered_one_names_member_and_kind() {
        let d = tempfile::tempdir().expect("tempdir");
        let r = Redactor::new([("LITELLM_MASTER_KEY".to_string(), "sk-master0123456789".to_string())]);
        let clean = d.path().join("clean.tar.gz");
        std::fs::write(
            &clean,
            bundle(&[("doctor.json", b"{}\n"), ("logs/litellm.log", b"ok\n")]),
        )
        .expect("write");
        let c = check(&clean, &r).expect("a bundle");
        assert_eq!((c.members, c.found.len()), (2, 0), "{:?}", c.found);

        let old = gz(b"redis://:hunter2pass@redis:6379\n");
        let tampered = d.path().join("tampered.tar.gz");
        let bytes = bundle(&[
            ("doctor.json", b"{}\n"),
            (
                "logs/litellm.log",
                b"key sk-master0123456789 used\nAuthorization: Bearer abc.def\n",
            ),
            ("files/notes.txt", b"nothing"),
            ("logs/old.log.gz", &old),
        ]);
        std::fs::write(&tampered, &bytes).expect("write");
        let c = check(&tampered, &r).expect("a bundle");
        let got: Vec<(String, String)> = c.found.iter().map(|f| (f.member.clone(), f.kind.label())).collect();
        for want in [
            ("logs/litellm.log", "env:LITELLM_MASTER_KEY"),
            ("logs/litellm.log", "authorization-header"),
            ("logs/old.log.gz", "url-credential"),
        ] {
            assert!(got.contains(&(want.0.into(), want.1.into())), "{want:?} not in {got:?}");
        }
        assert!(!got.iter().any(|(m, _)| m == "files/notes.txt"), "{got:?}");
        // The master key is an `sk-` key too: one finding for it, as a value of .env.
        assert!(!got.contains(&("logs/litellm.log".into(), "sk-key".into())), "{got:?}");

        // Not a bundle: exit 2, whatever it is instead.
        let text = d.path().join("x.txt");
        std::fs::write(&text, "hello").expect("write");
        let cut = d.path().join("cut.tar.gz");
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
        let other = d.path().join("other.tar.gz");
        std::fs::write(&other, bundle(&[("x", b"y")])).expect("write");
        for bad in [&text, &cut, &other, &d.path().join("missing.tar.gz")] {
            let e = check(bad, &r).expect_err("not a bundle");
            assert_eq!(e.exit, crate::error::Exit::Input, "{}", bad.display());
        }
    }
}
