//! `upgrade` before it touches the engine, through the real binary on a rendered install: the
//! plan names each service's old and new image, a run without a terminal needs --yes (exit 2,
//! nothing changed), the current image is a no-op, configuration changes are refused as
//! `install`'s, a dir without an install is refused, and `--help` says --litellm is a full
//! image reference. No Docker here: `upgrade_e2e` runs it for real.

mod common;

use std::path::Path;

use common::bin;
use predicates::prelude::*;

fn rendered(root: &Path, extra: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = root.join("litellm");
    let answers = root.join("answers.in.yaml");
    std::fs::write(
        &answers,
        format!(
            "dir: {}\nimages:\n  litellm: example.test/litellm:1.0\n{extra}",
            dir.display()
        ),
    )
    .expect("write answers");
    bin().arg("render").arg("--answers").arg(&answers).assert().success();
    (dir, answers)
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    ["answers.yaml", "docker-compose.yml", "config.yaml", ".env"]
        .iter()
        .map(|f| (f.to_string(), std::fs::read(dir.join(f)).expect("read")))
        .collect()
}

#[test]
fn the_plan_names_old_and_new_images_and_needs_yes_without_a_terminal() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (dir, _) = rendered(tmp.path(), "");
    let before = files(&dir);
    bin()
        .args(["upgrade", "--litellm", "example.test/litellm:2.0", "--dir"])
        .arg(&dir)
        .assert()
        .code(2)
        .stdout(predicate::str::contains(
            "litellm: example.test/litellm:1.0 → example.test/litellm:2.0",
        ))
        .stderr(predicate::str::contains("--yes"));
    assert_eq!(files(&dir), before, "a refused upgrade changed files");
}

#[test]
fn the_running_image_is_a_no_op() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (dir, _) = rendered(tmp.path(), "");
    bin()
        .args(["upgrade", "--yes", "--litellm", "example.test/litellm:1.0", "--dir"])
        .arg(&dir)
        .assert()
        .success()
        .stdout(predicate::str::contains("Nothing to upgrade"));
}

#[test]
fn configuration_changes_are_installs_not_upgrades() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (dir, answers) = rendered(tmp.path(), "");
    let text = std::fs::read_to_string(&answers).expect("read") + "ports:\n  nginx: 8088\n";
    std::fs::write(&answers, text).expect("write");
    let before = files(&dir);
    bin()
        .args(["upgrade", "--yes", "--litellm", "example.test/litellm:2.0", "--answers"])
        .arg(&answers)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("images only").and(predicate::str::contains("install")));
    assert_eq!(files(&dir), before);
}

#[test]
fn no_install_no_upgrade_and_the_messages_speak_zh_tw() {
    let tmp = tempfile::tempdir().expect("tempdir");
    bin()
        .args(["upgrade", "--yes", "--litellm", "x/y:1", "--dir"])
        .arg(tmp.path().join("none"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no install to upgrade"));
    let (dir, _) = rendered(tmp.path(), "");
    bin()
        .args([
            "--lang",
            "zh-TW",
            "upgrade",
            "--yes",
            "--litellm",
            "example.test/litellm:1.0",
            "--dir",
        ])
        .arg(&dir)
        .assert()
        .success()
        .stdout(predicate::str::contains("不需要升級"));
}

#[test]
fn help_says_litellm_is_a_full_image_reference() {
    bin()
        .args(["upgrade", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("full reference"));
}
