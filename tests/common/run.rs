//! The binary in the background, its streams into files, stopped as Ctrl-C (SIGINT) or a kill
//! would stop it; and polling waits with a limit.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A run of the binary in the background.
pub struct Background {
    pub child: Child,
    pub out: PathBuf,
    pub err: PathBuf,
}

impl Background {
    /// `litellm-stack ARGS` in English, stdin closed, stdout and stderr into `OUT` and `ERR`.
    pub fn start<S: AsRef<std::ffi::OsStr>>(
        args: impl IntoIterator<Item = S>,
        out: PathBuf,
        err: PathBuf,
    ) -> Background {
        let child = Command::new(env!("CARGO_BIN_EXE_litellm-stack"))
            .env("LANG", "en_US.UTF-8")
            .env_remove("LC_ALL")
            .env_remove("LC_MESSAGES")
            .args(args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).expect("create"))
            .stderr(std::fs::File::create(&err).expect("create"))
            .spawn()
            .expect("start litellm-stack");
        Background { child, out, err }
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// `kill SIG` (e.g. `-INT`, as Ctrl-C sends it) to the run.
    pub fn signal(&self, sig: &str) {
        let kill = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(kill.success());
    }

    /// Waits for the run's end (reaped: no zombie keeps its pid alive); its exit code and both
    /// streams.
    pub fn ended(mut self, limit: Duration) -> (Option<i32>, String) {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            assert!(started.elapsed() < limit, "the run did not end within {limit:?}");
            std::thread::sleep(Duration::from_millis(100));
        };
        let said = format!(
            "--- stdout\n{}\n--- stderr\n{}",
            std::fs::read_to_string(&self.out).unwrap_or_default(),
            std::fs::read_to_string(&self.err).unwrap_or_default()
        );
        (status.code(), said)
    }
}

/// Waits until `ready` holds, polling; panics with `what` after `limit`.
pub fn wait_for(limit: Duration, what: &str, mut ready: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(started.elapsed() < limit, "{what} did not happen within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
