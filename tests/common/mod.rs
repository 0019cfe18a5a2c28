//! Shared by the integration tests: where the real parts are (set up by `ci/setup.sh`).
#![allow(dead_code)]

use std::path::Path;

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
