//! `support-bundle`: what a helper needs to see to help, in one `.tar.gz`: the doctor's report,
//! each service's status and last log lines, the generated files, the answers, the image lock
//! and the installer's newest run log. Every known secret is masked (this `.env`'s values and
//! those of its backups); `.env` itself goes in with its keys only. Nothing is sent anywhere:
//! the user reads the file, then shares it.

use std::path::{Path, PathBuf};

use super::doctor::Context;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::platform::join_rel;
use crate::secrets::{EmptyValues, mask_env};

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
                text: ctx.mask(&text),
            });
        }
    }
    if let Ok(text) = std::fs::read_to_string(join_rel(ctx.dir(), ".env")) {
        out.push(Entry {
            path: "files/.env".into(),
            // The keys only, and which are empty: never a value, not even a plain one's mask.
            text: ctx.mask(&mask_env(&text, EmptyValues::Shown)),
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
                text: ctx.mask(&text),
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
                text: ctx.mask(&lines.join("\n")),
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

/// Collects everything (the engine's part when one answers), writes the archive to `out`
/// (owner-only: masked logs may still hold prompts) and returns what went in.
pub async fn write(ctx: &Context, report: Vec<Entry>, out: &Path) -> Result<Vec<String>> {
    let mut entries = report;
    entries.extend(files(ctx));
    if let Ok(engine) = crate::engine::connect().await {
        entries.extend(from_engine(&engine, ctx).await);
    }
    let top = out
        .file_name()
        .map(|n| n.to_string_lossy().trim_end_matches(".tar.gz").to_string())
        .unwrap_or_else(|| "support-bundle".into());
    let bytes = archive(&entries, &top)?;
    crate::render::write::write_atomic(out, &bytes, true)?;
    Ok(entries.into_iter().map(|e| e.path).collect())
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
        let entries = files(&ctx);
        let all: String = entries.iter().map(|e| format!("{}\n{}\n", e.path, e.text)).collect();
        assert!(all.contains("files/config.yaml") && all.contains("files/.env"), "{all}");
        assert!(!all.contains(pw), "{all}");
        assert!(all.contains("POSTGRES_PASSWORD=********"), "{all}");
        let bytes = archive(&entries, "b").expect("archive");
        assert!(bytes.len() > 20 && bytes[0] == 0x1f && bytes[1] == 0x8b, "gzip");
    }
}
