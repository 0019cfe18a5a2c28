//! Backup and restore for real: the binary on the real engine with LiteLLM on its Postgres (the
//! `litellm-db` image of `ci/setup.sh`). A team's virtual key, a model stored in the database
//! and spend rows go into a backup; the stack is purged; the archive alone brings it all back
//! in a new directory. Also: `backup verify` passes a good archive and fails (exit 1) one with a
//! byte changed or cut short; retention keeps exactly `backup.keep` archives; a restore whose
//! salt key differs from the install's `.env` is refused (exit 3) with the stack untouched.
//! Ctrl-C (SIGINT to the binary) while pg_dump streams and while a restore loads leaves nothing
//! behind and the old database serving; the re-runs complete. `--json` of backup, restore and
//! upgrade: lines of `docs/events.schema.json`, the final result last.
//!
//! Windows' layout, the data on named volumes (Docker Desktop), is its own test here: backup,
//! purge, restore into a new directory, on this Linux engine.
//!
//! What it cannot prove: the official postgres:16 image (the test image runs Debian's
//! Postgres 15 with the official image's contract), Docker Desktop itself (named volumes on a
//! Linux engine stand in for it), an archive moved to another machine (here: another directory
//! on the same engine, after the first stack is gone).

// The engine and the test images are Linux's.
#![cfg(unix)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::bin;
use common::run::wait_for;
use common::stack::{INSTALL_TIMEOUT, TestStack, archives, backup_leftovers, text};

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

/// `restore ARCHIVE --dir DIR --yes`, with no answers file: the archive's answers are used.
fn restore_into(archive: &Path, dir: &Path) -> std::process::Output {
    bin()
        .arg("restore")
        .arg(archive)
        .arg("--dir")
        .arg(dir)
        .arg("--yes")
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
    s.add_db_model();
    let team_key = s.virtual_key("team-key");
    let (status, body) = s.chat(&team_key, "smoke-test");
    assert_eq!(status, 200, "{body}");
    // LiteLLM writes spend rows in batches.
    let started = Instant::now();
    while s.count("LiteLLM_SpendLogs") == 0 {
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
    let out = s.cmd(&["backup"]);
    assert!(out.status.success(), "backup failed:\n{}", text(&out));
    // As JSON lines: the steps, then `backed_up` with the archive and what retention removed.
    let out = s.cmd(&["backup", "--json"]);
    assert!(out.status.success(), "backup --json failed:\n{}", text(&out));
    let lines = json_lines(&out);
    let last = lines.last().expect("a line");
    assert_eq!(last["event"], "backed_up", "{}", text(&out));
    assert_eq!(last["holds_secrets"], true);
    assert!(last["pruned"].as_array().is_some_and(|p| !p.is_empty()), "{last}");
    assert!(
        lines.iter().any(|l| l["event"] == "step_done" && l["step"] == "dump"),
        "{}",
        text(&out)
    );
    assert!(Path::new(last["file"].as_str().expect("file")).is_file(), "{last}");
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
    let keys_before = s.count("LiteLLM_VerificationToken");
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
    assert_eq!(s.count("LiteLLM_VerificationToken"), keys_before);
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
    let (status, body) = s.chat(&team_key, "smoke-test");
    assert_eq!(status, 200, "the team's key after a restore onto the install: {body}");

    ctrl_c_during_backup_and_restore(&s, &team_key);

    // An upgrade to what runs: nothing to do, said as the `upgraded` line.
    let out = s.cmd(&["upgrade", "--yes", "--json"]);
    assert!(out.status.success(), "upgrade --json failed:\n{}", text(&out));
    let last = json_lines(&out).pop().expect("a line");
    assert_eq!(last["event"], "upgraded", "{}", text(&out));
    assert_eq!(last["up_to_date"], true, "{last}");

    // The stack and its data gone; the archive alone brings it back in a new directory.
    let out = s.cmd(&["uninstall", "--purge", "--yes"]);
    assert!(out.status.success(), "uninstall --purge failed:\n{}", text(&out));
    assert!(s.containers().is_empty());
    s.dir_name = "restored".into();
    let new_dir = s.dir();
    let out = restore_into(&kept, &new_dir);
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

    let (status, body) = s.chat(&team_key, "smoke-test");
    assert_eq!(status, 200, "the team's virtual key after the restore: {body}");
    assert!(body.contains("pong"), "{body}");
    let (status, body) = s.chat(&master, "db-model");
    assert_eq!(
        status, 200,
        "the model stored in the database after the restore: {body}"
    );
    assert!(body.contains("from the database"), "{body}");
    let m = manifest(&kept);
    for table in ["LiteLLM_VerificationToken", "LiteLLM_ProxyModelTable"] {
        assert_eq!(Some(s.count(table)), m["counts"][table].as_u64(), "{table}");
    }
    // The API test and the chats above add spend rows; none of the archive's is lost.
    assert!(Some(s.count("LiteLLM_SpendLogs")) >= m["counts"]["LiteLLM_SpendLogs"].as_u64());

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
    let out = restore_into(&kept, &new_dir);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("migrations only go forward") && stderr.contains(&common::ci_env("LST_LITELLM_VERSION")),
        "{stderr}"
    );
    assert_eq!(s.containers(), before, "containers changed");
    assert_eq!(archives(&new_dir).len(), 0, "a backup was made before refusing");
}

/// The dumps and restores a run of the binary with process id `pid` has in Postgres, and the
/// pg_dump/pg_restore processes in its container.
fn dump_sessions(s: &TestStack, pid: u32) -> (u64, String) {
    let sessions = s
        .psql(&format!(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name IN ('litellm-stack-{pid}', 'pg_dump', 'pg_restore')"
        ))
        .parse()
        .expect("a count");
    let top = common::stack::docker_ok(&["top", &s.container("postgres")]);
    let procs = top
        .lines()
        .filter(|l| l.contains("pg_dump") || l.contains("pg_restore"))
        .collect::<Vec<_>>()
        .join("\n");
    (sessions, procs)
}

/// Ctrl-C (SIGINT to the real binary) while pg_dump streams, and while a restore loads into
/// `<db>_restoring`: exit 130; no archive, staging folder or partial file left in `backups/`;
/// no dump or restore left running in Postgres; no half-made database; the serving database
/// the old one, intact; the gateway serves the team's key; a re-run completes.
fn ctrl_c_during_backup_and_restore(s: &TestStack, team_key: &str) {
    // Enough data for pg_dump and pg_restore to take seconds: random text, not compressible.
    s.psql(
        "CREATE TABLE ctrl_c_ballast AS SELECT g AS id, md5(random()::text) || md5(random()::text) || \
         md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text) AS pad \
         FROM generate_series(1, 400000) g",
    );
    let ballast = s.count("ctrl_c_ballast");
    let keys = s.count("LiteLLM_VerificationToken");

    // 1. backup, stopped while pg_dump streams into the staging folder.
    let before = archives(&s.dir());
    let run = s.spawn(&["backup"]);
    let pid = run.id();
    let backups = s.dir().join("backups");
    wait_for(Duration::from_secs(120), "pg_dump streaming", || {
        std::fs::read_dir(&backups).into_iter().flatten().flatten().any(|e| {
            e.file_name().to_string_lossy().starts_with(".litellm-stack-backup-")
                && std::fs::metadata(e.path().join("database.dump")).is_ok_and(|m| m.len() > 0)
        })
    });
    run.signal("-INT");
    let (code, said) = run.ended(Duration::from_secs(180));
    assert_eq!(code, Some(130), "{said}");
    assert!(
        said.contains("Interrupted") && said.contains("No archive was written"),
        "{said}"
    );
    assert_eq!(archives(&s.dir()), before, "a stopped backup left an archive:\n{said}");
    assert!(
        backup_leftovers(&s.dir()).is_empty(),
        "{:?}\n{said}",
        backup_leftovers(&s.dir())
    );
    let (sessions, procs) = dump_sessions(s, pid);
    assert_eq!(sessions, 0, "a dump still runs in Postgres after Ctrl-C:\n{procs}");
    assert!(procs.is_empty(), "{procs}");
    let (status, body) = s.chat(team_key, "smoke-test");
    assert_eq!(status, 200, "the gateway after a stopped backup: {body}");
    let out = s.cmd(&["backup"]);
    assert!(out.status.success(), "the backup after a stopped one:\n{}", text(&out));
    let with_ballast = archives(&s.dir())
        .into_iter()
        .find(|a| !before.contains(a))
        .expect("the new archive");
    let archive = s.root.path().join("ballast.tar.gz");
    std::fs::copy(&with_ballast, &archive).expect("copy");
    assert_eq!(
        manifest(&archive)["counts"]["LiteLLM_VerificationToken"].as_u64(),
        Some(keys)
    );

    // 2. restore, stopped while it loads into litellm_restoring. A table made after the backup
    // tells the serving database (it has it) from the restored one (it has not).
    s.psql("CREATE TABLE ctrl_c_marker (x int)");
    let dbs_before = s.databases();
    let archive_arg = archive.display().to_string();
    let run = s.spawn(&["restore", &archive_arg, "--yes"]);
    let pid = run.id();
    wait_for(Duration::from_secs(300), "pg_restore loading litellm_restoring", || {
        s.psql(&format!(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = 'litellm_restoring' AND application_name = 'litellm-stack-{pid}'"
        )) != "0"
    });
    std::thread::sleep(Duration::from_millis(300));
    run.signal("-INT");
    let (code, said) = run.ended(Duration::from_secs(180));
    assert_eq!(code, Some(130), "{said}");
    assert!(said.contains("Nothing is half-restored"), "{said}");
    let (sessions, procs) = dump_sessions(s, pid);
    assert_eq!(sessions, 0, "a restore still runs in Postgres after Ctrl-C:\n{procs}");
    assert!(procs.is_empty(), "{procs}");
    assert_eq!(s.databases(), dbs_before, "a half-made database is left");
    assert_eq!(
        s.psql("SELECT to_regclass('public.ctrl_c_marker') IS NOT NULL"),
        "t",
        "the serving database is not the old one"
    );
    assert_eq!(s.count("ctrl_c_ballast"), ballast);
    assert_eq!(s.count("LiteLLM_VerificationToken"), keys);
    assert!(
        backup_leftovers(&s.dir()).is_empty(),
        "{:?}",
        backup_leftovers(&s.dir())
    );
    s.chat_until_ok(team_key, Duration::from_secs(120), "after a stopped restore");

    // The same restore again completes: the archive's data serves (no marker), all of it.
    let out = s.cmd(&["restore", &archive_arg, "--yes", "--json"]);
    assert!(out.status.success(), "the restore after a stopped one:\n{}", text(&out));
    let last = json_lines(&out).pop().expect("a line");
    assert_eq!(last["event"], "restored", "{}", text(&out));
    assert_eq!(
        last["manifest"]["counts"]["LiteLLM_VerificationToken"].as_u64(),
        Some(keys)
    );
    assert!(
        last["previous"].as_str().is_some_and(|p| Path::new(p).is_file()),
        "{last}"
    );
    assert_eq!(s.psql("SELECT to_regclass('public.ctrl_c_marker') IS NOT NULL"), "f");
    assert_eq!(s.count("ctrl_c_ballast"), ballast);
    assert_eq!(s.databases(), dbs_before);
    let (status, body) = s.chat(team_key, "smoke-test");
    assert_eq!(status, 200, "the team's key after the completed restore: {body}");
    s.psql("DROP TABLE ctrl_c_ballast");
}

/// Each stdout line as JSON, every one valid per `docs/events.schema.json`; nothing else there.
fn json_lines(out: &std::process::Output) -> Vec<serde_json::Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/events.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("schema")).expect("JSON");
    let schema = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&schema)
        .expect("a valid schema");
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}\n{}", text(out))))
        .collect();
    for l in &lines {
        let errors: Vec<String> = schema.iter_errors(l).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{l} breaks the schema: {errors:?}");
    }
    lines
}

/// Windows' layout (Docker Desktop): the data on named volumes, not bind mounts. The same
/// commands: a backup of the volume's database, `uninstall --purge` removes the volumes, and
/// the archive alone brings the team's key back on new volumes in a new directory, whose saved
/// answers still say `data: volumes`.
#[test]
fn on_named_volumes_as_on_windows_a_backup_survives_a_purge_and_restores_into_a_new_directory() {
    let mut s = TestStack::new("backupvol");
    s.extra = "data: volumes\n".into();
    s.write_answers();
    let out = s.install();
    assert!(
        out.status.success(),
        "fresh install on named volumes failed:\n{}",
        text(&out)
    );
    let volumes = s.volumes();
    assert!(
        volumes.contains(&format!("{}_pg_data", s.project)),
        "Postgres is not on a named volume: {volumes:?}"
    );
    assert!(!s.dir().join("pg_data").exists(), "a bind-mounted data dir was made");

    let team_key = s.virtual_key("volume-team-key");
    let (status, body) = s.chat(&team_key, "smoke-test");
    assert_eq!(status, 200, "{body}");

    let out = s.cmd(&["backup"]);
    assert!(out.status.success(), "backup on named volumes failed:\n{}", text(&out));
    let made = archives(&s.dir());
    assert_eq!(made.len(), 1, "{made:?}");
    let kept = s.root.path().join("volumes.tar.gz");
    std::fs::copy(&made[0], &kept).expect("copy");
    let keys = manifest(&kept)["counts"]["LiteLLM_VerificationToken"].as_u64();
    assert!(keys >= Some(1), "the manifest counts no key");

    let out = s.cmd(&["uninstall", "--purge", "--yes"]);
    assert!(out.status.success(), "uninstall --purge failed:\n{}", text(&out));
    assert!(s.containers().is_empty());
    assert!(s.volumes().is_empty(), "--purge left volumes: {:?}", s.volumes());

    s.dir_name = "restored-volumes".into();
    let new_dir = s.dir();
    let out = restore_into(&kept, &new_dir);
    assert!(
        out.status.success(),
        "restore into a new directory on named volumes failed:\n{}",
        text(&out)
    );
    let answers = std::fs::read_to_string(new_dir.join("answers.yaml")).expect("answers.yaml");
    assert!(answers.lines().any(|l| l.trim() == "data: volumes"), "{answers}");
    assert!(
        s.volumes().contains(&format!("{}_pg_data", s.project)),
        "the restore did not bring the named volume back: {:?}",
        s.volumes()
    );
    let (status, body) = s.chat(&team_key, "smoke-test");
    assert_eq!(status, 200, "the team's key after the restore on named volumes: {body}");
    assert_eq!(Some(s.count("LiteLLM_VerificationToken")), keys);
}
