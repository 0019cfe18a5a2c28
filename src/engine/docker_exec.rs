//! backup: `exec` with streams, for the database dump and restore: stdin fed from a host file,
//! stdout to a file, to memory or to a callback, stderr's last lines kept. Both directions run
//! at once, so a command that reads and writes (pg_restore to SQL) never blocks on a full pipe.

use std::path::Path;

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use futures_util::StreamExt;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::docker_convert::push_lines;
use super::docker_error::api_error;
use super::error::{EngineError, EngineResult as Result};
use super::{EXEC_CAPTURE_LIMIT, ExecIo, ExecOutput, ExecStdout};

const STDERR_LINES: usize = 50;

pub(super) async fn exec_io(docker: &Docker, id: &str, io: &ExecIo<'_>) -> Result<ExecOutput> {
    let env: Vec<String> = io.env.iter().map(|(k, v)| format!("{k}={}", v.expose())).collect();
    let config = ExecConfig {
        cmd: Some(io.cmd.clone()),
        env: (!env.is_empty()).then_some(env),
        attach_stdin: Some(io.stdin.is_some()),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        ..Default::default()
    };
    let op = || format!("exec {} in {id}", io.cmd.first().map(String::as_str).unwrap_or(""));
    let created = docker.create_exec(id, config).await.map_err(|e| api_error(op(), e))?;
    let started = docker
        .start_exec(&created.id, None::<StartExecOptions>)
        .await
        .map_err(|e| api_error(op(), e))?;
    let mut out = ExecOutput::default();
    if let StartExecResults::Attached { output, input } = started {
        let (fed, drained) = tokio::join!(feed(io.stdin, input), drain(output, io, &mut out));
        drained?;
        // A command that stops reading early (it failed) breaks the pipe: its exit code and
        // stderr say why, so the feeding error counts only when the command says it succeeded.
        let done = docker.inspect_exec(&created.id).await.map_err(|e| api_error(op(), e))?;
        out.exit_code = done.exit_code;
        if out.ok() {
            fed?;
        }
        return Ok(out);
    }
    let done = docker.inspect_exec(&created.id).await.map_err(|e| api_error(op(), e))?;
    out.exit_code = done.exit_code;
    Ok(out)
}

/// The host file into the command's stdin, then stdin closed (the command sees its end).
async fn feed(stdin: Option<&Path>, mut input: std::pin::Pin<Box<dyn AsyncWrite + Send>>) -> Result<()> {
    let Some(path) = stdin else { return Ok(()) };
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(|e| EngineError::file("exec stdin", path, &e))?;
    tokio::io::copy(&mut file, &mut input)
        .await
        .map_err(|e| EngineError::file("exec stdin", path, &e))?;
    input
        .shutdown()
        .await
        .map_err(|e| EngineError::file("exec stdin", path, &e))
}

async fn drain(
    mut output: std::pin::Pin<
        Box<dyn futures_util::Stream<Item = std::result::Result<LogOutput, bollard::errors::Error>> + Send>,
    >,
    io: &ExecIo<'_>,
    out: &mut ExecOutput,
) -> Result<()> {
    let mut file = match io.stdout {
        ExecStdout::File(path) => Some((path, create_private(path).await?)),
        _ => None,
    };
    let mut pending = String::new();
    while let Some(chunk) = output.next().await {
        match chunk.map_err(|e| api_error("exec output", e))? {
            LogOutput::StdOut { message } => {
                out.stdout_bytes += message.len() as u64;
                match (&io.stdout, &mut file) {
                    (_, Some((path, f))) => f
                        .write_all(&message)
                        .await
                        .map_err(|e| EngineError::file("exec stdout", path, &e))?,
                    (ExecStdout::Chunks(each), _) => each(&message),
                    _ => {
                        let room = EXEC_CAPTURE_LIMIT.saturating_sub(out.stdout.len());
                        out.stdout.extend_from_slice(&message[..message.len().min(room)]);
                    }
                }
                if let Some(p) = io.progress {
                    p(out.stdout_bytes);
                }
            }
            LogOutput::StdErr { message } => {
                push_lines(&mut out.stderr, &mut pending, &message);
                let skip = out.stderr.len().saturating_sub(STDERR_LINES);
                out.stderr.drain(..skip);
            }
            _ => {}
        }
    }
    if !pending.is_empty() {
        out.stderr.push(pending);
    }
    if let Some((path, mut f)) = file {
        f.flush()
            .await
            .map_err(|e| EngineError::file("exec stdout", path, &e))?;
        f.sync_all()
            .await
            .map_err(|e| EngineError::file("exec stdout", path, &e))?;
    }
    Ok(())
}

/// Owner-only from its creation: a dump holds the team's keys (hashed) and credentials.
async fn create_private(path: &Path) -> Result<tokio::fs::File> {
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    options
        .open(path)
        .await
        .map_err(|e| EngineError::file("exec stdout", path, &e))
}
