//! The install end to end on the older engine users still have: Docker 20.10, API 1.41
//! (bookworm's docker.io, close to Ubuntu 22.04's), the second engine `ci/engine-2010.sh`
//! starts beside the suite's 26.1. Images come from the local registry, pulled by the
//! installer through that engine; LiteLLM runs on its Postgres.
//!
//! Every command here, the binary's and the `docker` CLI's, talks to that engine
//! (`common::stack::DOCKER_HOST`).

mod common;

use common::ci_env;
use common::stack::{DOCKER_HOST, TestStack, docker_ok, text};

#[test]
fn install_rerun_down_install_and_purge_work_on_docker_20_10() {
    let host = ci_env("LST_DOCKER_HOST_2010");
    DOCKER_HOST.set(host.clone()).expect("set once");
    let api = docker_ok(&["version", "--format", "{{.Server.APIVersion}}"]);
    assert_eq!(api, "1.41", "{host} is not the 20.10 engine");
    eprintln!("engine at {host}: API {api}");

    let s = TestStack::new("e2010");
    let out = s.install();
    assert!(out.status.success(), "install on 20.10 failed:\n{}", text(&out));
    let (status, body) = s.http("GET", "/health/readiness", None, None);
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("readiness JSON");
    assert_eq!(v["db"], "connected", "{body}");
    let first = s.containers();
    assert_eq!(first.len(), 5, "{first:?}");

    let out = s.install();
    assert!(out.status.success(), "re-run on 20.10 failed:\n{}", text(&out));
    assert_eq!(s.containers(), first, "the re-run recreated a container");

    let master = s.env_value("LITELLM_MASTER_KEY");
    let (status, body) = s.http(
        "POST",
        "/key/generate",
        Some(&master),
        Some(r#"{"key_alias":"e2010","models":["smoke-test"]}"#),
    );
    assert_eq!(status, 200, "{body}");
    let key: serde_json::Value = serde_json::from_str(&body).expect("key JSON");
    let key = key["key"].as_str().expect("a key").to_string();

    let out = s.cmd(&["down"]);
    assert!(out.status.success(), "down on 20.10 failed:\n{}", text(&out));
    assert!(s.containers().is_empty(), "down left containers");
    let out = s.install();
    assert!(out.status.success(), "install after down failed:\n{}", text(&out));
    let (status, body) = s.http(
        "POST",
        "/v1/chat/completions",
        Some(&key),
        Some(r#"{"model":"smoke-test","messages":[{"role":"user","content":"on 20.10"}]}"#),
    );
    assert_eq!(status, 200, "the key made before down: {body}");

    let out = s.cmd(&["uninstall", "--purge", "--yes"]);
    assert!(out.status.success(), "purge on 20.10 failed:\n{}", text(&out));
    assert!(s.containers().is_empty(), "purge left containers");
    assert!(!s.dir().join("pg_data").exists(), "purge left the database");
}
