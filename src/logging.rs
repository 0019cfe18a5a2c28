//! The run's log file: every install writes `<dir>/logs/litellm-stack-<stamp>.log` through
//! `tracing`, with every known secret value replaced (`secrets::redact`) before a byte reaches
//! the disk.
//!
//! The subscriber is installed at start (`init`), before the install dir may be written: lines
//! wait in memory (at most `PENDING_LIMIT` bytes, the newest kept) until `open_file` is called,
//! then every line goes straight to the file as it is logged, so a crash or a Ctrl-C keeps
//! what came before it. Lines arrive as `tracing` events: callers log text with
//! `tracing::info!` and friends. Nothing is ever written to the terminal, where it would tear
//! the wizard's screen.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::error::{Error, Result};
use crate::platform::join_rel;
use crate::secrets::redact;

/// Bytes of lines kept in memory before the file is open; a run's start is far below this.
const PENDING_LIMIT: usize = 1 << 20;

/// Where lines go: memory until the file is open, then the file.
struct Sink {
    file: Option<File>,
    path: Option<PathBuf>,
    /// Lines logged before the file was open, oldest first, already redacted.
    pending: VecDeque<String>,
    pending_bytes: usize,
    pending_limit: usize,
    /// Lines dropped from `pending` to stay within `pending_limit`.
    dropped: usize,
    secrets: Vec<String>,
}

impl Sink {
    fn new(pending_limit: usize) -> Sink {
        Sink {
            file: None,
            path: None,
            pending: VecDeque::new(),
            pending_bytes: 0,
            pending_limit,
            dropped: 0,
            secrets: Vec::new(),
        }
    }

    /// One formatted line (or several, for one event), redacted, then written through to the
    /// file, or kept in memory until there is one.
    fn write_line(&mut self, text: &str) {
        let line = redact(text, &self.secrets);
        if let Some(f) = self.file.as_mut() {
            // `File` is unbuffered: once written, the line survives the process.
            let _ = f.write_all(line.as_bytes());
            return;
        }
        self.pending_bytes += line.len();
        self.pending.push_back(line);
        while self.pending_bytes > self.pending_limit {
            let Some(old) = self.pending.pop_front() else { break };
            self.pending_bytes -= old.len();
            self.dropped += 1;
        }
    }

    /// Values masked from now on, and in the lines still in memory.
    fn add_secrets(&mut self, values: impl IntoIterator<Item = String>) {
        self.secrets.extend(values);
        let secrets = &self.secrets;
        let mut bytes = 0;
        for line in self.pending.iter_mut() {
            *line = redact(line, secrets);
            bytes += line.len();
        }
        self.pending_bytes = bytes;
    }

    /// Starts writing into `file`: first a note of the lines not kept, if any, then the lines
    /// waiting in memory.
    fn open(&mut self, path: &Path, mut file: File) -> std::io::Result<()> {
        if self.dropped > 0 {
            writeln!(file, "[litellm-stack] {} earlier lines not kept", self.dropped)?;
            self.dropped = 0;
        }
        for line in self.pending.drain(..) {
            file.write_all(line.as_bytes())?;
        }
        self.pending_bytes = 0;
        self.file = Some(file);
        self.path = Some(path.to_path_buf());
        Ok(())
    }
}

fn sink() -> &'static Mutex<Sink> {
    static SINK: OnceLock<Mutex<Sink>> = OnceLock::new();
    SINK.get_or_init(|| Mutex::new(Sink::new(PENDING_LIMIT)))
}

/// One formatted event: collected whole, redacted whole, then written, so a secret split
/// across two `write` calls is still caught.
struct LineWriter(Vec<u8>);

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
        if let Ok(mut s) = sink().lock() {
            s.write_line(&String::from_utf8_lossy(&self.0));
        }
    }
}

#[derive(Clone, Copy)]
struct MakeLineWriter;

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
        s.add_secrets(values);
    }
}

/// The log file of a run starting at `stamp`, in `<dir>/logs/`.
fn log_path(dir: &Path, stamp: &str) -> PathBuf {
    join_rel(dir, &format!("logs/litellm-stack-{stamp}.log"))
}

/// Opens the run's log file and writes what was logged so far into it; every later line goes
/// straight to it. Returns its path. A second call in the same process keeps the first file.
pub fn open_file(dir: &Path, stamp: &str) -> Result<PathBuf> {
    let mut s = sink()
        .lock()
        .map_err(|_| Error::io(dir, &std::io::Error::other("log sink poisoned")))?;
    if let Some(p) = &s.path {
        return Ok(p.clone());
    }
    let path = log_path(dir, stamp);
    open_into(&mut s, &path)?;
    Ok(path)
}

fn open_into(s: &mut Sink, path: &Path) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, &e))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io(path, &e))?;
    s.open(path, file).map_err(|e| Error::io(path, &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).expect("log file")
    }

    #[test]
    fn lines_wait_for_the_file_then_go_straight_to_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = log_path(dir.path(), "20260101T000000Z");
        let mut s = Sink::new(1 << 10);
        s.write_line("before the file\n");
        assert!(!path.exists());
        open_into(&mut s, &path).expect("opens");
        assert_eq!(read(&path), "before the file\n");
        // Written through at once: nothing waits for the end of the run.
        s.write_line("after\n");
        assert_eq!(read(&path), "before the file\nafter\n");
    }

    #[test]
    fn an_overflowing_buffer_says_how_many_lines_it_dropped() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("run.log");
        let mut s = Sink::new(20);
        for i in 0..5 {
            s.write_line(&format!("line {i}\n"));
        }
        open_into(&mut s, &path).expect("opens");
        // Seven bytes a line, 20 kept: the two newest.
        assert_eq!(
            read(&path),
            "[litellm-stack] 3 earlier lines not kept\nline 3\nline 4\n"
        );
    }

    #[test]
    fn registered_secrets_are_masked_before_and_after_the_file_opens() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("run.log");
        let mut s = Sink::new(1 << 10);
        s.write_line("url postgresql://u:pg-secret-pw@postgres\n");
        s.add_secrets(["pg-secret-pw".to_string(), "sk-master-123".to_string()]);
        open_into(&mut s, &path).expect("opens");
        s.write_line("key sk-master-123 sent\n");
        let text = read(&path);
        assert!(
            !text.contains("pg-secret-pw") && !text.contains("sk-master-123"),
            "{text}"
        );
        assert!(text.contains("postgresql://u:********@postgres") && text.contains("key ******** sent"));
    }
}
