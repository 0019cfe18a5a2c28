//! Upgrade for real: the binary on the real engine, LiteLLM on its Postgres (the `litellm-db`
//! images of `ci/setup.sh`, two versions whose upgrade applies 7 real schema migrations). An
//! install on 1.106.12 with a team's virtual key and a model stored in the database is upgraded
//! to 1.108.7: only LiteLLM's container is recreated, the key and the model still work, the
//! report names both versions and the answers name the new image. The same upgrade again is a
//! no-op. Then an upgrade to an image that never becomes ready (its entrypoint exits 1) is
//! rolled back by itself: exit 1 naming the cause and where the new version's logs are, the
//! previous image serves again and the team's key answers through it.
//!
//! What it cannot prove: the official LiteLLM image's own migration runner (the test image
//! applies the same SQL files with its own migrator), a pull of a new image from a remote
//! registry over a slow link (here: the local registry).

#![cfg(unix)]

mod common;

use common::ci_env;
use common::images::{LocalImage, docker_build};
use common::stack::{TestStack, docker_ok, text};

/// `FROM base` whose entrypoint exits 1 before the proxy (or its migrations) could start.
fn never_ready_image(base: &str, tag: &str) -> LocalImage {
    build_image(base, tag, "echo 'broken on purpose by upgrade_e2e' >&2; exit 1")
}

/// `FROM base` whose entrypoint applies the image's migrations, then exits 1: the schema has
/// moved on when the upgrade fails.
/// upgradebg: with one more migration that is not additive (a `DROP COLUMN` of a column that
/// never was), so the upgrade stops the old version first and the rollback restores the database
/// (additive migrations need no restore: the old version runs on them).
fn migrates_then_fails_image(base: &str, tag: &str) -> LocalImage {
    let dir = "/opt/litellm/site/litellm_proxy_extras/migrations/99990101000000_lst_e2e_drop_column";
    let run = format!(
        "RUN mkdir -p {dir} && printf '%s\\n' 'ALTER TABLE \"LiteLLM_TeamTable\" DROP COLUMN IF EXISTS \"lst_e2e_never_there\";' > {dir}/migration.sql\n"
    );
    build_image_with(
        base,
        tag,
        &run,
        "/usr/local/bin/litellm-db-migrate && echo 'migrated, then broken on purpose by upgrade_e2e' >&2; exit 1",
    )
}

fn build_image(base: &str, tag: &str, script: &str) -> LocalImage {
    build_image_with(base, tag, "", script)
}

fn build_image_with(base: &str, tag: &str, run: &str, script: &str) -> LocalImage {
    docker_build(
        tag,
        &format!("FROM {base}\n{run}ENTRYPOINT [\"sh\", \"-c\", \"{script}\"]\n"),
    );
    LocalImage(tag.to_string())
}

fn image_of(s: &TestStack, service: &str) -> String {
    docker_ok(&["inspect", "--format", "{{.Config.Image}}", &s.container(service)])
}

fn saved_litellm_image(s: &TestStack) -> String {
    let saved = std::fs::read_to_string(s.dir().join("answers.yaml")).expect("answers.yaml");
    let v: serde_norway::Value = serde_norway::from_str(&saved).expect("YAML");
    v["images"]["litellm"].as_str().expect("images.litellm").to_string()
}

#[test]
fn an_upgrade_keeps_keys_and_models_a_second_is_a_no_op_and_a_never_ready_image_is_rolled_back() {
    let previous = ci_env("LST_IMAGE_LITELLM_PREVIOUS");
    let next = ci_env("LST_IMAGE_LITELLM");
    let (previous_version, next_version) = (ci_env("LST_LITELLM_PREVIOUS_VERSION"), ci_env("LST_LITELLM_VERSION"));
    let mut s = TestStack::new("upgrade");
    s.images.insert("litellm", previous.clone());
    s.write_answers();
    let out = s.install();
    assert!(out.status.success(), "install on {previous} failed:\n{}", text(&out));

    // What a team has in its database: a model and a virtual key.
    let master = s.env_value("LITELLM_MASTER_KEY");
    s.add_db_model();
    let team_key = s.virtual_key("team-key");
    let (status, body) = s.chat(&team_key, "db-model");
    assert_eq!(status, 200, "{body}");
    let before = s.containers();

    // The upgrade: only LiteLLM recreated; the key and the model still work.
    let out = s.cmd(&["upgrade", "--litellm", &next, "--yes"]);
    assert!(out.status.success(), "upgrade to {next} failed:\n{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    println!("{stdout}");
    assert!(
        stdout.contains(&format!("litellm: {previous} → {next}")),
        "the plan: {stdout}"
    );
    assert!(
        stdout.contains(&format!("Upgraded LiteLLM {previous_version} → {next_version}")),
        "{stdout}"
    );
    assert!(
        stdout.contains("backups/litellm-backup-"),
        "the backup is named: {stdout}"
    );
    let after = s.containers();
    for service in ["postgres", "redis", "nginx", "prometheus"] {
        assert_eq!(before.get(service), after.get(service), "{service} was recreated");
    }
    assert_ne!(before.get("litellm"), after.get("litellm"), "litellm was not recreated");
    assert_eq!(image_of(&s, "litellm"), next);
    assert_eq!(saved_litellm_image(&s), next, "the answers name the new image");
    let lock = std::fs::read_to_string(s.dir().join("images.lock.yaml")).expect("images.lock.yaml");
    assert!(lock.contains(&next), "{lock}");
    let (status, body) = s.chat(&team_key, "db-model");
    assert_eq!(status, 200, "the team's key on the DB model after the upgrade: {body}");
    assert!(body.contains("from the database"), "{body}");
    let (status, body) = s.http("GET", "/v1/models", Some(&master), None);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("db-model"), "{body}");

    // The same target again: nothing to do, nothing touched.
    let out = s.cmd(&["upgrade", "--litellm", &next, "--yes"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Nothing to upgrade"),
        "{}",
        text(&out)
    );
    assert_eq!(s.containers(), after, "a no-op upgrade changed containers");

    // An image that never becomes ready: rolled back by itself.
    let broken = never_ready_image(&next, &format!("lst-e2e/litellm-never-ready:{}", s.project));
    let out = s.cmd(&["upgrade", "--litellm", &broken.0, "--yes"]);
    println!("{}", text(&out));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(stderr.contains("previous version was brought back"), "{stderr}");
    assert!(stderr.contains("litellm"), "the cause names the service: {stderr}");
    let logs = s.dir().join("logs");
    let saved_logs: Vec<_> = std::fs::read_dir(&logs)
        .expect("logs/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("upgrade-"))
        })
        .collect();
    assert_eq!(saved_logs.len(), 1, "{saved_logs:?}");
    assert!(
        stderr.contains(&saved_logs[0].display().to_string()),
        "the logs are named: {stderr}"
    );
    let lines = std::fs::read_to_string(&saved_logs[0]).expect("saved logs");
    assert!(lines.contains("broken on purpose"), "{lines}");
    assert_eq!(image_of(&s, "litellm"), next, "the previous image runs again");
    assert_eq!(
        saved_litellm_image(&s),
        next,
        "the answers still name the previous image"
    );
    let lock = std::fs::read_to_string(s.dir().join("images.lock.yaml")).expect("images.lock.yaml");
    assert!(lock.contains(&next) && !lock.contains(&broken.0), "{lock}");
    let (status, body) = s.chat(&team_key, "db-model");
    assert_eq!(status, 200, "the team's key after the rollback: {body}");
    let out = s.cmd(&["verify"]);
    assert!(out.status.success(), "verify after the rollback:\n{}", text(&out));

    // A downgrade: refused on data with newer migrations (exit 3, nothing changed), done with
    // --restore and a backup made by that version (the one the first upgrade made).
    let settled = s.containers();
    let out = s.cmd(&["upgrade", "--litellm", &previous, "--yes"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("older than the database"),
        "{}",
        text(&out)
    );
    assert_eq!(s.containers(), settled, "a refused downgrade changed containers");
    let mut archives: Vec<_> = std::fs::read_dir(s.dir().join("backups"))
        .expect("backups/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".tar.gz"))
        .collect();
    archives.sort();
    let made_on_previous = archives.first().expect("the first upgrade's backup").clone();
    let out = s.cmd(&[
        "upgrade",
        "--litellm",
        &previous,
        "--restore",
        made_on_previous.to_str().expect("utf-8"),
        "--yes",
    ]);
    assert!(out.status.success(), "downgrade with --restore failed:\n{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("Upgraded LiteLLM {next_version} → {previous_version}")),
        "{}",
        text(&out)
    );
    assert_eq!(image_of(&s, "litellm"), previous);
    let (status, body) = s.chat(&team_key, "db-model");
    assert_eq!(status, 200, "the team's key after the downgrade: {body}");
}

fn newest_migration(s: &TestStack) -> String {
    s.psql("SELECT max(migration_name) FROM _litellm_image_migrations")
}

#[test]
fn a_failed_upgrade_whose_migrations_ran_brings_the_pre_upgrade_database_back() {
    let previous = ci_env("LST_IMAGE_LITELLM_PREVIOUS");
    let next = ci_env("LST_IMAGE_LITELLM");
    let mut s = TestStack::new("upgrade-migrated");
    s.images.insert("litellm", previous.clone());
    s.write_answers();
    let out = s.install();
    assert!(out.status.success(), "install on {previous} failed:\n{}", text(&out));
    let team_key = s.virtual_key("team-key");
    let schema_before = newest_migration(&s);

    let broken = migrates_then_fails_image(&next, &format!("lst-e2e/litellm-migrates-then-fails:{}", s.project));
    let out = s.cmd(&["upgrade", "--litellm", &broken.0, "--yes"]);
    println!("{}", text(&out));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(stdout.contains("the new version applied migrations"), "{stdout}");
    assert!(
        stdout.contains("Restoring the database") && stdout.contains("the restored database is now litellm"),
        "{stdout}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("previous version was brought back"),
        "{}",
        text(&out)
    );
    assert_eq!(
        newest_migration(&s),
        schema_before,
        "the schema is the previous version's again"
    );
    assert_eq!(image_of(&s, "litellm"), previous);
    assert_eq!(saved_litellm_image(&s), previous);
    let (status, body) = s.chat(&team_key, "smoke-test");
    assert_eq!(status, 200, "the team's key after the rollback: {body}");
}
