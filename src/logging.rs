//! The run's log file: every install writes `<dir>/logs/litellm-stack-<stamp>.log` through
//! `tracing`, with every known secret value replaced before a byte reaches the disk.
//!
//! The subscriber is installed at start (`init`), before the install dir may be written: lines
//! wait in memory until `open_file` is called once the user confirmed (or, unattended, once
//! the run starts), then go to the file. Nothing is ever written to the terminal, where it
//! would tear the wizard's screen.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::error::{Error, Result};
use crate::render::join_rel;

/// Lines kept in memory before the file is open; a run's start is far below this.
const PENDING_LIMIT: usize = 1 << 20;

const MASK: &str = "********";

struct Sink {
    file: Option<File>,
    path: Option<PathBuf>,
    pending: Vec<u8>,
    secrets: Vec<String>,
}

fn sink() -> &'static Mutex<Sink> {
    static SINK: OnceLock<Mutex<Sink>> = OnceLock::new();
    SINK.get_or_init(|| {
        Mutex::new(Sink {
            file: None,
            path: None,
            pending: Vec::new(),
            secrets: Vec::new(),
        })
    })
}

/// Replaces each secret (longest first, so a key containing another is masked whole).
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut sorted: Vec<&String> = secrets.iter().filter(|s| s.len() >= 4).collect();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_string();
    for s in sorted {
        out = out.replace(s.as_str(), MASK);
    }
    out
}

/// One formatted event: collected whole, redacted whole, then written, so a secret split
/// across two `write` calls is still caught.
pub struct LineWriter(Vec<u8>);

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        if self.0.is_empty() {
            return;
        }
        let Ok(mut s) = sink().lock() else { return };
        let line = redact(&String::from_utf8_lossy(&self.0), &s.secrets);
        if let Some(f) = s.file.as_mut() {
            let _ = f.write_all(line.as_bytes());
        } else if s.pending.len() + line.len() <= PENDING_LIMIT {
            s.pending.extend_from_slice(line.as_bytes());
        }
    }
}

#[derive(Clone, Copy)]
pub struct MakeLineWriter;

impl<'a> MakeWriter<'a> for MakeLineWriter {
    type Writer = LineWriter;
    fn make_writer(&'a self) -> LineWriter {
        LineWriter(Vec::new())
    }
}

/// Installs the subscriber (once; later calls do nothing). Level: `LITELLM_STACK_LOG`
/// (`tracing` filter syntax), default `info`, and `debug` for this program.
pub fn init() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let filter =
            EnvFilter::try_from_env("LITELLM_STACK_LOG").unwrap_or_else(|_| EnvFilter::new("info,litellm_stack=debug"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(MakeLineWriter)
            .with_ansi(false)
            .try_init();
    });
}

/// Adds values that must never appear in the log (they are masked from now on, and in the
/// lines still waiting in memory).
pub fn add_secrets(values: impl IntoIterator<Item = String>) {
    if let Ok(mut s) = sink().lock() {
        s.secrets.extend(values.into_iter().filter(|v| v.len() >= 4));
        if !s.pending.is_empty() {
            let text = redact(&String::from_utf8_lossy(&s.pending), &s.secrets);
            s.pending = text.into_bytes();
        }
    }
}

/// The log file of a run starting at `stamp`, in `<dir>/logs/`.
pub fn log_path(dir: &Path, stamp: &str) -> PathBuf {
    join_rel(dir, &format!("logs/litellm-stack-{stamp}.log"))
}

/// Opens the run's log file and writes what was logged so far into it. Returns its path.
/// A second call in the same process keeps the first file.
pub fn open_file(dir: &Path, stamp: &str) -> Result<PathBuf> {
    let mut s = sink()
        .lock()
        .map_err(|_| Error::io(dir, &std::io::Error::other("log sink poisoned")))?;
    if let Some(p) = &s.path {
        return Ok(p.clone());
    }
    let path = log_path(dir, stamp);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, &e))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| Error::io(&path, &e))?;
    let pending = std::mem::take(&mut s.pending);
    file.write_all(&pending).map_err(|e| Error::io(&path, &e))?;
    s.file = Some(file);
    s.path = Some(path.clone());
    Ok(path)
}

/// The open log file, if any.
pub fn current_path() -> Option<PathBuf> {
    sink().lock().ok().and_then(|s| s.path.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longer_secrets_are_masked_whole() {
        let out = redact("key sk-abcdef and sk-abc", &["sk-abc".into(), "sk-abcdef".into()]);
        assert_eq!(out, "key ******** and ********");
    }

    #[test]
    fn short_values_are_not_masked_everywhere() {
        assert_eq!(redact("a b c", &["b".into()]), "a b c");
    }
}
