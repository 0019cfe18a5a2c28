//! Issue 16, the pulls: an install with every image of the stack absent from the engine starts
//! the services whose images are there while the others still download. Against the local
//! registry of `ci/setup.sh` (`LST_TEST_REGISTRY`): each image of the stack gets a layer of
//! random bytes under a tag of this test only (so other tests' images stay), is pushed and
//! removed from the engine; LiteLLM's comes through a loopback relay that passes a few MiB a
//! second. The report's timeline must show Postgres healthy before LiteLLM's pull finished:
//! with the old order (every pull, then every start) it could not be.

mod common;

use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::ci_env;
use common::images::docker_build;
use common::relay::{self, Flow};
use common::stack::{TestStack, docker, docker_ok, text};

/// LiteLLM's own layer, and the rate of its path: about 16 s of download.
const LITELLM_LAYER: u64 = 48 << 20;
const RELAY_BYTES_PER_S: u64 = 3 << 20;
/// The other images' own layers: downloaded too, quickly.
const SMALL_LAYER: u64 = 2 << 20;

/// A TCP relay on loopback in front of the registry that passes the registry's bytes at
/// `rate` bytes a second at most, over all its connections together.
struct ThrottledRelay {
    port: u16,
    carried: Arc<AtomicU64>,
}

impl ThrottledRelay {
    fn start(upstream: &str, rate: u64) -> ThrottledRelay {
        let carried = Arc::new(AtomicU64::new(0));
        // When the link is free again: shared by every connection, no credit for idle time.
        let budget = Arc::new(Mutex::new(Instant::now()));
        let total = carried.clone();
        let port = relay::start(upstream, move || {
            let (budget, total) = (budget.clone(), total.clone());
            move |chunk: &[u8]| {
                let n = chunk.len();
                // These bytes go when the link has carried the ones before them.
                let wait = {
                    let mut free = budget.lock().unwrap_or_else(|e| e.into_inner());
                    let now = Instant::now();
                    let from = (*free).max(now);
                    *free = from + Duration::from_secs_f64(n as f64 / rate as f64);
                    *free - now
                };
                // The throttle itself: a wait on elapsed time is what a slow link is.
                std::thread::sleep(wait);
                total.fetch_add(n as u64, Ordering::SeqCst);
                Flow::Pass
            }
        });
        ThrottledRelay { port, carried }
    }

    fn carried(&self) -> u64 {
        self.carried.load(Ordering::SeqCst)
    }
}

/// The images this test pushed: removed from the engine and the registry at the end.
struct Pushed {
    registry: String,
    /// (reference in the registry, the same through the relay when there is one)
    refs: Vec<(String, String)>,
}

impl Drop for Pushed {
    fn drop(&mut self) {
        for (reference, relayed) in &self.refs {
            docker(&["rmi", relayed]);
            docker(&["rmi", reference]);
            // The registry keeps the blobs until its garbage collection; the tag goes.
            let Some((repo, tag)) = reference
                .strip_prefix(&format!("{}/", self.registry))
                .and_then(|r| r.rsplit_once(':'))
            else {
                continue;
            };
            let accept = "Accept: application/vnd.docker.distribution.manifest.v2+json";
            let url = format!("http://{}/v2/{repo}/manifests/{tag}", self.registry);
            let head = Command::new("curl")
                .args(["-sSI", "-H", accept, &url])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
                .unwrap_or_default();
            if let Some(digest) = head.lines().find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("docker-content-digest:")
                    .map(|d| d.trim().to_string())
            }) {
                let _ = Command::new("curl")
                    .args([
                        "-sS",
                        "-X",
                        "DELETE",
                        &format!("http://{}/v2/{repo}/manifests/{digest}", self.registry),
                    ])
                    .output();
            }
        }
    }
}

/// `base` with a layer of `size` random bytes on top, under `tag`, pushed, then removed from
/// the engine so that a pull must download that layer.
fn push_unique(base: &str, tag: &str, size: u64) {
    docker_build(
        tag,
        &format!("FROM {base}\nRUN head -c {size} /dev/urandom > /tmp/lst-pull-e2e-unique\n"),
    );
    docker_ok(&["push", "-q", tag]);
    docker_ok(&["rmi", tag]);
}

#[test]
fn with_every_image_absent_postgres_is_healthy_before_litellm_is_pulled_and_the_install_ends_healthy() {
    let registry = ci_env("LST_TEST_REGISTRY");
    // Declared before the stack: on a failed assertion the stack (its containers) is dropped
    // first, so that the images can be removed after it.
    let mut pushed = Pushed {
        registry: registry.clone(),
        refs: Vec::new(),
    };
    let mut s = TestStack::new("pulls");
    let relay = ThrottledRelay::start(&registry, RELAY_BYTES_PER_S);
    for (svc, base) in s.images.clone() {
        let reference = format!("{registry}/lst-pull-e2e/{svc}:{}", s.project);
        let size = if svc == "litellm" { LITELLM_LAYER } else { SMALL_LAYER };
        push_unique(&base, &reference, size);
        let used = match svc {
            "litellm" => reference.replacen(&registry, &format!("127.0.0.1:{}", relay.port), 1),
            _ => reference.clone(),
        };
        assert!(
            !docker(&["image", "inspect", &used]).status.success(),
            "{used} is still in the engine"
        );
        pushed.refs.push((reference, used.clone()));
        s.images.insert(svc, used);
    }
    s.write_answers();
    let litellm = s.images["litellm"].clone();

    let started = Instant::now();
    let out = s.cmd(&["install", "--yes", "--json"]);
    let took = started.elapsed();
    assert!(out.status.success(), "install failed:\n{}", text(&out));
    let carried = relay.carried();
    assert!(
        carried >= LITELLM_LAYER,
        "LiteLLM's image did not come through the throttled relay ({carried} bytes): the test proves nothing"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let done: serde_json::Value = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|e| e["event"] == "done")
        .unwrap_or_else(|| panic!("no done line:\n{stdout}"));
    let pulled: Vec<&str> = done["images_pulled"]
        .as_array()
        .expect("images_pulled")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for image in s.images.values() {
        assert!(pulled.contains(&image.as_str()), "{image} was not pulled: {pulled:?}");
    }
    let timeline = done["timeline"].as_array().expect("a timeline in the report");
    let at = |kind: &str, name: &str| {
        timeline
            .iter()
            .find(|m| m["kind"] == kind && m["name"] == name)
            .and_then(|m| m["at_ms"].as_u64())
            .unwrap_or_else(|| panic!("no {kind} {name} in the timeline: {timeline:?}"))
    };
    let litellm_pulled = at("pulled", &litellm);
    let postgres_healthy = at("healthy", "postgres");
    let redis_healthy = at("healthy", "redis");
    let litellm_started = at("started", "litellm");
    eprintln!(
        "install took {took:?}; postgres healthy at {postgres_healthy} ms, redis at {redis_healthy} ms, \
         LiteLLM pulled at {litellm_pulled} ms, started at {litellm_started} ms; {carried} bytes relayed"
    );
    assert!(
        postgres_healthy < litellm_pulled,
        "Postgres became healthy at {postgres_healthy} ms, not before LiteLLM's pull finished ({litellm_pulled} ms): \
         the starts waited for the pulls\n{timeline:?}"
    );
    assert!(redis_healthy < litellm_pulled, "{timeline:?}");
    assert!(litellm_started >= litellm_pulled, "{timeline:?}");
    for svc in ["postgres", "redis", "litellm", "nginx", "prometheus"] {
        let state = docker_ok(&["inspect", "--format", "{{.State.Status}}", &s.container(svc)]);
        assert_eq!(state, "running", "{svc}");
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let health: Vec<(String, String)> = ["postgres", "redis", "litellm", "nginx", "prometheus"]
            .iter()
            .map(|svc| {
                (
                    svc.to_string(),
                    docker_ok(&[
                        "inspect",
                        "--format",
                        "{{if .State.Health}}{{.State.Health.Status}}{{end}}",
                        &s.container(svc),
                    ]),
                )
            })
            .collect();
        if health.iter().all(|(_, h)| h == "healthy") {
            break;
        }
        assert!(Instant::now() < deadline, "the stack did not end healthy: {health:?}");
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(common::http_status(s.nginx, "/health/readiness"), Some(200));
    drop(s);
    drop(pushed);
}
