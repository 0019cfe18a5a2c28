//! The bootstrap scripts: `installer-scripts/install.sh` run for real on this machine (shellcheck,
//! a build from source, release files with right and wrong checksums), and
//! `installer-scripts/install.ps1` parsed with the tree-sitter PowerShell grammar and held to its
//! contract (no PowerShell interpreter exists here, so its behaviour is checked by reading it).
//!
//! install.sh runs on Linux only, and so do these tests (they are not built for Windows).
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use sha2::{Digest, Sha256};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn install_sh() -> PathBuf {
    repo().join("installer-scripts/install.sh")
}

fn install_ps1_text() -> String {
    std::fs::read_to_string(repo().join("installer-scripts/install.ps1")).expect("installer-scripts/install.ps1 exists")
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// `bash install.sh ARGS`, with messages in English.
fn run_install_sh(args: &[&str]) -> Output {
    Command::new("bash")
        .arg(install_sh())
        .args(args)
        .env("LANG", "C.UTF-8")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .output()
        .expect("bash runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A "release file" that leaves a mark when it is executed: proves a refused file never ran.
fn tripwire(dir: &Path) -> (PathBuf, PathBuf) {
    let mark = dir.join("it-ran");
    let file = dir.join("litellm-stack");
    std::fs::write(
        &file,
        format!("#!/bin/sh\ntouch '{}'\necho litellm-stack 9.9.9\n", mark.display()),
    )
    .expect("write tripwire");
    let mut perms = std::fs::metadata(&file).expect("stat").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&file, perms).expect("chmod");
    (file, mark)
}

// ---- install.sh ---------------------------------------------------------------------------------

#[test]
fn install_sh_passes_shellcheck() {
    let out = Command::new("shellcheck")
        .arg("--severity=style")
        .arg(install_sh())
        .output()
        .unwrap_or_else(|e| panic!("shellcheck is not runnable ({e}): apt-get install shellcheck"));
    assert!(
        out.status.success(),
        "shellcheck found problems:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn install_sh_from_source_gives_a_working_binary() {
    let prefix = tempfile::tempdir().expect("temp prefix");
    let prefix_str = prefix.path().to_str().expect("utf-8 temp path");
    // The repository's own target dir: the release build is shared with other runs instead of
    // starting from nothing in a temp dir.
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| repo().join("target").display().to_string());
    // A rerun leaving the binary alone is checked with a release file
    // (`release_file_with_the_right_checksum_installs_and_runs`): here the tree may change
    // between two builds while others work in it.
    let started = Instant::now();
    let out = Command::new("bash")
        .arg(install_sh())
        .args(["--from-source", repo().to_str().expect("utf-8 repo path")])
        .args(["--prefix", prefix_str, "--", "--version"])
        .env("LANG", "C.UTF-8")
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .expect("bash runs");
    eprintln!("install.sh --from-source took {:.1} s", started.elapsed().as_secs_f64());
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "exit {:?}\n{stderr}", out.status.code());
    let version = format!("litellm-stack {}", env!("CARGO_PKG_VERSION"));
    assert!(text(&out.stdout).contains(&version), "stdout: {}", text(&out.stdout));

    let installed = prefix.path().join("litellm-stack");
    let direct = Command::new(&installed)
        .arg("--version")
        .output()
        .expect("installed binary runs");
    assert!(direct.status.success());
    // `--version` names the commit and the pinned LiteLLM too (issue 18): the line the build
    // printed through the bootstrap is the line the installed binary prints.
    let line = text(&direct.stdout).trim().to_string();
    assert!(
        line.starts_with(&format!("{version} (commit ")),
        "--version printed {line:?}"
    );
    assert!(line.contains("pins LiteLLM "), "--version printed {line:?}");
    assert!(
        text(&out.stdout).contains(&line),
        "bootstrap printed {:?}, binary {line:?}",
        text(&out.stdout)
    );
}

#[test]
fn wrong_checksum_stops_before_anything_is_installed_or_run() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (file, mark) = tripwire(dir.path());
    let prefix = dir.path().join("bin");
    let wrong = sha256_hex(b"some other release");
    let out = run_install_sh(&[
        "--binary",
        file.to_str().expect("utf-8"),
        "--sha256",
        &wrong,
        "--prefix",
        prefix.to_str().expect("utf-8"),
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let actual = sha256_hex(&std::fs::read(&file).expect("read tripwire"));
    assert!(stderr.contains("checksum mismatch"), "{stderr}");
    assert!(
        stderr.contains(&wrong) && stderr.contains(&actual),
        "both sums shown: {stderr}"
    );
    assert!(stderr.contains("NOT installed or run"), "{stderr}");
    assert!(!mark.exists(), "the unverified file was executed");
    assert!(
        !prefix.join("litellm-stack").exists(),
        "the unverified file was installed"
    );
}

#[test]
fn wrong_checksum_of_a_download_stops_it_too() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (file, mark) = tripwire(dir.path());
    let prefix = dir.path().join("bin");
    let url = format!("file://{}", file.display());
    let out = run_install_sh(&[
        "--binary-url",
        &url,
        "--sha256",
        &"ab".repeat(32),
        "--prefix",
        prefix.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("checksum mismatch"), "{}", text(&out.stderr));
    assert!(!mark.exists() && !prefix.exists(), "nothing ran, nothing was installed");
}

#[test]
fn right_checksum_of_a_non_linux_file_is_still_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (file, mark) = tripwire(dir.path());
    let sum = sha256_hex(&std::fs::read(&file).expect("read"));
    let prefix = dir.path().join("bin");
    let out = run_install_sh(&[
        "--binary",
        file.to_str().expect("utf-8"),
        "--sha256",
        &sum,
        "--prefix",
        prefix.to_str().expect("utf-8"),
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("SHA-256 verified"), "{stderr}");
    assert!(stderr.contains("is not a Linux executable"), "{stderr}");
    assert!(!mark.exists(), "a shell script posing as the binary was executed");
}

/// The release-file path end to end, with the binary this test run built: from a local file,
/// then from a download (curl, `file://`: no network here), then again (nothing changes).
#[test]
fn release_file_with_the_right_checksum_installs_and_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A private copy: other builds sharing the target dir may replace the original meanwhile.
    let built = dir.path().join("release-file");
    std::fs::copy(env!("CARGO_BIN_EXE_litellm-stack"), &built).expect("copy the built binary");
    let sum = sha256_hex(&std::fs::read(&built).expect("read built binary"));
    let prefix = dir.path().join("bin");
    let prefix_s = prefix.to_str().expect("utf-8");
    let version = format!("litellm-stack {}", env!("CARGO_PKG_VERSION"));

    let started = Instant::now();
    let local = run_install_sh(&[
        "--binary",
        built.to_str().expect("utf-8"),
        "--sha256",
        &sum.to_uppercase(),
        "--prefix",
        prefix_s,
        "--",
        "--version",
    ]);
    eprintln!("install.sh --binary took {:.2} s", started.elapsed().as_secs_f64());
    assert!(local.status.success(), "{}", text(&local.stderr));
    assert!(text(&local.stdout).contains(&version), "{}", text(&local.stdout));
    assert!(
        text(&local.stderr).contains("SHA-256 verified"),
        "{}",
        text(&local.stderr)
    );
    assert_eq!(
        sha256_hex(&std::fs::read(prefix.join("litellm-stack")).expect("installed")),
        sum
    );

    let url = format!("file://{}", built.display());
    let again = run_install_sh(&[
        "--binary-url",
        &url,
        "--sha256",
        &sum,
        "--prefix",
        prefix_s,
        "--",
        "--version",
    ]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(
        text(&again.stderr).contains("already this version"),
        "{}",
        text(&again.stderr)
    );
    assert!(text(&again.stdout).contains(&version));

    // No source given: the installed binary is used, and gets the arguments after `--`.
    let installed = run_install_sh(&["--prefix", prefix_s, "--", "--help"]);
    assert!(installed.status.success(), "{}", text(&installed.stderr));
    assert!(
        text(&installed.stdout).contains("render"),
        "{}",
        text(&installed.stdout)
    );
}

#[test]
fn usage_errors_exit_2_and_say_what_is_wrong() {
    let cases: [(&[&str], &str); 7] = [
        (&[], "say where litellm-stack comes from"),
        (&["--frobnicate"], "unknown option --frobnicate"),
        (&["--binary", "/nonexistent/litellm-stack"], "--sha256 HEX is required"),
        (
            &["--binary", "/nonexistent/x", "--sha256", "1234"],
            "64 hexadecimal characters",
        ),
        (
            &["--binary", "/nonexistent/x", "--sha256", &"0".repeat(64)],
            "does not exist",
        ),
        (
            &["--from-source", "--binary", "x", "--sha256", &"0".repeat(64)],
            "choose one of",
        ),
        (&["--from-source", "/"], "is not a litellm-stack checkout"),
    ];
    for (args, expected) in cases {
        let out = run_install_sh(args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?} should say {expected:?}: {stderr}");
    }
}

#[test]
fn help_lists_every_option_and_the_exit_codes() {
    let out = run_install_sh(&["--help"]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    for option in [
        "--binary-url",
        "--binary FILE",
        "--sha256",
        "--from-source",
        "--prefix",
        "--install-docker",
        "--no-run",
        "Exit codes",
    ] {
        assert!(help.contains(option), "--help lacks {option}:\n{help}");
    }
    let zh = Command::new("bash")
        .arg(install_sh())
        .arg("--help")
        .env("LANG", "zh_TW.UTF-8")
        .env_remove("LC_ALL")
        .output()
        .expect("bash runs");
    assert!(text(&zh.stdout).contains("用法"), "{}", text(&zh.stdout));
}

// ---- install.ps1 --------------------------------------------------------------------------------

fn parse_powershell(src: &str) -> tree_sitter::Tree {
    let mut parser = tree_sitter::Parser::new();
    parser
        .set_language(&tree_sitter_powershell::LANGUAGE.into())
        .expect("the PowerShell grammar loads");
    parser.parse(src, None).expect("the parser returns a tree")
}

/// Every ERROR or MISSING node, with its line, so a failure points at the spot.
fn syntax_problems(src: &str) -> Vec<String> {
    let tree = parse_powershell(src);
    let mut found = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        if node.is_error() || node.is_missing() {
            let snippet: String = src[node.byte_range()].chars().take(80).collect();
            found.push(format!(
                "line {}: {} {snippet:?}",
                node.start_position().row + 1,
                if node.is_missing() { "MISSING" } else { "ERROR" },
            ));
        }
        let mut cursor = node.walk();
        stack.extend(node.children(&mut cursor));
    }
    found
}

/// The script without its byte-order mark (which the grammar does not expect).
fn ps1_source() -> String {
    install_ps1_text().trim_start_matches('\u{feff}').to_string()
}

#[test]
fn install_ps1_parses_without_errors() {
    let src = ps1_source();
    let problems = syntax_problems(&src);
    assert!(
        problems.is_empty(),
        "install.ps1 has syntax errors:\n{}",
        problems.join("\n")
    );
    // The check can fail: the same script with one brace removed does not parse.
    let broken = src.replacen(
        "    exit $LASTEXITCODE\n}\nfinally",
        "    exit $LASTEXITCODE\nfinally",
        1,
    );
    assert_ne!(broken, src, "the negative control must change the script");
    assert!(!syntax_problems(&broken).is_empty(), "a missing brace went unnoticed");
}

#[test]
fn install_ps1_is_utf8_with_a_byte_order_mark() {
    // Windows PowerShell 5.1 reads a script without a BOM in the ANSI code page (cp950 on a
    // Traditional Chinese Windows), which garbles the zh-TW messages.
    let bytes = std::fs::read(repo().join("installer-scripts/install.ps1")).expect("read");
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "install.ps1 must start with a UTF-8 BOM");
    assert!(std::str::from_utf8(&bytes).is_ok());
}

/// The names declared in the script's top-level `param(...)` block, from the syntax tree.
fn script_parameters(src: &str) -> Vec<String> {
    let tree = parse_powershell(src);
    let root = tree.root_node();
    let mut cursor = root.walk();
    let block = root
        .children(&mut cursor)
        .find(|n| n.kind() == "param_block")
        .expect("install.ps1 has a top-level param block");
    let mut names = Vec::new();
    let mut stack = vec![block];
    while let Some(node) = stack.pop() {
        if node.kind() == "script_parameter" {
            let mut c = node.walk();
            if let Some(var) = node.children(&mut c).find(|n| n.kind() == "variable") {
                names.push(src[var.byte_range()].trim_start_matches('$').to_string());
            }
            continue;
        }
        let mut c = node.walk();
        stack.extend(node.children(&mut c));
    }
    names
}

#[test]
fn install_ps1_has_the_contract_parameters() {
    let params = script_parameters(&ps1_source());
    for name in [
        "InstallDir",
        "BinaryUrl",
        "Binary",
        "Sha256",
        "FromSource",
        "SourceDir",
        "NoRun",
        "StackArgs",
    ] {
        assert!(
            params.iter().any(|p| p == name),
            "param block lacks -{name}: {params:?}"
        );
    }
}

#[test]
fn install_ps1_verifies_with_get_filehash_before_the_binary_starts() {
    let src = ps1_source();
    let define = src.find("function Assert-Sha256").expect("Assert-Sha256 is defined");
    let body_end = src[define..].find("\n}\n").map(|i| define + i).expect("function end");
    let body = &src[define..body_end];
    assert!(
        body.contains("Get-FileHash -LiteralPath $Path -Algorithm SHA256"),
        "{body}"
    );
    assert!(
        body.contains("Stop-Install $ExitUsage"),
        "a mismatch stops with exit 2: {body}"
    );

    // Both release-file paths verify their copy, and every verification comes before the
    // first start of the installed program.
    let first_start = src.find("& $dest").expect("the script starts litellm-stack.exe");
    let download = src.find("Invoke-WebRequest -Uri $BinaryUrl").expect("download");
    let download_check = src.find("Assert-Sha256 $downloaded").expect("the download is verified");
    let file_check = src.find("Assert-Sha256 $copy").expect("the local file is verified");
    let install = src
        .find("Copy-Item -LiteralPath $src")
        .expect("install copies the verified file");
    assert!(download < download_check, "verified after it is downloaded");
    assert!(
        download_check < install && file_check < install,
        "verified before it is installed"
    );
    assert!(install < first_start, "installed before it starts");
    assert!(src[..first_start].matches("Get-FileHash").count() >= 2);
}

#[test]
fn install_ps1_turns_on_tls12_for_windows_powershell() {
    let src = ps1_source();
    let tls = src
        .find("[Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12")
        .expect("TLS 1.2 is enabled");
    let download = src.find("Invoke-WebRequest -Uri").expect("download");
    assert!(tls < download, "TLS 1.2 must be on before the download");
    assert!(
        src.contains("-UseBasicParsing"),
        "5.1 without IE's engine needs -UseBasicParsing"
    );
}

#[test]
fn install_ps1_explains_the_execution_policy_and_docker_desktop() {
    let src = ps1_source();
    assert!(src.contains("powershell -ExecutionPolicy Bypass -File .\\installer-scripts\\install.ps1"));
    assert!(src.contains("running scripts is disabled on this system"));
    for probe in ["Get-Command docker.exe", "Docker Desktop.exe", "'info'"] {
        assert!(src.contains(probe), "Docker Desktop detection lacks {probe}");
    }
    let cmd = std::fs::read_to_string(repo().join("installer-scripts/install.cmd")).expect("install.cmd");
    assert!(
        cmd.contains("-ExecutionPolicy Bypass -File \"%~dp0install.ps1\" %*"),
        "{cmd}"
    );
    assert!(
        cmd.lines().count() > 1 && cmd.split('\n').all(|l| l.is_empty() || l.ends_with('\r')),
        "install.cmd needs CRLF"
    );
}
