//! Shared by the integration tests: where the real parts are (set up by `ci/setup.sh`).
#![allow(dead_code)]

use std::path::Path;

pub mod images;
pub mod relay;
pub mod run;
pub mod stack;

/// The file `ci/setup.sh` writes with the `LST_*` variables of this machine.
pub const CI_ENV_FILE: &str = "/var/lib/litellm-stack-ci/env";

/// A variable of the test environment: from the process environment, else from the file
/// `ci/setup.sh` wrote. A test that needs it and finds neither fails loudly; it never skips.
pub fn ci_env(name: &str) -> String {
    if let Ok(v) = std::env::var(name) {
        if !v.is_empty() {
            return v;
        }
    }
    if let Ok(text) = std::fs::read_to_string(Path::new(CI_ENV_FILE)) {
        for line in text.lines() {
            let line = line.trim().trim_start_matches("export ");
            if let Some((k, v)) = line.split_once('=') {
                if k == name {
                    return v.trim_matches(['"', '\'']).to_string();
                }
            }
        }
    }
    panic!(
        "{name} is not set and not in {CI_ENV_FILE}: run `bash ci/setup.sh` first (it starts Docker, the registry and builds the test images)"
    );
}

/// The `litellm-stack` binary built for this test run.
pub fn bin() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("litellm-stack").expect("binary built");
    c.env("LANG", "en_US.UTF-8")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES");
    c
}

/// A port nobody listens on now, on every interface (as nginx binds): bound once to get a
/// free number, then released. Never the same number twice in one test process: tests run in
/// parallel, and a port handed to one test stays free until its container publishes it, so
/// the kernel could otherwise give it to the next test too.
pub fn free_port() -> u16 {
    static HANDED_OUT: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    loop {
        let l = std::net::TcpListener::bind("0.0.0.0:0").expect("bind an ephemeral port");
        let port = l.local_addr().expect("local addr").port();
        let mut handed = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
        if !handed.contains(&port) {
            handed.push(port);
            return port;
        }
    }
}

/// The status code of a plain HTTP GET on loopback, `None` when nothing answers.
pub fn http_status(port: u16, path: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    text.split_whitespace().nth(1)?.parse().ok()
}
