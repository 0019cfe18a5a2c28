//! What differs between Windows (Docker Desktop, PowerShell) and Linux (Docker Engine, bash).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The operating system an install is for. Rendering takes it as a value, so Linux tests can
/// produce the Windows files too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Os {
    Linux,
    Windows,
}

impl Os {
    pub fn current() -> Os {
        if cfg!(windows) { Os::Windows } else { Os::Linux }
    }

    /// The SOP's working directory: `C:\work\TW\litellm` (4.1) or `~/litellm` (5.2).
    pub fn default_dir(self) -> PathBuf {
        match self {
            Os::Windows => PathBuf::from(r"C:\work\TW\litellm"),
            Os::Linux => home_dir().unwrap_or_else(|| PathBuf::from("/root")).join("litellm"),
        }
    }

    /// Where data lives: bind mounts into the SOP tree on Linux; named volumes on Docker
    /// Desktop, where Postgres on an NTFS bind mount fails on permissions.
    pub fn default_data_storage(self) -> DataStorage {
        match self {
            Os::Windows => DataStorage::Volumes,
            Os::Linux => DataStorage::Bind,
        }
    }

    pub fn shell(self) -> Shell {
        match self {
            Os::Windows => Shell::PowerShell,
            Os::Linux => Shell::Bash,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataStorage {
    Bind,
    Volumes,
}

/// The shell the user types commands into; printed commands use its syntax (errata 17).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    Bash,
    PowerShell,
}

pub fn home_dir() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf())
}

/// Expands a leading `~` to the home directory.
pub fn expand_tilde(p: &Path) -> PathBuf {
    let s = p.to_string_lossy();
    if s == "~" {
        return home_dir().unwrap_or_else(|| p.to_path_buf());
    }
    if let Some(rest) = s.strip_prefix("~/").or_else(|| s.strip_prefix("~\\")) {
        if let Some(h) = home_dir() {
            return h.join(rest);
        }
    }
    p.to_path_buf()
}

/// Absolute on the OS the path is meant for: `C:\…` counts as absolute for Windows even when
/// the check runs on Linux.
pub fn is_absolute_for(os: Os, p: &Path) -> bool {
    let s = p.to_string_lossy();
    match os {
        Os::Linux => p.is_absolute(),
        Os::Windows => {
            let b = s.as_bytes();
            p.is_absolute()
                || (b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && (b[2] == b'\\' || b[2] == b'/'))
                || s.starts_with(r"\\")
        }
    }
}

/// Restricts a file to its owner on Windows, with `icacls` (part of every Windows since
/// Vista): inheritance removed, full control for the current user only. Best effort: the
/// caller has already written the file; a failure is logged, not fatal.
#[cfg(windows)]
pub fn restrict_to_owner(path: &Path) {
    let user = std::env::var("USERNAME").unwrap_or_default();
    if user.is_empty() {
        tracing::warn!(
            "USERNAME is not set; {} keeps its inherited permissions",
            path.display()
        );
        return;
    }
    let status = std::process::Command::new("icacls")
        .arg(path)
        .args(["/inheritance:r", "/grant:r"])
        .arg(format!("{user}:F"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    if !matches!(status, Ok(s) if s.success()) {
        tracing::warn!("could not restrict {} to {user} with icacls", path.display());
    }
}
