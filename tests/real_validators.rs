//! The generated files pass the real tools: `nginx -t` (Debian's nginx), `promtool check
//! config` (Debian's prometheus) and the Compose Specification's JSON schema.

mod common;

use std::path::Path;
use std::process::Command;

use common::ci_env;
use litellm_stack::answers::Answers;
use litellm_stack::platform::Os;
use litellm_stack::render::RenderedFile;
use litellm_stack::workspace::Workspace;

fn render(os: Os, dir: &Path) -> Vec<RenderedFile> {
    let mut a = Answers::defaults_for(os);
    a.dir = dir.to_path_buf();
    Workspace::prepare(a, Os::Linux, &|_| None).expect("prepare").files
}

fn contents<'a>(files: &'a [RenderedFile], path: &str) -> &'a str {
    &files.iter().find(|f| f.path == path).expect("rendered").contents
}

#[test]
fn nginx_conf_passes_nginx_t() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let files = render(Os::Linux, tmp.path());
    let conf = tmp.path().join("nginx.conf");
    std::fs::write(&conf, contents(&files, "nginx/nginx.conf")).expect("write");
    let out = Command::new(ci_env("LST_NGINX_BIN"))
        .arg("-t")
        .arg("-p")
        .arg(tmp.path())
        .arg("-c")
        .arg(&conf)
        .arg("-g")
        .arg(format!("pid {}/nginx.pid;", tmp.path().display()))
        .output()
        .expect("nginx runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "nginx -t failed:\n{stderr}");
    assert!(stderr.contains("syntax is ok"), "{stderr}");
}

#[test]
fn broken_nginx_conf_fails_nginx_t() {
    // The check above can fail: a conf with the SOP's typo-level mistake is rejected.
    let tmp = tempfile::tempdir().expect("tempdir");
    let files = render(Os::Linux, tmp.path());
    let conf = tmp.path().join("nginx.conf");
    std::fs::write(
        &conf,
        contents(&files, "nginx/nginx.conf").replace("proxy_buffering off;", "proxy_buffering of;"),
    )
    .expect("write");
    let out = Command::new(ci_env("LST_NGINX_BIN"))
        .args(["-t", "-p"])
        .arg(tmp.path())
        .arg("-c")
        .arg(&conf)
        .arg("-g")
        .arg(format!("pid {}/nginx.pid;", tmp.path().display()))
        .output()
        .expect("nginx runs");
    assert!(!out.status.success());
}

#[test]
fn prometheus_yml_passes_promtool() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let files = render(Os::Linux, tmp.path());
    let key = tmp.path().join("litellm_metrics_key");
    std::fs::write(&key, "sk-test").expect("write key");
    // The container path of the key file, pointed at the copy here.
    let yml = contents(&files, "prometheus/prometheus.yml").replace(
        litellm_stack::stack::METRICS_KEY_IN_CONTAINER,
        &key.display().to_string(),
    );
    let path = tmp.path().join("prometheus.yml");
    std::fs::write(&path, yml).expect("write");
    let out = Command::new(ci_env("LST_PROMTOOL_BIN"))
        .args(["check", "config"])
        .arg(&path)
        .output()
        .expect("promtool runs");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool check config failed:\n{all}");
    assert!(all.contains("SUCCESS"), "{all}");
}

fn compose_schema() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/compose-spec.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut schema: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
    // The file names draft-07 by a URL the validator does not know offline; say the draft
    // directly instead.
    if let Some(o) = schema.as_object_mut() {
        o.remove("$schema");
    }
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .build(&schema)
        .expect("schema compiles")
}

fn as_json(yaml: &str) -> serde_json::Value {
    let v: serde_norway::Value = serde_norway::from_str(yaml).expect("YAML");
    serde_json::to_value(v).expect("JSON")
}

#[test]
fn compose_file_validates_against_the_compose_spec() {
    let validator = compose_schema();
    for os in [Os::Linux, Os::Windows] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut a = Answers::defaults_for(os);
        a.dir = tmp.path().to_path_buf();
        let files = Workspace::prepare(a, Os::Linux, &|_| None).expect("prepare").files;
        let doc = as_json(contents(&files, "docker-compose.yml"));
        let errors: Vec<String> = validator
            .iter_errors(&doc)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{os:?}: {errors:#?}");
    }
}

#[test]
fn the_schema_rejects_what_the_sop_got_wrong() {
    // Proves the validation above can fail: a service with a misspelled key is rejected.
    let validator = compose_schema();
    let doc = as_json("services:\n  litellm:\n    image: x\n    healthchek: {}\n");
    assert!(!validator.is_valid(&doc));
}
