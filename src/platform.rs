//! What differs between Windows (Docker Desktop, PowerShell) and Linux (Docker Engine, bash).
//!
//! Functions take the `Os` as a value wherever they can, so the Linux test suite also covers
//! the Windows behaviour; only what must ask Windows itself (the ACL of `.env`, the UI
//! language) sits behind `cfg(windows)`.

use std::ffi::OsString;
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

    /// The product the user knows the engine by: what error messages name.
    pub fn engine_product(self) -> &'static str {
        match self {
            Os::Windows => "Docker Desktop",
            Os::Linux => "Docker Engine",
        }
    }

    /// Where the engine listens when neither `DOCKER_HOST` nor a Docker context says
    /// otherwise: Docker Desktop's named pipe, or the daemon's socket.
    pub fn default_engine_endpoint(self) -> &'static str {
        match self {
            Os::Windows => DOCKER_DESKTOP_PIPE,
            Os::Linux => "unix:///var/run/docker.sock",
        }
    }
}

/// Docker Desktop's engine on Windows, in `DOCKER_HOST` form.
pub const DOCKER_DESKTOP_PIPE: &str = "npipe:////./pipe/docker_engine";

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

/// Whether this process runs with root's rights (effective uid 0, from `/proc/self/status`
/// on Linux). Elsewhere `false`: Windows has no root, and the install targets Linux.
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
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

/// `dir` joined with a `/`-separated relative path, with the OS's separators.
pub fn join_rel(dir: &Path, rel: &str) -> PathBuf {
    rel.split('/').fold(dir.to_path_buf(), |p, part| p.join(part))
}

/// The nearest folder of `dir` that exists (the install dir may not yet): where free space
/// and write access are measured.
pub fn existing_ancestor(dir: &Path) -> PathBuf {
    let mut p = dir.to_path_buf();
    while !p.exists() {
        match p.parent() {
            Some(parent) => p = parent.to_path_buf(),
            None => break,
        }
    }
    p
}

// ---------------------------------------------------------------------------------------------
// `.env` readable by its owner only, on Windows.

/// Groups that may hold an explicit grant on a file someone edited by hand: Everyone,
/// Authenticated Users and the machine's Users. Inherited grants go with `/inheritance:r`.
const BROAD_GROUP_SIDS: [&str; 3] = ["*S-1-1-0", "*S-1-5-11", "*S-1-5-32-545"];

/// `icacls` arguments that leave `path` with one entry, full control for `account`:
/// inherited entries removed (`/inheritance:r`), the account's own replaced (`/grant:r`).
///
/// No entry for SYSTEM or Administrators: both reach any file anyway (backup privilege, taking
/// ownership), so an entry adds no access for them, and Docker Desktop, the engine client and
/// `docker compose` all read `.env` as the user. `account` is `*SID` where known: a bare
/// `%USERNAME%` can resolve to a same-named local account instead of the domain one.
pub fn owner_only_icacls_args(path: &Path, account: &str) -> Vec<OsString> {
    vec![
        path.as_os_str().to_owned(),
        "/inheritance:r".into(),
        "/grant:r".into(),
        format!("{account}:F").into(),
    ]
}

/// `icacls` arguments that remove explicit grants to broad groups (a second call: a failure
/// there leaves the owner-only entry in place).
pub fn remove_broad_groups_icacls_args(path: &Path) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![path.as_os_str().to_owned(), "/remove:g".into()];
    args.extend(BROAD_GROUP_SIDS.iter().map(OsString::from));
    args
}

/// The account to name to `icacls`: the SID from `whoami /user /fo csv /nh`
/// (`"pc\alice","S-1-5-21-…"`), else `DOMAIN\user`, else `user`.
pub fn icacls_account(whoami_csv: &str, username: Option<&str>, userdomain: Option<&str>) -> Option<String> {
    let sid = whoami_csv
        .split(',')
        .map(|f| f.trim().trim_matches('"'))
        .find(|f| f.starts_with("S-1-") && f[4..].chars().all(|c| c.is_ascii_digit() || c == '-'));
    if let Some(sid) = sid {
        return Some(format!("*{sid}"));
    }
    let user = username.map(str::trim).filter(|u| !u.is_empty())?;
    match userdomain.map(str::trim).filter(|d| !d.is_empty()) {
        Some(domain) => Some(format!(r"{domain}\{user}")),
        None => Some(user.to_string()),
    }
}

/// The tools by full path: a `whoami.exe` or `icacls.exe` dropped next to litellm-stack.exe
/// would otherwise run first.
#[cfg(windows)]
fn system32_tool(name: &str) -> PathBuf {
    let root = std::env::var_os("SystemRoot").unwrap_or_else(|| OsString::from(r"C:\Windows"));
    PathBuf::from(root).join("System32").join(name)
}

/// Restricts a file to its owner on Windows with `icacls` (in every Windows since Vista).
/// Best effort: the file is already written, and some volumes (FAT, exFAT, network shares)
/// have no ACLs. When it cannot be done the reason is returned, untranslated, for the caller
/// to warn with: library code never prints (the wizard may be on screen).
#[cfg(windows)]
pub fn restrict_to_owner(path: &Path) -> Result<(), String> {
    use std::process::{Command, Stdio};
    let whoami = Command::new(system32_tool("whoami.exe"))
        .args(["/user", "/fo", "csv", "/nh"])
        .stderr(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let username = std::env::var("USERNAME").ok();
    let userdomain = std::env::var("USERDOMAIN").ok();
    let account = icacls_account(&whoami, username.as_deref(), userdomain.as_deref())
        .ok_or_else(|| "neither whoami nor USERNAME names the current account".to_string())?;
    let icacls = system32_tool("icacls.exe");
    let out = Command::new(&icacls)
        .args(owner_only_icacls_args(path, &account))
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{}: {e}", icacls.display()))?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stdout).trim().to_string();
        return Err(format!("icacls exited with {}: {said}", out.status));
    }
    // Explicit grants a person added by hand; this cannot take the owner's entry away.
    let _ = Command::new(&icacls)
        .args(remove_broad_groups_icacls_args(path))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The user's language where no `LANG` is set.

/// The UI language of the user's session (`zh-TW`, `en-US`), for choosing messages when no
/// `LC_ALL`/`LC_MESSAGES`/`LANG` says: Windows sets none of them.
pub fn ui_locale() -> Option<String> {
    #[cfg(windows)]
    {
        sys_locale::get_locale()
    }
    #[cfg(not(windows))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icacls_names_the_account_by_sid_when_whoami_gives_one() {
        let csv = "\"desktop-7\\alice\",\"S-1-5-21-1004336348-1177238915-682003330-1001\"\r\n";
        assert_eq!(
            icacls_account(csv, Some("alice"), Some("DESKTOP-7")).as_deref(),
            Some("*S-1-5-21-1004336348-1177238915-682003330-1001")
        );
        // Wine's whoami ignores /user and prints the name only.
        assert_eq!(
            icacls_account("VM\\root\r\n", Some("root"), Some("VM")).as_deref(),
            Some(r"VM\root")
        );
        assert_eq!(icacls_account("", Some("bob"), None).as_deref(), Some("bob"));
        assert_eq!(icacls_account("", Some(" "), Some("X")), None);
    }

    #[test]
    fn icacls_removes_inheritance_and_grants_the_owner_only() {
        let args = owner_only_icacls_args(Path::new(r"C:\work\TW\litellm\.env"), "*S-1-5-21-1-2-3-1001");
        let args: Vec<String> = args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
        assert_eq!(
            args,
            [
                r"C:\work\TW\litellm\.env",
                "/inheritance:r",
                "/grant:r",
                "*S-1-5-21-1-2-3-1001:F"
            ]
        );
        let rm = remove_broad_groups_icacls_args(Path::new(".env"));
        assert_eq!(rm[1], "/remove:g");
        assert!(rm.iter().any(|a| a == "*S-1-1-0"), "Everyone is removed: {rm:?}");
    }

    #[test]
    fn docker_desktop_pipe_is_the_windows_default() {
        assert_eq!(Os::Windows.default_engine_endpoint(), "npipe:////./pipe/docker_engine");
        assert_eq!(Os::Linux.default_engine_endpoint(), "unix:///var/run/docker.sock");
        assert_eq!(Os::Windows.default_dir(), PathBuf::from(r"C:\work\TW\litellm"));
        assert_eq!(Os::Windows.default_data_storage(), DataStorage::Volumes);
        assert_eq!(Os::Windows.shell(), Shell::PowerShell);
    }

    /// Runs on whichever build runs the tests: under wine this is the Windows build writing
    /// through Windows' file APIs, where a text-mode write would turn `\n` into `\r\n`.
    #[test]
    fn rendered_files_are_written_with_lf_only() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut answers = crate::answers::Answers::defaults_for(Os::current());
        answers.dir = dir.path().join("litellm");
        let ws = crate::workspace::Workspace::prepare(answers, Os::current(), &|_| None).expect("prepare");
        ws.write("20260101T000000Z").expect("write");
        let mut checked = 0;
        for f in &ws.files {
            let bytes = std::fs::read(join_rel(ws.dir(), &f.path)).expect("written file");
            assert!(!bytes.is_empty(), "{} is empty", f.path);
            assert!(!bytes.contains(&b'\r'), "{} has a CR byte", f.path);
            if f.contents.contains('\n') {
                assert!(bytes.contains(&b'\n'), "{} has no LF", f.path);
            }
            checked += 1;
        }
        assert!(checked >= 5, "only {checked} files written");
    }

    #[test]
    fn windows_build_defaults_to_windows() {
        if cfg!(windows) {
            assert_eq!(Os::current(), Os::Windows);
            assert_eq!(Os::current().default_data_storage(), DataStorage::Volumes);
        } else {
            assert_eq!(Os::current(), Os::Linux);
        }
    }
}
