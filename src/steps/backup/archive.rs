//! The backup archive: one tar + gzip file whose first member is `manifest.json` (so `backup
//! list` reads only its first blocks), then the database dump and the install's files. The
//! manifest holds the sha256 of every other member; reading an archive checks each of them,
//! and the gzip trailer (its CRC), so a truncated file or a changed byte is always found and
//! named.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

pub const MANIFEST_MEMBER: &str = "manifest.json";
pub const DUMP_MEMBER: &str = "database.dump";
/// The install's files an archive carries besides the dump (`.env` holds the secrets).
pub const FILE_MEMBERS: [&str; 4] = [".env", "config.yaml", "answers.yaml", "images.lock.yaml"];
/// The version of the archive's layout.
pub const FORMAT: u32 = 1;

/// What an archive says about itself. No secret is in it: the salt key only as a keyed hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// When the dump was taken, RFC 3339 UTC.
    pub created: String,
    pub project: String,
    /// The proxy's own version (`litellm` in its container), when it was running.
    pub litellm_version: Option<String>,
    pub litellm_image: String,
    pub postgres_image: String,
    pub postgres_major: Option<u32>,
    pub postgres_version: Option<String>,
    /// The database user and name of the stack (`POSTGRES_USER`, `POSTGRES_DB`).
    pub database_user: String,
    pub database_name: String,
    /// The newest migration applied to the database (`_prisma_migrations`).
    pub newest_migration: Option<String>,
    /// Rows per table that matters, counted in the dump itself.
    pub counts: BTreeMap<String, u64>,
    /// `hmac-sha256:…` of `LITELLM_SALT_KEY`, as in `salt-key.fingerprint`.
    pub salt_key_fingerprint: Option<String>,
    /// Every member but the manifest.
    pub members: BTreeMap<String, MemberFacts>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberFacts {
    pub sha256: String,
    pub size: u64,
}

/// The sha256 and size of a file, read in chunks.
pub fn file_facts(path: &Path) -> Result<MemberFacts> {
    let mut f = File::open(path).map_err(|e| Error::io(path, &e))?;
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, &e))?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
        size += n as u64;
    }
    Ok(MemberFacts {
        sha256: format!("{:x}", hash.finalize()),
        size,
    })
}

/// Writes the archive into `tmp` (already created owner-only): the manifest, then each
/// `(name, file)` in order.
pub fn write(tmp: &File, manifest: &Manifest, members: &[(String, PathBuf)], where_: &Path) -> Result<()> {
    let io = |e: std::io::Error| Error::io(where_, &e);
    let gz = GzEncoder::new(BufWriter::new(tmp), Compression::default());
    let mut tar = tar::Builder::new(gz);
    let json =
        serde_json::to_vec_pretty(manifest).map_err(|e| Error::failed(msg!("backup.error.manifest")).detail(e))?;
    let mtime = time::OffsetDateTime::now_utc().unix_timestamp().max(0) as u64;
    let header = |size: u64| {
        let mut h = tar::Header::new_gnu();
        h.set_size(size);
        h.set_mode(0o600);
        h.set_mtime(mtime);
        h.set_entry_type(tar::EntryType::Regular);
        h
    };
    tar.append_data(&mut header(json.len() as u64), MANIFEST_MEMBER, json.as_slice())
        .map_err(io)?;
    for (name, path) in members {
        let f = File::open(path).map_err(|e| Error::io(path, &e))?;
        let size = f.metadata().map_err(|e| Error::io(path, &e))?.len();
        tar.append_data(&mut header(size), name, BufReader::new(f))
            .map_err(io)?;
    }
    let gz = tar.into_inner().map_err(io)?;
    let mut out = gz.finish().map_err(io)?;
    out.flush().map_err(io)?;
    drop(out);
    tmp.sync_all().map_err(io)
}

/// What is wrong with an archive, naming the member where it was found.
fn damaged(archive: &Path, member: Option<&str>, detail: impl ToString) -> Error {
    let m = match member {
        Some(member) => msg!("backup.error.damaged_member").arg("member", member),
        None => msg!("backup.error.damaged_start"),
    };
    Error::failed(
        msg!("backup.error.damaged")
            .arg("file", archive.display())
            .nested("where", m),
    )
    .detail(detail)
    .hint(msg!("backup.hint.damaged"))
}

fn open(archive: &Path) -> Result<tar::Archive<GzDecoder<BufReader<File>>>> {
    let f = File::open(archive).map_err(|e| {
        Error::input(msg!("backup.error.open").arg("file", archive.display()))
            .detail(e)
            .hint(msg!("backup.hint.open"))
    })?;
    Ok(tar::Archive::new(GzDecoder::new(BufReader::new(f))))
}

fn parse_manifest(archive: &Path, bytes: &[u8]) -> Result<Manifest> {
    let m: Manifest = serde_json::from_slice(bytes).map_err(|e| damaged(archive, Some(MANIFEST_MEMBER), e))?;
    if m.format != FORMAT {
        return Err(Error::input(
            msg!("backup.error.format")
                .arg("file", archive.display())
                .arg("format", m.format),
        ));
    }
    Ok(m)
}

/// The manifest alone: the first member, without reading the rest.
pub fn read_manifest(archive: &Path) -> Result<Manifest> {
    let mut tar = open(archive)?;
    let mut entries = tar.entries().map_err(|e| damaged(archive, None, e))?;
    let mut first = match entries.next() {
        Some(e) => e.map_err(|e| damaged(archive, None, e))?,
        None => return Err(damaged(archive, None, "no member")),
    };
    let name = first.path().map(|p| p.display().to_string()).unwrap_or_default();
    if name != MANIFEST_MEMBER {
        return Err(damaged(archive, Some(&name), "the first member is not manifest.json"));
    }
    let mut bytes = Vec::new();
    first
        .read_to_end(&mut bytes)
        .map_err(|e| damaged(archive, Some(MANIFEST_MEMBER), e))?;
    parse_manifest(archive, &bytes)
}

fn known(name: &str) -> bool {
    name == DUMP_MEMBER || FILE_MEMBERS.contains(&name)
}

/// Reads the whole archive: every member's sha256 against the manifest, none missing, none
/// unknown, the gzip trailer intact. With `extract_to`, each member is written there too
/// (owner-only). Returns the manifest.
pub fn check(archive: &Path, extract_to: Option<&Path>) -> Result<Manifest> {
    let mut tar = open(archive)?;
    let mut manifest: Option<Manifest> = None;
    let mut seen: BTreeMap<String, MemberFacts> = BTreeMap::new();
    {
        let entries = tar.entries().map_err(|e| damaged(archive, None, e))?;
        let mut current: Option<String> = None;
        for entry in entries {
            let mut entry = entry.map_err(|e| damaged(archive, current.as_deref(), e))?;
            let name = entry.path().map(|p| p.display().to_string()).unwrap_or_default();
            current = Some(name.clone());
            if manifest.is_none() {
                if name != MANIFEST_MEMBER {
                    return Err(damaged(archive, Some(&name), "the first member is not manifest.json"));
                }
                let mut bytes = Vec::new();
                entry
                    .read_to_end(&mut bytes)
                    .map_err(|e| damaged(archive, Some(&name), e))?;
                manifest = Some(parse_manifest(archive, &bytes)?);
                continue;
            }
            if !known(&name) || seen.contains_key(&name) {
                return Err(damaged(archive, Some(&name), "a member this program does not write"));
            }
            let mut out = match extract_to {
                Some(dir) => Some(create_private(&dir.join(&name))?),
                None => None,
            };
            let mut hash = Sha256::new();
            let mut size = 0u64;
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let n = entry.read(&mut buf).map_err(|e| damaged(archive, Some(&name), e))?;
                if n == 0 {
                    break;
                }
                hash.update(&buf[..n]);
                size += n as u64;
                if let Some((path, f)) = &mut out {
                    f.write_all(&buf[..n]).map_err(|e| Error::io(path, &e))?;
                }
            }
            if let Some((path, f)) = out {
                f.sync_all().map_err(|e| Error::io(&path, &e))?;
            }
            seen.insert(
                name,
                MemberFacts {
                    sha256: format!("{:x}", hash.finalize()),
                    size,
                },
            );
        }
    }
    // The tar's end blocks may come before the gzip trailer: read on, so its CRC is checked.
    let last = seen.keys().last().cloned();
    std::io::copy(&mut tar.into_inner(), &mut std::io::sink()).map_err(|e| damaged(archive, last.as_deref(), e))?;
    let manifest = manifest.ok_or_else(|| damaged(archive, None, "no member"))?;
    compare(archive, &manifest, &seen)?;
    Ok(manifest)
}

fn compare(archive: &Path, manifest: &Manifest, seen: &BTreeMap<String, MemberFacts>) -> Result<()> {
    for (name, want) in &manifest.members {
        match seen.get(name) {
            None => return Err(damaged(archive, Some(name), "missing from the archive")),
            Some(got) if got != want => {
                return Err(Error::failed(
                    msg!("backup.error.checksum")
                        .arg("file", archive.display())
                        .arg("member", name),
                )
                .detail(format!(
                    "manifest: sha256 {} ({} bytes); archive: sha256 {} ({} bytes)",
                    want.sha256, want.size, got.sha256, got.size
                ))
                .hint(msg!("backup.hint.damaged")));
            }
            Some(_) => {}
        }
    }
    if let Some(extra) = seen.keys().find(|k| !manifest.members.contains_key(*k)) {
        return Err(damaged(archive, Some(extra), "not listed in the manifest"));
    }
    Ok(())
}

fn create_private(path: &Path) -> Result<(PathBuf, File)> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let f = options.open(path).map_err(|e| Error::io(path, &e))?;
    Ok((path.to_path_buf(), f))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(dir: &Path) -> (PathBuf, Manifest) {
        let dump = dir.join("dump");
        std::fs::write(&dump, vec![7u8; 200_000]).expect("write");
        let env = dir.join("env");
        std::fs::write(&env, "LITELLM_SALT_KEY=sk-x\n").expect("write");
        let members = vec![
            (DUMP_MEMBER.to_string(), dump.clone()),
            (".env".to_string(), env.clone()),
        ];
        let manifest = Manifest {
            format: FORMAT,
            created: "2026-12-03T08:00:00Z".into(),
            project: "p".into(),
            litellm_version: Some("1.108.7".into()),
            litellm_image: "l".into(),
            postgres_image: "pg".into(),
            postgres_major: Some(16),
            postgres_version: None,
            database_user: "u".into(),
            database_name: "d".into(),
            newest_migration: None,
            counts: BTreeMap::from([("LiteLLM_VerificationToken".to_string(), 2)]),
            salt_key_fingerprint: Some("hmac-sha256:00".into()),
            members: members
                .iter()
                .map(|(n, p)| (n.clone(), file_facts(p).expect("facts")))
                .collect(),
        };
        let out = dir.join("a.tar.gz");
        let f = File::create(&out).expect("create");
        write(&f, &manifest, &members, &out).expect("write archive");
        (out, manifest)
    }

    #[test]
    fn an_archive_reads_back_with_its_manifest_first() {
        let d = tempfile::tempdir().expect("tempdir");
        let (file, manifest) = sample(d.path());
        assert_eq!(read_manifest(&file).expect("manifest"), manifest);
        let x = d.path().join("x");
        std::fs::create_dir(&x).expect("mkdir");
        assert_eq!(check(&file, Some(&x)).expect("check"), manifest);
        assert_eq!(std::fs::read(x.join(".env")).expect("read"), b"LITELLM_SALT_KEY=sk-x\n");
    }

    #[test]
    fn a_truncated_or_changed_archive_fails_the_check() {
        let d = tempfile::tempdir().expect("tempdir");
        let (file, _) = sample(d.path());
        let bytes = std::fs::read(&file).expect("read");
        for cut in [bytes.len() - 1, bytes.len() - 8, bytes.len() / 2, 40] {
            std::fs::write(&file, &bytes[..cut]).expect("write");
            let e = check(&file, None).expect_err(&format!("truncated at {cut} must fail"));
            assert_eq!(e.exit, crate::error::Exit::Failed, "{e}");
        }
        for at in [bytes.len() / 2, bytes.len() - 20, 60] {
            let mut changed = bytes.clone();
            changed[at] ^= 0x55;
            std::fs::write(&file, &changed).expect("write");
            let e = check(&file, None).expect_err(&format!("a byte changed at {at} must fail"));
            assert_eq!(e.exit, crate::error::Exit::Failed, "{e}");
        }
    }
}
