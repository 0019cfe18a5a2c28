//! Docker as users have it (issue 13): Compose v2 beside the installer sees the stack as its
//! own, and a user in the `docker` group (not root) installs, stops, re-installs and purges.
//! Real engine, real Compose v2 (Debian trixie's 2.26, from `ci/setup.sh`), LiteLLM on its
//! Postgres (the `litellm-db` test image).

// Linux only: the docker-group user and file ownership are Unix ideas (the Windows clippy of
// the test targets builds it out).
#![cfg(unix)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use common::stack::{TestStack, docker_ok, text};

fn compose_ok(s: &TestStack, args: &[&str]) -> String {
    let out = s.compose(args);
    assert!(out.status.success(), "docker compose {args:?} failed:\n{}", text(&out));
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// `docker compose ps --format json`: one object per line (2.21 and later) or one array.
fn compose_ps(s: &TestStack) -> Vec<serde_json::Value> {
    let out = compose_ok(s, &["ps", "--all", "--format", "json"]);
    let trimmed = out.trim();
    if trimmed.starts_with('[') {
        serde_json::from_str::<Vec<serde_json::Value>>(trimmed).expect("ps JSON array")
    } else {
        trimmed
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("ps line {l:?}: {e}")))
            .collect()
    }
}

fn install_ok(s: &TestStack, what: &str) -> String {
    let out = s.install();
    assert!(out.status.success(), "{what}: install failed:\n{}", text(&out));
    String::from_utf8_lossy(&out.stdout).to_string()
}

const SERVICES: [&str; 5] = ["litellm", "nginx", "postgres", "prometheus", "redis"];

#[test]
fn compose_v2_sees_the_installers_stack_as_its_own_and_each_side_accepts_the_others_containers() {
    let s = TestStack::new("compose");
    install_ok(&s, "fresh install");

    // The hash on every container is the one this machine's Compose computes for the file.
    let hashes: BTreeMap<String, String> = compose_ok(&s, &["config", "--hash", "*"])
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(svc, h)| (svc.to_string(), h.trim().to_string()))
        .collect();
    assert_eq!(hashes.len(), 5, "{hashes:?}");
    for (svc, hash) in &hashes {
        let label = docker_ok(&[
            "inspect",
            "--format",
            "{{index .Config.Labels \"com.docker.compose.config-hash\"}}",
            &s.container(svc),
        ]);
        assert_eq!(
            &label, hash,
            "{svc}: the installer's Compose hash differs from Compose's own"
        );
    }

    // `docker compose ps` lists the five services, running and healthy.
    let ps = compose_ps(&s);
    let mut seen: Vec<String> = ps
        .iter()
        .map(|c| c["Service"].as_str().unwrap_or_default().to_string())
        .collect();
    seen.sort();
    assert_eq!(seen, SERVICES, "docker compose ps: {ps:?}");
    for c in &ps {
        assert_eq!(c["State"], "running", "{c}");
        assert_eq!(c["Health"], "healthy", "{c}");
    }
    // `docker compose logs litellm` shows the proxy's own lines.
    let logs = compose_ok(&s, &["logs", "--no-color", "litellm"]);
    assert!(
        logs.contains("Uvicorn running") || logs.contains("Application startup complete"),
        "docker compose logs litellm:\n{logs}"
    );
    let ls = compose_ok(&s, &["ls", "--all", "--format", "json"]);
    assert!(
        ls.contains(&s.project) && ls.contains("running(5)"),
        "docker compose ls: {ls}"
    );

    // `docker compose up -d` right after the install recreates nothing.
    let after_install = s.containers();
    assert_eq!(after_install.len(), 5);
    compose_ok(&s, &["up", "-d"]);
    assert_eq!(
        s.containers(),
        after_install,
        "docker compose up -d recreated a container"
    );

    // And the installer right after Compose recreates nothing either.
    let stdout = install_ok(&s, "re-run after docker compose up -d");
    assert_eq!(
        s.containers(),
        after_install,
        "the re-run recreated a container:\n{stdout}"
    );

    // A container Compose made itself (forced) is accepted by the next install as it is.
    // (Not `--no-deps`: Compose leaves `depends_on` out of its hash then, and its own next `up`
    // recreates the container again.)
    compose_ok(&s, &["up", "-d", "--force-recreate", "litellm"]);
    let compose_made = s.containers();
    assert_ne!(
        compose_made["litellm"], after_install["litellm"],
        "--force-recreate made a new one"
    );
    let stdout = install_ok(&s, "re-run after Compose recreated litellm");
    assert_eq!(
        s.containers(),
        compose_made,
        "the installer recreated Compose's container:\n{stdout}"
    );

    // stop / start / restart by hand work on the installer's stack.
    compose_ok(&s, &["restart", "redis"]);
    compose_ok(&s, &["stop", "prometheus"]);
    let stopped: Vec<_> = compose_ps(&s)
        .into_iter()
        .filter(|c| c["Service"] == "prometheus")
        .collect();
    assert_eq!(stopped[0]["State"], "exited", "{stopped:?}");
    compose_ok(&s, &["start", "prometheus"]);

    // A virtual key the team made, then `docker compose down` and `litellm-stack install`:
    // the same data comes back.
    let master = s.env_value("LITELLM_MASTER_KEY");
    let (status, body) = s.http(
        "POST",
        "/key/generate",
        Some(&master),
        Some(r#"{"key_alias":"compose-e2e","models":["smoke-test"]}"#),
    );
    assert_eq!(status, 200, "{body}");
    let key: serde_json::Value = serde_json::from_str(&body).expect("key JSON");
    let key = key["key"].as_str().expect("a key").to_string();
    compose_ok(&s, &["down"]);
    assert!(s.containers().is_empty(), "docker compose down left containers");
    install_ok(&s, "install after docker compose down");
    let (status, body) = s.http(
        "POST",
        "/v1/chat/completions",
        Some(&key),
        Some(r#"{"model":"smoke-test","messages":[{"role":"user","content":"after down"}]}"#),
    );
    assert_eq!(status, 200, "the team's key after compose down + install: {body}");
    assert!(body.contains("pong"), "{body}");
}

/// A login user for the test, in the docker group or not; removed on drop.
struct User {
    name: String,
}

impl User {
    /// `name` with this process's id: two runs of the suite on one machine (a developer's and
    /// CI's) never share a user.
    fn new(name: &str, docker_group: bool) -> User {
        let name = &format!("{name}-{}", std::process::id());
        let _ = Command::new("userdel").args(["-r", name]).output();
        let mut c = Command::new("useradd");
        c.args(["--create-home", "--shell", "/bin/bash"]);
        if docker_group {
            c.args(["--groups", "docker"]);
        }
        let out = c.arg(name).output().expect("useradd runs");
        assert!(out.status.success(), "useradd {name}: {}", text(&out));
        User { name: name.into() }
    }

    /// The binary as this user, with a login-like environment.
    fn run(&self, args: &[&str], cwd: &Path) -> Output {
        Command::new("runuser")
            .args(["-u", &self.name, "--"])
            .arg("env")
            .arg(format!("HOME=/home/{}", self.name))
            .arg(format!("USER={}", self.name))
            .arg("LANG=C.UTF-8")
            .arg(env!("CARGO_BIN_EXE_litellm-stack"))
            .args(args)
            .current_dir(cwd)
            .output()
            .expect("runuser runs")
    }
}

impl Drop for User {
    fn drop(&mut self) {
        let _ = Command::new("userdel").args(["-r", &self.name]).output();
    }
}

fn uid_of(name: &str) -> u32 {
    let out = Command::new("id").args(["-u", name]).output().expect("id runs");
    String::from_utf8_lossy(&out.stdout).trim().parse().expect("a uid")
}

#[test]
fn a_user_in_the_docker_group_installs_stops_reinstalls_and_purges_without_root() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    let user = User::new("lst-e2e-dev", true);
    let uid = uid_of(&user.name);
    let s = TestStack::new("user");
    // The user's own folder holds the answers and the install dir, as on a laptop.
    let home = s.root.path();
    std::os::unix::fs::chown(home, Some(uid), None).expect("chown the test root");
    std::os::unix::fs::chown(s.answers(), Some(uid), None).expect("chown the answers");
    std::fs::set_permissions(home, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let answers = s.answers().display().to_string();

    let out = user.run(&["install", "--yes", "--answers", &answers, "--lang", "en"], home);
    assert!(out.status.success(), "install as {}:\n{}", user.name, text(&out));
    let (status, body) = s.http("GET", "/health/readiness", None, None);
    assert_eq!(status, 200, "{body}");

    // Every file is the user's, except the data folders the containers own.
    let dir = s.dir();
    let env = std::fs::metadata(dir.join(".env")).expect(".env");
    assert_eq!(env.uid(), uid, ".env owner");
    assert_eq!(env.mode() & 0o777, 0o600, ".env mode");
    let container_owned = ["pg_data", "redis_data", "prometheus_data"];
    for entry in walk(&dir) {
        let rel = entry.strip_prefix(&dir).expect("under dir");
        if container_owned.iter().any(|d| rel.starts_with(d)) {
            continue;
        }
        let meta = std::fs::symlink_metadata(&entry).expect("metadata");
        assert_eq!(meta.uid(), uid, "{} is not owned by the user", rel.display());
    }

    // Without the docker group: exit 3 and the usermod hint, on the same install.
    let outsider = User::new("lst-e2e-nogroup", false);
    let out = outsider.run(&["status", "--answers", &answers, "--lang", "en"], home);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(3), "{all}");
    assert!(all.contains("usermod -aG docker"), "{all}");
    assert!(all.contains("log out"), "{all}");

    let out = user.run(&["down", "--answers", &answers, "--lang", "en"], home);
    assert!(out.status.success(), "down:\n{}", text(&out));
    assert!(s.containers().is_empty(), "down left containers");
    let out = user.run(&["install", "--yes", "--answers", &answers, "--lang", "en"], home);
    assert!(out.status.success(), "install again:\n{}", text(&out));

    // Purge removes the data the containers own, which the user could not delete by hand.
    let out = user.run(
        &["uninstall", "--purge", "--yes", "--answers", &answers, "--lang", "en"],
        home,
    );
    assert!(out.status.success(), "uninstall --purge:\n{}", text(&out));
    assert!(s.containers().is_empty(), "purge left containers");
    let left: Vec<_> = walk(&dir)
        .into_iter()
        .filter(|p| std::fs::symlink_metadata(p).map(|m| m.uid() != uid).unwrap_or(false))
        .collect();
    assert!(left.is_empty(), "purge left files the user cannot delete: {left:?}");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("what is left is removable");
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
        out.push(p.clone());
        if is_dir {
            out.extend(walk(&p));
        }
    }
    out
}
