//! `render` and `plan` through the real binary: secrets kept, bad answers refused with exit 2
//! and nothing written, unchanged files untouched.

mod common;

use std::path::Path;

use common::bin;
use predicates::prelude::*;

fn answers_file(dir: &Path, install_dir: &Path, extra: &str) -> std::path::PathBuf {
    let f = dir.join("answers.in.yaml");
    std::fs::write(&f, format!("dir: {}\n{extra}", install_dir.display())).expect("write answers");
    f
}

fn env_value(dir: &Path, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(".env")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")).map(str::to_string))
}

const SECRET_KEYS: [&str; 5] = [
    "LITELLM_MASTER_KEY",
    "LITELLM_SALT_KEY",
    "POSTGRES_PASSWORD",
    "REDIS_PASSWORD",
    "DATABASE_URL",
];

#[test]
fn render_creates_the_sop_tree_and_every_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().join("litellm");
    bin()
        .args(["render", "--dir"])
        .arg(&d)
        .assert()
        .success()
        .stdout(predicate::str::contains("create"));
    for sub in [
        "pg_data",
        "redis_data",
        "prometheus_data",
        "backups",
        "nginx",
        "prometheus",
    ] {
        assert!(d.join(sub).is_dir(), "{sub}/");
    }
    for f in [
        ".env",
        "config.yaml",
        "docker-compose.yml",
        "nginx/nginx.conf",
        "prometheus/prometheus.yml",
        "answers.yaml",
    ] {
        assert!(d.join(f).is_file(), "{f}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join(".env")).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, ".env must be private");
    }
    let saved = std::fs::read_to_string(d.join("answers.yaml")).expect("answers.yaml");
    let master = env_value(&d, "LITELLM_MASTER_KEY").expect("master key");
    assert!(!saved.contains(&master), "saved answers hold no secret");
}

#[test]
fn rerun_keeps_every_secret_byte_for_byte_and_touches_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().join("litellm");
    bin().args(["render", "--dir"]).arg(&d).assert().success();
    let before: Vec<Option<String>> = SECRET_KEYS.iter().map(|k| env_value(&d, k)).collect();
    let env_bytes = std::fs::read(d.join(".env")).expect(".env");
    let mtimes: Vec<_> = ["config.yaml", "docker-compose.yml", ".env"]
        .iter()
        .map(|f| std::fs::metadata(d.join(f)).and_then(|m| m.modified()).expect("mtime"))
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(20));
    bin()
        .args(["render", "--dir"])
        .arg(&d)
        .assert()
        .success()
        .stdout(predicate::str::contains("Everything is up to date"))
        .stdout(predicate::str::contains("create").not());
    let after: Vec<Option<String>> = SECRET_KEYS.iter().map(|k| env_value(&d, k)).collect();
    assert_eq!(before, after);
    assert_eq!(env_bytes, std::fs::read(d.join(".env")).expect(".env"));
    let mtimes_after: Vec<_> = ["config.yaml", "docker-compose.yml", ".env"]
        .iter()
        .map(|f| std::fs::metadata(d.join(f)).and_then(|m| m.modified()).expect("mtime"))
        .collect();
    assert_eq!(mtimes, mtimes_after, "unchanged files keep their mtime");
    assert!(
        std::fs::read_dir(d.join("backups"))
            .expect("backups")
            .all(|e| e.expect("entry").file_name() != "files")
    );
}

#[test]
fn rerun_keeps_the_salt_key() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().join("litellm");
    std::fs::create_dir_all(&d).expect("mkdir");
    std::fs::write(d.join(".env"), "LITELLM_SALT_KEY=sk-salt-set-by-the-team-long-ago\n").expect("write");
    bin().args(["render", "--dir"]).arg(&d).assert().success();
    assert_eq!(
        env_value(&d, "LITELLM_SALT_KEY").as_deref(),
        Some("sk-salt-set-by-the-team-long-ago")
    );
    // The old .env was backed up before the change.
    let backups: Vec<_> = std::fs::read_dir(d.join("backups/files"))
        .expect("backups/files")
        .collect();
    assert_eq!(backups.len(), 1);
}

#[test]
fn hand_edited_provider_key_survives_a_rerender() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().join("litellm");
    bin().args(["render", "--dir"]).arg(&d).assert().success();
    let text = std::fs::read_to_string(d.join(".env")).expect(".env");
    let edited = text.replace(
        "OPENAI_API_KEY=\n",
        "OPENAI_API_KEY=sk-proj-typed-by-hand\nMY_OWN_SETTING=42\n",
    );
    std::fs::write(d.join(".env"), edited).expect("write");
    bin()
        .args(["render", "--dir"])
        .arg(&d)
        .env("OPENAI_API_KEY", "sk-from-env-must-not-win")
        .assert()
        .success();
    assert_eq!(
        env_value(&d, "OPENAI_API_KEY").as_deref(),
        Some("sk-proj-typed-by-hand")
    );
    assert_eq!(env_value(&d, "MY_OWN_SETTING").as_deref(), Some("42"));
}

#[test]
fn provider_key_comes_from_the_environment_when_env_has_none() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().join("litellm");
    bin()
        .args(["render", "--dir"])
        .arg(&d)
        .env("OPENAI_API_KEY", "sk-from-the-shell")
        .assert()
        .success();
    assert_eq!(env_value(&d, "OPENAI_API_KEY").as_deref(), Some("sk-from-the-shell"));
}

#[test]
fn crlf_env_is_read_correctly_and_reported() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().join("litellm");
    std::fs::create_dir_all(&d).expect("mkdir");
    std::fs::write(
        d.join(".env"),
        "LITELLM_SALT_KEY=sk-salt-from-windows\r\nOPENAI_API_KEY=sk-abc\r\n",
    )
    .expect("write");
    bin()
        .args(["render", "--dir"])
        .arg(&d)
        .assert()
        .success()
        .stderr(predicate::str::contains("CRLF"));
    assert_eq!(
        env_value(&d, "LITELLM_SALT_KEY").as_deref(),
        Some("sk-salt-from-windows")
    );
    assert_eq!(env_value(&d, "OPENAI_API_KEY").as_deref(), Some("sk-abc"));
    assert!(!std::fs::read(d.join(".env")).expect(".env").contains(&b'\r'));
}

#[test]
fn plan_writes_nothing_and_masks_secrets_in_diffs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().join("litellm");
    bin()
        .args(["plan", "--dir"])
        .arg(&d)
        .assert()
        .success()
        .stdout(predicate::str::contains("create"));
    assert!(!d.exists(), "plan wrote something");

    bin().args(["render", "--dir"]).arg(&d).assert().success();
    let master = env_value(&d, "LITELLM_MASTER_KEY").expect("master key");
    let redis = env_value(&d, "REDIS_PASSWORD").expect("redis password");
    // A changed secret and a changed config: both show as updates, no value is printed.
    let text = std::fs::read_to_string(d.join(".env")).expect(".env");
    std::fs::write(
        d.join(".env"),
        text.replace(&format!("REDIS_PASSWORD={redis}"), "REDIS_PASSWORD="),
    )
    .expect("write");
    std::fs::write(d.join("config.yaml"), "model_list: []\n").expect("write");
    let out = bin()
        .args(["plan", "--dir"])
        .arg(&d)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).expect("utf8");
    assert!(out.contains("update"), "{out}");
    assert!(out.contains("+REDIS_PASSWORD=********"), "{out}");
    assert!(out.contains("smoke-test"), "the config diff is shown: {out}");
    assert!(
        !out.contains(&master) && !out.contains(&redis),
        "a secret leaked into the plan:\n{out}"
    );
    // Still nothing written.
    assert_eq!(
        std::fs::read_to_string(d.join("config.yaml")).expect("config"),
        "model_list: []\n"
    );
}

fn assert_bad_answers(extra: &str, field: &str) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().join("litellm");
    let f = answers_file(tmp.path(), &d, extra);
    bin()
        .args(["render", "--answers"])
        .arg(&f)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(field));
    assert!(!d.exists(), "{field}: something was written");
}

#[test]
fn unknown_field_is_refused() {
    assert_bad_answers("colour: blue\n", "colour");
}

#[test]
fn port_zero_is_refused() {
    assert_bad_answers("ports:\n  nginx: 0\n", "ports.nginx");
}

#[test]
fn port_70000_is_refused() {
    assert_bad_answers("ports:\n  litellm: 70000\n", "ports.litellm");
}

#[test]
fn two_services_on_one_host_port_are_refused() {
    assert_bad_answers("ports:\n  nginx: 8080\n  prometheus: 8080\n", "ports.prometheus");
}

#[test]
fn image_reference_with_spaces_is_refused() {
    assert_bad_answers("images:\n  redis: \"redis 7\"\n", "images.redis");
}

#[test]
fn model_without_a_name_is_refused() {
    assert_bad_answers("models:\n  - model: openai/gpt-4o\n", "models[0].name");
}

#[test]
fn relative_dir_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let f = tmp.path().join("a.yaml");
    std::fs::write(&f, "dir: relative/litellm\n").expect("write");
    bin()
        .args(["render", "--answers"])
        .arg(&f)
        .current_dir(tmp.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("dir"));
    assert!(!tmp.path().join("relative").exists());
}

#[test]
fn unwritable_dir_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // A regular file where a folder is needed is unwritable for root too.
    std::fs::write(tmp.path().join("blocker"), "x").expect("write");
    let d = tmp.path().join("blocker/litellm");
    let f = answers_file(tmp.path(), &d, "");
    bin()
        .args(["render", "--answers"])
        .arg(&f)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("dir"));
}

#[test]
fn errors_speak_traditional_chinese() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().join("litellm");
    let f = answers_file(tmp.path(), &d, "ports:\n  nginx: 0\n");
    bin()
        .args(["--lang", "zh-TW", "render", "--answers"])
        .arg(&f)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("ports.nginx").and(predicate::str::contains("連接埠")));
}

#[test]
fn the_example_answers_file_is_valid() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/answers.example.yaml");
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().join("litellm");
    bin()
        .args(["plan", "--answers"])
        .arg(&example)
        .arg("--dir")
        .arg(&d)
        .assert()
        .success();
}
