//! The one versions file (`versions.env`) agrees with what users and CI see: the compiled-in
//! default answers, the example answers file, both READMEs and the test-image recipe.

use std::collections::BTreeMap;
use std::path::Path;

use litellm_stack::answers::DEFAULT_IMAGES;

fn repo(path: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

fn versions() -> BTreeMap<String, String> {
    repo("versions.env")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once('=').expect("NAME=value");
            (k.to_string(), v.to_string())
        })
        .collect()
}

#[test]
fn default_answers_are_the_pinned_images() {
    let v = versions();
    for (service, image) in DEFAULT_IMAGES {
        assert_eq!(
            v.get(&format!("{}_IMAGE", service.to_uppercase())).map(String::as_str),
            Some(image),
            "{service}"
        );
        assert!(
            !image.ends_with(":latest") && !image.contains("main-stable"),
            "{image} is not a pin"
        );
    }
    // LiteLLM's tag scheme since 1.84.0: `v1.x.y`, no `-stable` suffix.
    let litellm = &v["LITELLM_IMAGE"];
    let tag = litellm.rsplit(':').next().expect("a tag");
    let parts: Vec<&str> = tag.trim_start_matches('v').split('.').collect();
    assert!(
        tag.starts_with('v') && parts.len() == 3,
        "{litellm}: expected a v1.x.y tag"
    );
    assert!(
        parts.iter().all(|p| p.parse::<u32>().is_ok()),
        "{litellm}: expected a v1.x.y tag"
    );
}

#[test]
fn the_example_answers_and_both_readmes_name_every_pin() {
    let example = repo("assets/answers.example.yaml");
    let readme = repo("README.md");
    let readme_tw = repo("README.zh-TW.md");
    for (service, image) in DEFAULT_IMAGES {
        assert!(
            example.contains(&format!("{service}: {image}")),
            "answers.example.yaml lacks {service}: {image}"
        );
        assert!(readme.contains(&format!("`{image}`")), "README.md lacks {image}");
        assert!(
            readme_tw.contains(&format!("`{image}`")),
            "README.zh-TW.md lacks {image}"
        );
    }
}

#[test]
fn the_tests_run_the_pinned_minor_line() {
    let v = versions();
    let minor = |s: &str| {
        s.trim_start_matches('v')
            .splitn(3, '.')
            .take(2)
            .collect::<Vec<_>>()
            .join(".")
    };
    let pinned = v["LITELLM_IMAGE"].rsplit(':').next().expect("a tag").to_string();
    assert_eq!(
        minor(&pinned),
        minor(&v["LITELLM_TEST_VERSION"]),
        "test images run another minor line"
    );
    let readme = repo("README.md");
    assert!(
        readme.contains(&format!("`{}`", v["LITELLM_TEST_VERSION"])),
        "README.md does not say the tested version"
    );
    // The CI recipe takes its version from versions.env rather than a copy.
    let ci = repo("ci/images/versions.env");
    assert!(
        ci.contains("LITELLM_VERSION=$LITELLM_TEST_VERSION"),
        "ci/images/versions.env keeps its own LiteLLM version"
    );
    // When the CI machine has run ci/setup.sh, the image the tests use is that version.
    if let Ok(image) = std::env::var("LST_IMAGE_LITELLM") {
        assert!(
            image.contains(&format!(":{}-", v["LITELLM_TEST_VERSION"])),
            "LST_IMAGE_LITELLM={image}"
        );
    }
}

#[test]
fn version_names_the_commit_and_the_pinned_litellm() {
    let out = assert_cmd::Command::cargo_bin("litellm-stack")
        .expect("binary built")
        .arg("--version")
        .output()
        .expect("runs");
    assert!(out.status.success());
    let line = String::from_utf8_lossy(&out.stdout).to_string();
    let v = versions();
    assert!(
        line.starts_with(&format!("litellm-stack {} (commit ", env!("CARGO_PKG_VERSION"))),
        "{line}"
    );
    assert!(line.contains(&format!("pins LiteLLM {}", v["LITELLM_IMAGE"])), "{line}");
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("git runs");
    let commit = String::from_utf8_lossy(&commit.stdout).trim().to_string();
    assert!(
        line.contains(&format!("commit {commit};")),
        "{line} does not name HEAD {commit}"
    );
}
