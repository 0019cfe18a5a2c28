//! Backup and restore for real: the binary on the real engine with LiteLLM on its Postgres (the
//! `litellm-db` image of `ci/setup.sh`). A team's virtual key, a model stored in the database
//! and spend rows go into a backup; the stack is purged; the archive alone brings it all back
//! in a new directory. Also: `backup verify` passes a good archive and fails (exit 1) one with a
//! byte changed or cut short; retention keeps exactly `backup.keep` archives; a restore whose
//! salt key differs from the install's `.env` is refused (exit 3) with the stack untouched.
//!
//! What it cannot prove: the official postgres:16 image (the test image runs Debian's
//! Postgres 15 with the official image's contract), Windows' named volumes (the dump goes
//! through the engine either way, so the path is the same), an archive moved to another machine
//! (here: another directory on the same engine, after the first stack is gone).

// The engine and the test images are Linux's.
#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::bin;
use common::stack::{INSTALL_TIMEOUT, TestStack, text};

fn archives(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir.join("backups"))
        .expect("backups/ exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().expect("name").to_string_lossy().to_string();
            n.starts_with("litellm-backup-") && n.ends_with(".tar.gz")
        })
        .collect();
    found.sort();
    found
}

/// The archive's manifest, read with the system's tar (as a person would look into it).
fn manifest(file: &Path) -> serde_json::Value {
    let out = std::process::Command::new("tar")
        .arg("-xzOf")
        .arg(file)
        .arg("manifest.json")
        .output()
        .expect("tar runs");
    assert!(out.status.success(), "tar: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("manifest.json is JSON")
}

fn count(s: &TestStack, table: &str) -> u64 {
    s.psql(&format!("SELECT count(*) FROM \"{table}\""))
        .parse()
        .expect("a count")
}

fn chat(s: &TestStack, key: &str, model: &str) -> (u16, String) {
    let body = format!(
        r#"{{"model":"{model}","messages":[{{"role":"user","content":"backup test {}"}}],"cache":{{"no-cache":true}}}}"#,
        std::process::id()
    );
    s.http("POST", "/v1/chat/completions", Some(key), Some(&body))
}

fn run(args: &[&std::ffi::OsStr]) -> std::process::Output {
    bin()
        .args(args)
        .timeout(INSTALL_TIMEOUT)
        .output()
        .expect("run litellm-stack")
}

#[test]
fn a_backup_brings_keys_models_and_rows_back_in_a_new_directory_and_bad_archives_fail() {
    let mut s = TestStack::new("backup");
    s.extra = "backup:\n  keep: 2\n".into();
    s.write_answers();
    let out = s.install();
    assert!(out.status.success(), "fresh install failed:\n{}", text(&out));

    // What a team has in its database: a model, a virtual key, spend rows.
    let master = s.env_value("LITELLM_MASTER_KEY");
    let (status, body) = s.http(
        "POST",
        "/model/new",
        Some(&master),
        Some(r#"{"model_name":"db-model","litellm_params":{"model":"openai/gpt-4o-mini","api_key":"fake-key-in-db","mock_response":"from the database"}}"#),
    );
    assert_eq!(status, 200, "/model/new: {body}");
    let (status, body) = s.http(
        "POST",
        "/key/generate",
        Some(&master),
        Some(r#"{"key_alias":"team-key"}"#),
    );
    assert_eq!(status, 200, "/key/generate: {body}");
    let team_key = serde_json::from_str::<serde_json::Value>(&body).expect("JSON")["key"]
        .as_str()
        .expect("a key")
        .to_string();
    let (status, body) = chat(&s, &team_key, "smoke-test");
    assert_eq!(status, 200, "{body}");
    // LiteLLM writes spend rows in batches.
    let started = Instant::now();
    while count(&s, "LiteLLM_SpendLogs") == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no spend rows after 120 s"
        );
        std::thread::sleep(Duration::from_secs(2));
    }

    // backup: one archive, owner-only, said to hold the secrets, with a manifest that tells.
    let out = s.cmd(&["backup"]);
    assert!(out.status.success(), "backup failed:\n{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(stdout.contains("It holds the secrets"), "{stdout}");
    let made = archives(&s.dir());
    assert_eq!(made.len(), 1, "{made:?}");
    let archive = made[0].clone();
    assert!(stdout.contains(&archive.display().to_string()), "{stdout}");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&archive).expect("archive").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the archive holds the secrets");
    }
    let m = manifest(&archive);
    let counts = &m["counts"];
    assert!(counts["LiteLLM_VerificationToken"].as_u64() >= Some(1), "{m}");
    assert!(counts["LiteLLM_ProxyModelTable"].as_u64() >= Some(1), "{m}");
    assert!(counts["LiteLLM_SpendLogs"].as_u64() >= Some(1), "{m}");
    assert_eq!(m["litellm_version"], common::ci_env("LST_LITELLM_VERSION"), "{m}");
    assert_eq!(m["postgres_major"], 15, "{m}");
    assert!(m["newest_migration"].as_str().is_some_and(|v| !v.is_empty()), "{m}");
    let salt = s.env_value("LITELLM_SALT_KEY");
    let fingerprint = m["salt_key_fingerprint"].as_str().expect("a fingerprint");
    assert!(
        fingerprint.starts_with("hmac-sha256:") && !fingerprint.contains(&salt),
        "{m}"
    );
    assert!(!m.to_string().contains(&master), "the manifest shows the master key");
    for member in [
        "database.dump",
        ".env",
        "config.yaml",
        "answers.yaml",
        "images.lock.yaml",
    ] {
        assert!(m["members"][member]["sha256"].as_str().is_some(), "{member} in {m}");
    }

    // verify: the good archive passes; a byte changed or the end cut off fails with exit 1.
    let out = s.cmd(&["backup", "verify", archive.to_str().expect("utf-8")]);
    assert!(out.status.success(), "verify of a good archive failed:\n{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("passed"),
        "{}",
        text(&out)
    );
    let bytes = std::fs::read(&archive).expect("read");
    let changed = s.root.path().join("changed.tar.gz");
    let mut altered = bytes.clone();
    altered[bytes.len() / 2] ^= 0x20;
    std::fs::write(&changed, &altered).expect("write");
    let cut = s.root.path().join("cut.tar.gz");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).expect("write");
    for bad in [&changed, &cut] {
        let out = s.cmd(&["backup", "verify", bad.to_str().expect("utf-8")]);
        assert_eq!(out.status.code(), Some(1), "{}: {}", bad.display(), text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("is damaged"), "{stderr}");
    }
    let leftovers = common::stack::docker_ok(&["ps", "-aq", "--filter", "label=io.litellm-stack.backup-check"]);
    assert!(leftovers.is_empty(), "a throwaway Postgres stayed: {leftovers}");

    // Retention: keep 2, after three backups two are left, the newest among them.
    let kept = s.root.path().join("kept.tar.gz");
    std::fs::copy(&archive, &kept).expect("copy");
    for _ in 0..2 {
        let out = s.cmd(&["backup"]);
        assert!(out.status.success(), "backup failed:\n{}", text(&out));
    }
    let now = archives(&s.dir());
    assert_eq!(now.len(), 2, "{now:?}");
    assert!(!now.contains(&archive), "the oldest was kept: {now:?}");

    // A restore with another salt key in .env: exit 3, nothing changed.
    let env_path = s.dir().join(".env");
    let env = std::fs::read_to_string(&env_path).expect(".env");
    let other = env.replace(
        &format!("LITELLM_SALT_KEY={salt}"),
        "LITELLM_SALT_KEY=sk-another-salt-0123456789",
    );
    assert_ne!(other, env);
    std::fs::write(&env_path, &other).expect("write .env");
    let before = s.containers();
    let keys_before = count(&s, "LiteLLM_VerificationToken");
    let out = s.cmd(&["restore", kept.to_str().expect("utf-8"), "--yes"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Nothing was changed"),
        "{}",
        text(&out)
    );
    assert_eq!(s.containers(), before, "containers changed");
    assert_eq!(
        std::fs::read_to_string(&env_path).expect(".env"),
        other,
        ".env was rewritten"
    );
    assert_eq!(count(&s, "LiteLLM_VerificationToken"), keys_before);
    assert_eq!(archives(&s.dir()).len(), 2, "a backup was made before refusing");
    std::fs::write(&env_path, &env).expect("put .env back");

    // --out: the archive where asked, owner-only; backups/ and its retention untouched.
    let out_file = s.root.path().join("elsewhere").join("mine.tar.gz");
    let out = s.cmd(&["backup", "--out", out_file.to_str().expect("utf-8")]);
    assert!(out.status.success(), "backup --out failed:\n{}", text(&out));
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out_file).expect("--out file").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    assert_eq!(archives(&s.dir()), now, "--out changed backups/");

    // Onto the running install: the current data is backed up first (the undo), then the
    // archive's comes back, and the gateway passes readiness and the API test.
    let out = s.cmd(&["restore", kept.to_str().expect("utf-8"), "--yes"]);
    assert!(out.status.success(), "restore onto the install failed:\n{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(stdout.contains("The data it replaced is backed up in"), "{stdout}");
    let after = archives(&s.dir());
    assert_eq!(after.len(), 2, "{after:?}");
    assert!(!now.contains(&after[1]), "the undo archive is the newest: {after:?}");
    let (status, body) = chat(&s, &team_key, "smoke-test");
    assert_eq!(status, 200, "the team's key after a restore onto the install: {body}");

    // The stack and its data gone; the archive alone brings it back in a new directory.
    let out = s.cmd(&["uninstall", "--purge", "--yes"]);
    assert!(out.status.success(), "uninstall --purge failed:\n{}", text(&out));
    assert!(s.containers().is_empty());
    s.dir_name = "restored".into();
    let new_dir = s.dir();
    let out = run(&[
        "restore".as_ref(),
        kept.as_os_str(),
        "--dir".as_ref(),
        new_dir.as_os_str(),
        "--yes".as_ref(),
    ]);
    assert!(
        out.status.success(),
        "restore into a new directory failed:\n{}",
        text(&out)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(stdout.contains("the new database has the manifest's rows"), "{stdout}");
    assert!(stdout.contains("passed the API test"), "{stdout}");
    // The restored database knows the old install's Prometheus key, not the one the install
    // in the new dir made: a new one, after the switch, that Prometheus scrapes with.
    assert!(
        stdout.contains("the database does not know the key that was there"),
        "{stdout}"
    );
    assert_eq!(s.env_value("LITELLM_SALT_KEY"), salt, "the archive's .env is used");

    let (status, body) = chat(&s, &team_key, "smoke-test");
    assert_eq!(status, 200, "the team's virtual key after the restore: {body}");
    assert!(body.contains("pong"), "{body}");
    let (status, body) = chat(&s, &master, "db-model");
    assert_eq!(
        status, 200,
        "the model stored in the database after the restore: {body}"
    );
    assert!(body.contains("from the database"), "{body}");
    let m = manifest(&kept);
    for table in ["LiteLLM_VerificationToken", "LiteLLM_ProxyModelTable"] {
        assert_eq!(Some(count(&s, table)), m["counts"][table].as_u64(), "{table}");
    }
    // The API test and the chats above add spend rows; none of the archive's is lost.
    assert!(Some(count(&s, "LiteLLM_SpendLogs")) >= m["counts"]["LiteLLM_SpendLogs"].as_u64());

    // The install moved to an older LiteLLM, whose image ships fewer migrations than the
    // archive's database has: the restore says which version it needs, and changes nothing.
    let previous = common::ci_env("LST_IMAGE_LITELLM_PREVIOUS");
    common::stack::docker_ok(&["pull", &previous]);
    let answers_path = new_dir.join("answers.yaml");
    let answers = std::fs::read_to_string(&answers_path).expect("answers.yaml");
    let older = answers.replace(&s.images["litellm"], &previous);
    assert_ne!(older, answers, "the LiteLLM image is in the restored answers");
    std::fs::write(&answers_path, &older).expect("write answers.yaml");
    let before = s.containers();
    let out = run(&[
        "restore".as_ref(),
        kept.as_os_str(),
        "--dir".as_ref(),
        new_dir.as_os_str(),
        "--yes".as_ref(),
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("migrations only go forward") && stderr.contains(&common::ci_env("LST_LITELLM_VERSION")),
        "{stderr}"
    );
    assert_eq!(s.containers(), before, "containers changed");
    assert_eq!(archives(&new_dir).len(), 0, "a backup was made before refusing");
}
