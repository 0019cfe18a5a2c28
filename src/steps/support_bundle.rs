//! `support-bundle`: what a helper needs to see to help, in one `.tar.gz`: the doctor's report,
//! each service's status and last log lines, the generated files, the answers, the image lock
//! and the installer's newest run log. Every secret is masked (`scan`: this `.env`'s values and
//! those of its backups, `sk-…` keys, URL passwords, `Authorization:` credentials); `.env`
//! itself goes in with its keys only. The bundle is scanned again before it is written (it is
//! not written when anything is left) and carries the list of what was masked, by name and
//! count (`redactions.json`). `--check FILE` (`check`) scans an existing bundle. Nothing is
//! sent anywhere: the user reads the file, then shares it.

pub mod check;
pub mod scan;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::doctor::Context;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::platform::join_rel;
use crate::secrets::{EmptyValues, is_secret_key, mask_env};
use scan::{Counts, Kind, Redactor};

/// The bundle's list of what was masked.
pub const REDACTIONS: &str = "redactions.json";

/// Log lines kept per service.
pub const LOG_LINES: usize = 500;

/// The files of the install dir that go in, masked, when they exist.
const FILES: [&str; 6] = [
    "config.yaml",
    "docker-compose.yml",
    "nginx/nginx.conf",
    "prometheus/prometheus.yml",
    "answers.yaml",
    "images.lock.yaml",
];

/// One file of the bundle: its path inside the archive and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub text: String,
}

/// The default place: the install dir, named by the time.
pub fn default_path(ctx: &Context, stamp: &str) -> PathBuf {
    join_rel(ctx.dir(), &format!("support-bundle-{stamp}.tar.gz"))
}

/// The newest run log of the installer in `<dir>/logs/`.
fn newest_run_log(dir: &Path) -> Option<PathBuf> {
    let mut logs: Vec<PathBuf> = std::fs::read_dir(join_rel(dir, "logs"))
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    logs.sort();
    logs.pop()
}

/// The install dir's part: files, `.env`'s keys, the newest run log.
pub fn files(ctx: &Context) -> Vec<Entry> {
    let mut out = Vec::new();
    for rel in FILES {
        if let Ok(text) = std::fs::read_to_string(join_rel(ctx.dir(), rel)) {
            out.push(Entry {
                path: format!("files/{rel}"),
                text,
            });
        }
    }
    if let Ok(text) = std::fs::read_to_string(join_rel(ctx.dir(), ".env")) {
        out.push(Entry {
            path: "files/.env".into(),
            // The keys only, and which are empty: never a value, not even a plain one's mask.
            text: mask_env(&text, EmptyValues::Shown),
        });
    }
    if let Some(log) = newest_run_log(ctx.dir()) {
        if let Ok(text) = std::fs::read_to_string(&log) {
            let name = log
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            out.push(Entry {
                path: format!("installer/{name}"),
                text,
            });
        }
    }
    out
}

/// The engine's part: what it is, each service's status, each container's last log lines.
pub async fn from_engine(engine: &dyn Engine, ctx: &Context) -> Vec<Entry> {
    let mut out = Vec::new();
    if let Ok(info) = engine.info().await {
        out.push(Entry {
            path: "engine.txt".into(),
            text: format!(
                "endpoint: {}\nversion: {}\napi: {}\nos: {} {}\noperating_system: {}\nmem_total: {}\n",
                info.endpoint,
                info.version,
                info.api_version,
                info.os,
                info.arch,
                info.operating_system.unwrap_or_default(),
                info.mem_total.map_or("-".into(), |m| m.to_string()),
            ),
        });
    }
    if let Ok(status) = super::status::stack_status(engine, &ctx.stack).await {
        out.push(Entry {
            path: "status.json".into(),
            text: serde_json::to_string_pretty(&status).unwrap_or_default(),
        });
    }
    let containers = engine.containers(Some(&ctx.stack.project)).await.unwrap_or_default();
    let logs = ctx.stack.services.iter().filter_map(|s| {
        let c = containers.iter().find(|c| c.service() == Some(s.name))?;
        Some(async move {
            let lines = engine.logs(&c.id, LOG_LINES).await.unwrap_or_default();
            Entry {
                path: format!("logs/{}.log", s.name),
                text: lines.join("\n"),
            }
        })
    });
    out.extend(futures_util::future::join_all(logs).await);
    out
}

/// The archive of `entries`, gzip-compressed.
pub fn archive(entries: &[Entry], top: &str) -> Result<Vec<u8>> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let failed = |e: std::io::Error| Error::failed(msg!("doctor.bundle.error")).detail(e);
    for e in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(e.text.len() as u64);
        header.set_mode(0o600);
        header.set_mtime(now);
        tar.append_data(&mut header, format!("{top}/{}", e.path), e.text.as_bytes())
            .map_err(failed)?;
    }
    tar.into_inner().and_then(|gz| gz.finish()).map_err(failed)
}

/// What a written bundle holds.
#[derive(Debug, Clone)]
pub struct Written {
    /// The members' paths inside the bundle.
    pub members: Vec<String>,
    /// What was masked, by name (a `.env` key) or kind.
    pub redacted: Counts,
}

/// Every entry masked by `redactor`, the `.env` member's masked values counted, the list of
/// what was masked added as [`REDACTIONS`]; then all of it scanned again: anything left is an
/// error naming member and kind (the bundle is not written).
pub fn finish(
    mut entries: Vec<Entry>,
    redactor: &Redactor,
    env: &crate::secrets::ExistingEnv,
) -> Result<(Vec<Entry>, Counts)> {
    let mut total = Counts::new();
    let mut by_member: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for e in &mut entries {
        let mut counts = Counts::new();
        e.text = redactor.redact(&e.text, &mut counts);
        if e.path == "files/.env" {
            for (k, v) in &env.entries {
                if is_secret_key(k) && !v.is_empty() {
                    *counts.entry(Kind::Env(k.clone())).or_default() += 1;
                }
            }
        }
        for (kind, n) in counts {
            *total.entry(kind.clone()).or_default() += n;
            by_member.entry(e.path.clone()).or_default().insert(kind.label(), n);
        }
    }
    let list = serde_json::json!({
        "note": "What was masked in this bundle, by name and count. The values themselves are never written.",
        "values_looked_for": redactor.len(),
        "patterns": ["sk-key", "url-credential", "authorization-header"],
        "redacted": total.iter().map(|(k, n)| serde_json::json!({"name": k.label(), "count": n})).collect::<Vec<_>>(),
        "by_member": by_member,
    });
    entries.push(Entry {
        path: REDACTIONS.into(),
        text: serde_json::to_string_pretty(&list).unwrap_or_default() + "\n",
    });
    for e in &entries {
        if let Some((kind, _)) = redactor.scan(&e.text).into_iter().next() {
            return Err(Error::failed(
                msg!("day2.bundle.leak")
                    .arg("member", &e.path)
                    .nested("kind", kind_msg(&kind)),
            ));
        }
    }
    Ok((entries, total))
}

/// A kind of secret in words.
pub fn kind_msg(kind: &Kind) -> crate::i18n::Msg {
    match kind {
        Kind::Env(key) => msg!("day2.kind.env").arg("key", key),
        Kind::SkKey => msg!("day2.kind.sk"),
        Kind::UrlCredential => msg!("day2.kind.url"),
        Kind::Authorization => msg!("day2.kind.authorization"),
    }
}

/// Collects everything (the engine's part when one answers), masks it ([`finish`]), writes the
/// archive to `out` (owner-only: masked logs may still hold prompts) and says what went in.
pub async fn write(ctx: &Context, report: Vec<Entry>, out: &Path) -> Result<Written> {
    let mut entries = report;
    entries.extend(files(ctx));
    if let Ok(engine) = crate::engine::connect().await {
        entries.extend(from_engine(&engine, ctx).await);
    }
    let redactor = Redactor::of_install(ctx.dir(), &ctx.env);
    let (entries, redacted) = finish(entries, &redactor, &ctx.env)?;
    let top = out
        .file_name()
        .map(|n| n.to_string_lossy().trim_end_matches(".tar.gz").to_string())
        .unwrap_or_else(|| "support-bundle".into());
    let bytes = archive(&entries, &top)?;
    crate::render::write::write_atomic(out, &bytes, true)?;
    Ok(Written {
        members: entries.into_iter().map(|e| e.path).collect(),
        redacted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::ExistingEnv;

    #[test]
    fn the_bundle_holds_the_files_with_every_secret_masked_and_env_keys_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pw = "s3cretPassword0123456789";
        std::fs::write(
            dir.path().join(".env"),
            format!("POSTGRES_USER=llmproxy\nPOSTGRES_PASSWORD={pw}\n"),
        )
        .expect("write");
        std::fs::write(
            dir.path().join("config.yaml"),
            format!("# a hand edit with the password {pw}\n"),
        )
        .expect("write");
        let mut ctx = super::super::doctor::tests_support::context();
        ctx.answers.dir = dir.path().to_path_buf();
        ctx.env = ExistingEnv::read(&dir.path().join(".env")).expect("read");
        ctx.secrets = vec![pw.to_string()];
        let redactor = Redactor::of_install(dir.path(), &ctx.env);
        let mut entries = files(&ctx);
        entries.push(Entry {
            path: "logs/litellm.log".into(),
            text: format!("POST /chat Authorization: Bearer sk-fromthelog0123 with {pw}\n"),
        });
        let (entries, redacted) = finish(entries, &redactor, &ctx.env).expect("clean");
        let all: String = entries.iter().map(|e| format!("{}\n{}\n", e.path, e.text)).collect();
        assert!(all.contains("files/config.yaml") && all.contains("files/.env"), "{all}");
        assert!(!all.contains(pw) && !all.contains("sk-fromthelog0123"), "{all}");
        assert!(all.contains("POSTGRES_PASSWORD=********"), "{all}");
        // config.yaml, the log and `.env` itself.
        assert_eq!(redacted[&Kind::Env("POSTGRES_PASSWORD".into())], 3, "{redacted:?}");
        assert_eq!(redacted[&Kind::SkKey], 1, "{redacted:?}");
        let list = &entries.last().expect("the list").text;
        assert!(
            list.contains("env:POSTGRES_PASSWORD") && list.contains("logs/litellm.log"),
            "{list}"
        );
        let bytes = archive(&entries, "b").expect("archive");
        assert!(bytes.len() > 20 && bytes[0] == 0x1f && bytes[1] == 0x8b, "gzip");
        let path = dir.path().join("b.tar.gz");
        std::fs::write(&path, &bytes).expect("write");
        let checked = check::check(&path, &redactor).expect("a bundle");
        assert!(checked.found.is_empty(), "{:?}", checked.found);
    }
}
