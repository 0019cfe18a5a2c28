//! End-to-end tests of `install` and the day-2 commands on the real Docker engine of this
//! machine, with the test images that `ci/setup.sh` built and pushed to the local registry
//! (`127.0.0.1:5000`). Each test has its own project name, install dir and high ports, so they
//! run in parallel; each removes its containers, network and volumes at the end, even when it
//! fails.
//!
//! What these tests prove: the engine path of the installer — connect, preflight, pulls with
//! progress and digests (concurrent, a stalled one retried), create/start in dependency order with health waits, idempotent
//! re-runs, recreation of what changed, failure diagnosis, down, images save/load, Ctrl-C —
//! against a real daemon (Docker 26.1 from Debian trixie, API 1.45), with LiteLLM on its real
//! Postgres database (the `litellm-db` image: migrations at start, `db: connected`); the
//! database path itself (virtual keys, models stored in the database, the salt-key guard) is
//! tests/database_e2e.rs. The other test images stand in for the official ones with Debian's
//! servers and the same environment contracts.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::images::{ImagesToRemove, docker_build};
use common::relay::{self, Flow};
use common::{bin, ci_env, free_port, http_status};

const INSTALL_TIMEOUT: Duration = Duration::from_secs(600);

fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("docker {args:?} could not run ({e}): is Docker installed? run `bash ci/setup.sh`"))
}

fn docker_ok(args: &[&str]) -> String {
    let out = docker(args);
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Every stdout line of an `--json` run is valid per `docs/events.schema.json`, the schema
/// `verify --json` follows too.
fn assert_event_schema(stdout: &[u8]) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/events.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("events schema")).expect("schema is JSON");
    let schema = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&schema)
        .expect("valid JSON Schema");
    for line in String::from_utf8_lossy(stdout).lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        let problems: Vec<String> = schema.iter_errors(&v).map(|e| e.to_string()).collect();
        assert!(problems.is_empty(), "{line}\n{}", problems.join("\n"));
    }
}

fn text(out: &Output) -> String {
    format!(
        "--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// One stack under test: its own project, install dir and ports; cleaned up on drop.
struct TestStack {
    project: String,
    root: tempfile::TempDir,
    nginx: u16,
    litellm: u16,
    prometheus: u16,
    /// Publishing Postgres changes only its container's settings.
    postgres: Option<u16>,
    images: BTreeMap<&'static str, String>,
    extra: String,
}

impl TestStack {
    fn new(tag: &str) -> TestStack {
        docker_ok(&["info", "--format", "{{.ServerVersion}}"]);
        let images = BTreeMap::from([
            ("litellm", ci_env("LST_IMAGE_LITELLM")),
            ("postgres", ci_env("LST_IMAGE_POSTGRES")),
            ("redis", ci_env("LST_IMAGE_REDIS")),
            ("nginx", ci_env("LST_IMAGE_NGINX")),
            ("prometheus", ci_env("LST_IMAGE_PROMETHEUS")),
        ]);
        let s = TestStack {
            project: format!("lste2e-{tag}-{}", std::process::id()),
            root: tempfile::tempdir().expect("tempdir"),
            nginx: free_port(),
            litellm: free_port(),
            prometheus: free_port(),
            postgres: None,
            images,
            extra: String::new(),
        };
        s.write_answers();
        s
    }

    fn dir(&self) -> PathBuf {
        self.root.path().join("stack")
    }

    fn answers(&self) -> PathBuf {
        self.root.path().join("answers.yaml")
    }

    fn write_answers(&self) {
        let images: String = self.images.iter().map(|(k, v)| format!("  {k}: {v}\n")).collect();
        let postgres = self.postgres.map(|p| format!("  postgres: {p}\n")).unwrap_or_default();
        let yaml = format!(
            "dir: {}\nproject: {}\nports:\n  nginx: {}\n  litellm: {}\n  prometheus: {}\n{postgres}images:\n{images}{}",
            self.dir().display(),
            self.project,
            self.nginx,
            self.litellm,
            self.prometheus,
            self.extra
        );
        std::fs::write(self.answers(), yaml).expect("write answers");
    }

    fn cmd(&self, args: &[&str]) -> Output {
        let answers = self.answers();
        let mut c = bin();
        c.args(args).arg("--answers").arg(&answers).timeout(INSTALL_TIMEOUT);
        c.output().expect("run litellm-stack")
    }

    fn install(&self, extra_args: &[&str]) -> Output {
        let mut args = vec!["install", "--yes"];
        args.extend_from_slice(extra_args);
        self.cmd(&args)
    }

    /// service → container ID, for the containers of this project.
    fn containers(&self) -> BTreeMap<String, String> {
        let filter = format!("label=com.docker.compose.project={}", self.project);
        docker_ok(&[
            "ps",
            "-a",
            "--filter",
            &filter,
            "--format",
            "{{.Label \"com.docker.compose.service\"}} {{.ID}}",
        ])
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(s, id)| (s.to_string(), id.to_string()))
        .collect()
    }

    fn container(&self, service: &str) -> String {
        format!("{}-{service}-1", self.project)
    }

    fn health(&self, service: &str) -> String {
        docker_ok(&[
            "inspect",
            "--format",
            "{{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{end}}",
            &self.container(service),
        ])
    }

    /// Docker's own health status flips at its probe interval (up to 5 s after the gateway
    /// answers): poll it, bounded.
    fn wait_all_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let states: Vec<(String, String)> = ["postgres", "redis", "litellm", "nginx", "prometheus"]
                .iter()
                .map(|s| (s.to_string(), self.health(s)))
                .collect();
            if states.iter().all(|(_, h)| h == "running/healthy") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "not every container became healthy: {states:?}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    fn psql(&self, sql: &str) -> String {
        docker_ok(&[
            "exec",
            &self.container("postgres"),
            "psql",
            "-U",
            "llmproxy",
            "-d",
            "litellm",
            "-tAc",
            sql,
        ])
    }

    fn objects_left(&self) -> Vec<String> {
        let filter = format!("label=com.docker.compose.project={}", self.project);
        let mut left: Vec<String> = Vec::new();
        for kind in [["ps", "-aq"], ["network", "ls"], ["volume", "ls"]] {
            let mut args = vec![kind[0], kind[1]];
            if kind[0] != "ps" {
                args.push("-q");
            }
            args.extend(["--filter", &filter]);
            left.extend(docker_ok(&args).lines().map(str::to_string));
        }
        left
    }
}

impl Drop for TestStack {
    fn drop(&mut self) {
        let filter = format!("label=com.docker.compose.project={}", self.project);
        let ids = docker(&["ps", "-aq", "--filter", &filter]);
        for id in String::from_utf8_lossy(&ids.stdout).lines() {
            docker(&["rm", "-f", "-v", id]);
        }
        docker(&["network", "rm", &format!("{}_default", self.project)]);
        let vols = docker(&["volume", "ls", "-q", "--filter", &filter]);
        for v in String::from_utf8_lossy(&vols.stdout).lines() {
            docker(&["volume", "rm", "-f", v]);
        }
    }
}

#[test]
fn install_is_healthy_idempotent_recreates_what_changed_and_keeps_data_across_down() {
    let mut s = TestStack::new("main");

    // Fresh install: every container healthy, the gateway ready through nginx.
    let out = s.install(&[]);
    assert!(out.status.success(), "fresh install failed:\n{}", text(&out));
    assert_eq!(http_status(s.nginx, "/health/readiness"), Some(200));
    s.wait_all_healthy();
    let first = s.containers();
    assert_eq!(first.len(), 5, "{first:?}");
    // Compose v2 beside the installer: tests/compose_e2e.rs.
    let lock = std::fs::read_to_string(s.dir().join("images.lock.yaml")).expect("images.lock.yaml");
    assert!(lock.contains("@sha256:"), "{lock}");

    // Second install: nothing recreated, and it says so.
    let started = Instant::now();
    let out = s.install(&[]);
    let rerun = started.elapsed();
    assert!(out.status.success(), "re-run failed:\n{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Everything is up to date"),
        "{}",
        text(&out)
    );
    assert_eq!(s.containers(), first, "a re-run recreated containers");
    assert!(rerun < Duration::from_secs(5), "no-op re-run took {rerun:?}");

    s.psql("CREATE TABLE e2e_marker (v text); INSERT INTO e2e_marker VALUES ('kept');");

    // A changed config.yaml (one more model) recreates litellm only.
    s.extra = "models:\n  - name: gpt-4o\n    model: openai/gpt-4o\n    api_key_env: OPENAI_API_KEY\n  - name: extra-model\n    model: openai/gpt-4o-mini\n    api_key_env: OPENAI_API_KEY\n".into();
    s.write_answers();
    let out = s.install(&[]);
    assert!(
        out.status.success(),
        "install after a config change failed:\n{}",
        text(&out)
    );
    let after = s.containers();
    assert_ne!(after["litellm"], first["litellm"], "litellm kept its container");
    for svc in ["postgres", "redis", "nginx", "prometheus"] {
        assert_eq!(
            after[svc], first[svc],
            "{svc} was recreated though nothing of it changed"
        );
    }
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("litellm: recreated"),
        "{}",
        text(&out)
    );

    // A changed Postgres (now published) is recreated, and the proxy that needs it healthy is
    // restarted after it, keeping its container; the data is the same.
    s.postgres = Some(free_port());
    s.write_answers();
    let out = s.install(&[]);
    assert!(
        out.status.success(),
        "install after a postgres change failed:\n{}",
        text(&out)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("postgres: recreated") && stdout.contains("litellm: restarted"),
        "{}",
        text(&out)
    );
    let again = s.containers();
    assert_ne!(again["postgres"], after["postgres"]);
    assert_eq!(again["litellm"], after["litellm"]);
    assert_eq!(s.psql("SELECT v FROM e2e_marker"), "kept");

    // down, then install: the same Postgres data.
    let out = s.cmd(&["down"]);
    assert!(out.status.success(), "down failed:\n{}", text(&out));
    assert!(s.containers().is_empty(), "down left containers");
    let nets = docker_ok(&[
        "network",
        "ls",
        "-q",
        "--filter",
        &format!("name={}_default", s.project),
    ]);
    assert!(nets.is_empty(), "down left the network");
    let out = s.install(&[]);
    assert!(out.status.success(), "install after down failed:\n{}", text(&out));
    assert_eq!(s.psql("SELECT v FROM e2e_marker"), "kept");

    // status sees what runs.
    let out = s.cmd(&["status", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status --json is JSON");
    let services = v["services"].as_array().expect("services");
    assert_eq!(services.len(), 5);
    assert!(services.iter().all(|x| x["state"] == "running"), "{v}");
}

#[test]
fn a_port_taken_by_another_process_stops_the_install_before_anything_is_created() {
    let s = TestStack::new("port");
    let holder = TcpListener::bind(("127.0.0.1", s.litellm)).expect("hold the litellm port");
    let out = s.install(&[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&s.litellm.to_string()) && err.contains("ports.litellm"),
        "{err}"
    );
    assert!(
        s.objects_left().is_empty(),
        "objects were created: {:?}",
        s.objects_left()
    );
    assert!(!s.dir().exists(), "files were written before the preflight passed");
    drop(holder);
}

#[test]
fn no_engine_is_exit_3_with_the_fix_in_under_5_seconds() {
    let s = TestStack::new("noengine");
    let started = Instant::now();
    let out = bin()
        .env("DOCKER_HOST", "unix:///nonexistent.sock")
        .args(["install", "--yes", "--answers"])
        .arg(s.answers())
        .timeout(Duration::from_secs(30))
        .output()
        .expect("run");
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unix:///nonexistent.sock"), "{err}");
    assert!(
        err.contains("DOCKER_HOST") && err.contains("systemctl start docker"),
        "{err}"
    );
}

/// A crash on start: `.env` keeps the weak master key a user copied (errata 13), which the
/// proxy refuses at boot. The installer must stop at once (not wait out the deadline), show
/// the proxy's last log lines and say what to do.
#[test]
fn a_litellm_that_crashes_on_start_fails_with_its_logs_and_a_diagnosis() {
    let s = TestStack::new("crash");
    std::fs::create_dir_all(s.dir()).expect("mkdir");
    std::fs::write(s.dir().join(".env"), "LITELLM_MASTER_KEY=sk-1234\n").expect("write .env");
    let started = Instant::now();
    let out = s.install(&["--timeout", "300s"]);
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        took < Duration::from_secs(120),
        "waited {took:?} for a container that had died"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("litellm did not come up"), "{err}");
    assert!(
        err.contains("  | ") && err.contains("refused to start"),
        "no proxy log lines shown:\n{err}"
    );
    assert!(err.contains("LiteLLM rejected its master key"), "no diagnosis:\n{err}");
    assert!(!err.contains("sk-1234"), "a secret reached the output:\n{err}");
    // Left in place for `status` and `logs`.
    assert!(s.containers().contains_key("litellm"));
    let out = s.cmd(&["logs", "litellm", "--tail", "20"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("refused to start"),
        "{}",
        text(&out)
    );

    // uninstall --purge removes the containers, the network and the data; the config stays.
    assert!(s.dir().join("pg_data").exists());
    let out = s.cmd(&["uninstall", "--purge", "--yes"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(s.objects_left().is_empty(), "left: {:?}", s.objects_left());
    assert!(!s.dir().join("pg_data").exists(), "pg_data survived --purge");
    assert!(s.dir().join(".env").exists(), ".env must stay");
}

/// A TCP relay in front of the test registry that, once, stops passing the registry's bytes
/// in the middle of a download and holds the connection open: a registry link gone silent,
/// the case a pull must not wait on forever. Every later connection is relayed in full.
struct StallingRelay {
    port: u16,
    stalled: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl StallingRelay {
    /// Relays to `upstream` (host:port); stalls the first connection that has carried
    /// `after` bytes from the registry.
    fn start(upstream: &str, after: u64) -> StallingRelay {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        let stalled = Arc::new(AtomicBool::new(false));
        let flag = stalled.clone();
        let port = relay::start(upstream, move || {
            let flag = flag.clone();
            let mut carried = 0u64;
            move |chunk: &[u8]| {
                if carried >= after && !flag.swap(true, Ordering::SeqCst) {
                    return Flow::Stall;
                }
                carried += chunk.len() as u64;
                Flow::Pass
            }
        });
        StallingRelay { port, stalled }
    }

    fn has_stalled(&self) -> bool {
        self.stalled.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[test]
fn pull_policy_always_pulls_concurrently_with_progress_retries_a_stalled_pull_and_records_digests() {
    let registry = ci_env("LST_TEST_REGISTRY");
    // Removed after the stack is (declared before it): its nginx runs the pulled image.
    let pulled = ImagesToRemove::default();
    let mut s = TestStack::new("pull");
    // An image whose top layer exists nowhere but in the registry, so the pull downloads it.
    let unique = format!("{registry}/lst-e2e/nginx:{}", s.project);
    // The legacy builder: BuildKit (the default since Docker 23) keeps the layers in its cache
    // after `rmi`, so the pull below would find them already there.
    // 8 MiB of random bytes: big enough that the engine reports the download, not only "done".
    let dockerfile = format!(
        "FROM {}\nRUN head -c 8388608 /dev/urandom > /lst-e2e-unique\n",
        s.images["nginx"]
    );
    docker_build(&unique, &dockerfile);
    docker_ok(&["push", &unique]);
    let digest = docker_ok(&["inspect", "--format", "{{index .RepoDigests 0}}", &unique]);
    docker_ok(&["rmi", &unique]);
    // The new image comes through a relay that goes silent after 1 MiB of its 8 MiB layer:
    // the installer must see the stall, drop that pull and try again (through the same relay,
    // which passes everything from then on).
    let relay = StallingRelay::start(&registry, 1 << 20);
    let relayed = unique.replacen(&registry, &format!("127.0.0.1:{}", relay.port), 1);
    pulled.add(&relayed);
    s.images.insert("nginx", relayed.clone());
    s.extra = "pull: always\n".into();
    s.write_answers();

    let answers = s.answers();
    let out = bin()
        .env("LITELLM_STACK_PULL_STALL", "5s")
        .args(["install", "--yes", "--json", "--answers"])
        .arg(&answers)
        .timeout(INSTALL_TIMEOUT)
        .output()
        .expect("run litellm-stack");
    assert!(out.status.success(), "install failed:\n{}", text(&out));
    assert!(
        relay.has_stalled(),
        "the relay never went silent: the test proves nothing"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "pulling {relayed} stalled (no progress for 5 s); attempt 2 of 3"
        )),
        "the stall was not reported as such:\n{stdout}"
    );
    let unique = relayed;
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    let pulls: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["event"] == "pull" && e["image"] == unique.as_str())
        .collect();
    assert!(!pulls.is_empty(), "no pull events for {unique}");
    assert!(
        pulls.iter().any(|e| e["bytes_total"].as_u64() >= Some(1 << 20)),
        "no bytes reported: {pulls:?}"
    );
    let last = pulls.last().expect("last");
    assert!(last["layers_total"].as_u64() >= Some(2), "{last}");
    assert_eq!(last["layers_done"], last["layers_total"], "{last}");
    // Every image was asked of the registry (policy always), not only the new one.
    for svc in ["postgres", "redis", "litellm", "prometheus"] {
        let img = &s.images[svc];
        assert!(
            events
                .iter()
                .any(|e| e["event"] == "pull" && e["image"] == img.as_str()),
            "{img} was not pulled"
        );
    }
    // The pulls overlap. Prometheus comes after nginx in the stack's order, so pulled one
    // after the other it could not start before nginx's stalled pull had been retried and
    // finished (more than 5 s after it began); at once, its quick pull (its layers are all
    // here) reports while nginx's still hangs.
    let position = |img: &str, first: bool| {
        let mut at = events
            .iter()
            .enumerate()
            .filter(|(_, e)| e["event"] == "pull" && e["image"] == img)
            .map(|(i, _)| i);
        if first { at.next() } else { at.next_back() }
    };
    let nginx_last = position(&unique, false).expect("nginx's last pull event");
    let prometheus_first = position(&s.images["prometheus"], true).expect("prometheus's first pull event");
    assert!(
        prometheus_first < nginx_last,
        "the pulls ran one after another, not at once (prometheus began at event {prometheus_first}, \
         after nginx's last, {nginx_last})"
    );
    let lock = std::fs::read_to_string(s.dir().join("images.lock.yaml")).expect("images.lock.yaml");
    let sha = digest.split_once('@').map(|(_, d)| d).expect("a digest");
    assert!(lock.contains(sha), "{sha} not recorded:\n{lock}");
    assert_eq!(events.last().map(|e| e["event"].clone()), Some("done".into()));
    assert_event_schema(&out.stdout);
}

/// A registry that refuses connections is a passing trouble as far as the installer can tell:
/// it retries with backoff, then says what failed and how to bring the images another way.
#[test]
fn a_registry_that_does_not_answer_is_retried_then_reported() {
    let mut s = TestStack::new("noregistry");
    let dead = format!("127.0.0.1:{}/lst-e2e/redis:1", free_port());
    s.images.insert("redis", dead.clone());
    s.write_answers();
    let out = s.install(&["--json"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("attempt 2 of 3") && stdout.contains("attempt 3 of 3"),
        "{stdout}"
    );
    let failed: serde_json::Value = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|e| e["event"] == "step_failed")
        .expect("a step_failed event");
    assert_eq!(failed["step"], "images");
    assert!(failed["error"].as_str().is_some_and(|e| e.contains(&dead)), "{failed}");
    assert!(
        failed["hint"].as_str().is_some_and(|h| h.contains("images save")),
        "{failed}"
    );
    assert!(s.containers().is_empty(), "containers were created");
    assert_event_schema(&out.stdout);
}

#[test]
fn images_saved_to_a_file_install_without_a_registry_on_named_volumes() {
    let mut s = TestStack::new("airgap");
    let mut tags = Vec::new();
    for (svc, image) in s.images.clone() {
        let tag = format!("lst-e2e-airgap/{svc}:{}", s.project);
        docker_ok(&["tag", &image, &tag]);
        s.images.insert(svc, tag.clone());
        tags.push(tag);
    }
    // Named volumes for the data, as on Docker Desktop.
    s.extra = "data: volumes\n".into();
    s.write_answers();
    let file = s.root.path().join("images.tar");
    let out = s.cmd(&["images", "save", file.to_str().expect("utf-8 path")]);
    assert!(out.status.success(), "images save failed:\n{}", text(&out));
    assert!(std::fs::metadata(&file).expect("the file").len() > 1 << 20);
    for t in &tags {
        docker_ok(&["rmi", t]);
    }
    let out = s.install(&["--images", file.to_str().expect("utf-8 path")]);
    let present: Vec<bool> = tags
        .iter()
        .map(|t| docker(&["image", "inspect", t]).status.success())
        .collect();
    for t in &tags {
        docker(&["rmi", t]);
    }
    assert!(out.status.success(), "install --images failed:\n{}", text(&out));
    assert!(
        present.iter().all(|p| *p),
        "not every image was loaded: {tags:?} {present:?}"
    );
    assert_eq!(http_status(s.nginx, "/health/readiness"), Some(200));
    let volumes = docker_ok(&[
        "volume",
        "ls",
        "--filter",
        &format!("label=com.docker.compose.project={}", s.project),
        "--format",
        "{{.Name}}",
    ]);
    for v in ["pg_data", "redis_data", "prometheus_data"] {
        assert!(
            volumes.contains(&format!("{}_{v}", s.project)),
            "no volume {v}: {volumes}"
        );
    }
}

/// Ctrl-C in the middle of step E: the run stops, what exists is labelled, a re-run continues
/// from it (the containers made before the interruption are kept, not recreated).
#[test]
fn ctrl_c_during_install_stops_cleanly_and_a_rerun_continues() {
    let s = TestStack::new("ctrlc");
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("litellm-stack"))
        .env("LANG", "en_US.UTF-8")
        .env_remove("LC_ALL")
        .args(["install", "--yes", "--answers"])
        .arg(s.answers())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn install");
    let stdout = child.stdout.take().expect("stdout");
    let mut seen = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        let trigger = line.contains("postgres: created and started");
        seen.push(line);
        if trigger {
            let pid = child.id().to_string();
            assert!(
                Command::new("kill")
                    .args(["-INT", &pid])
                    .status()
                    .expect("kill")
                    .success()
            );
            break;
        }
    }
    assert!(
        seen.iter().any(|l| l.contains("postgres: created and started")),
        "never reached step E:\n{}",
        seen.join("\n")
    );
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Interrupted"),
        "{}",
        text(&out)
    );

    // Nothing of the project is unlabelled: every container named after it carries its label.
    let named = docker_ok(&[
        "ps",
        "-a",
        "--filter",
        &format!("name={}-", s.project),
        "--format",
        "{{.Names}} {{.Label \"com.docker.compose.project\"}}",
    ]);
    for l in named.lines() {
        assert!(l.ends_with(&s.project), "unlabelled: {l}");
    }
    let before = s.containers();
    assert!(before.contains_key("postgres"), "{before:?}");

    let out = s.install(&[]);
    assert!(out.status.success(), "re-run after Ctrl-C failed:\n{}", text(&out));
    let after = s.containers();
    assert_eq!(
        after["postgres"], before["postgres"],
        "postgres was recreated after the interruption"
    );
    assert_eq!(after.len(), 5);
}
