//! LiteLLM changed with no downtime (issue 16), on the real engine with LiteLLM on its Postgres
//! (the `litellm-db` test image) behind the stack's nginx:
//! - a re-run that adds a model recreates LiteLLM beside the running one: a poller through nginx
//!   every 50 ms sees no failed request from before the run until after it, and a streamed
//!   completion that the old proxy is serving when it is told to stop completes;
//! - afterwards Compose sees one `litellm` under its usual name and `docker compose up -d`
//!   recreates nothing;
//! - a re-run whose new LiteLLM settings are refused at start (the docs' example master key
//!   `sk-1234`, which this LiteLLM refuses as publicly known) keeps the old proxy answering
//!   throughout, exits 1 and names the cause; the new container is removed;
//! - `upgrade` 1.106.12 → 1.108.7, whose 7 pending migrations only add to the schema, switches
//!   the same way (no failed request through nginx, the team's key works after); an image with a
//!   migration that drops a column stops the old version first and says which migration.

// Linux only: the host reaches the containers' addresses on the bridge network, which the
// switch needs (and `docker events` with a Unix child process).
#![cfg(unix)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::bin;
use common::images::{LocalImage, docker_build};
use common::stack::{TestStack, docker, docker_ok, text};

/// An OpenAI-compatible upstream that streams a chunk every 250 ms until `GET /finish`, so a
/// completion can be kept in flight across the switch. Python's standard library only: it runs
/// in the LiteLLM test image, which has python3.
const SLOW_UPSTREAM: &str = r#"
import http.server, json, threading, time
done = threading.Event()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def log_message(self, *a):
        pass
    def reply(self, body, kind="application/json"):
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        if self.path == "/finish":
            done.set()
        self.reply(b"ok", "text/plain")
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        req = json.loads(self.rfile.read(n) or b"{}")
        if not req.get("stream"):
            msg = {"role": "assistant", "content": "slow"}
            body = {"id": "c", "object": "chat.completion", "created": 0, "model": "slow",
                    "choices": [{"index": 0, "message": msg, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
            self.reply(json.dumps(body).encode())
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        def chunk(delta, finish=None):
            d = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "slow",
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            self.wfile.write(("data: " + json.dumps(d) + "\n\n").encode())
            self.wfile.flush()
        chunk({"role": "assistant", "content": ""})
        t0 = time.time()
        i = 0
        while not done.is_set() and time.time() - t0 < 400:
            # Each chunk its own: LiteLLM ends a stream that repeats one chunk.
            i += 1
            chunk({"content": "tick %d " % i})
            time.sleep(0.25)
        chunk({"content": "end"})
        chunk({}, "stop")
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
http.server.ThreadingHTTPServer(("0.0.0.0", 8000), H).serve_forever()
"#;

/// The slow upstream's container, on the stack's network; removed on drop (before the stack,
/// whose network it holds: declare it after the `TestStack`).
struct Upstream {
    name: String,
    port: u16,
}

impl Upstream {
    fn start(s: &TestStack) -> Upstream {
        let name = format!("{}-slowllm", s.project);
        let network = format!("{}_default", s.project);
        // Not labelled with the project: the installer removes the project's containers it
        // has no place for.
        docker_ok(&[
            "run",
            "-d",
            "--name",
            &name,
            "--network",
            &network,
            "-p",
            "127.0.0.1::8000",
            "--entrypoint",
            "python3",
            &s.images["litellm"],
            "-c",
            SLOW_UPSTREAM,
        ]);
        let port = docker_ok(&["port", &name, "8000/tcp"])
            .lines()
            .next()
            .and_then(|l| l.rsplit(':').next())
            .and_then(|p| p.trim().parse().ok())
            .expect("the upstream's published port");
        let up = Upstream { name, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while common::http_status(up.port, "/ready") != Some(200) {
            assert!(Instant::now() < deadline, "the slow upstream did not answer");
            std::thread::sleep(Duration::from_millis(200));
        }
        up
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        docker(&["rm", "-f", &self.name]);
    }
}

fn install(s: &TestStack) -> Output {
    let mut c = bin();
    c.env("SLOW_API_KEY", "sk-slow-upstream-test-key")
        .args(["install", "--yes", "--answers"])
        .arg(s.answers())
        .timeout(common::stack::INSTALL_TIMEOUT);
    c.output().expect("run litellm-stack")
}

fn models(s: &TestStack, names: &[&str]) -> String {
    let base = format!("http://{}-slowllm:8000/v1", s.project);
    let mut yaml = String::from("models:\n");
    for n in names {
        yaml.push_str(&format!(
            "  - name: {n}\n    model: openai/{n}\n    api_base: {base}\n    api_key_env: SLOW_API_KEY\n"
        ));
    }
    yaml
}

/// One HTTP/1.0 request to nginx on loopback: the status, `None` when it failed (refused,
/// reset, no answer within 30 s).
fn request(port: u16, method: &str, path: &str, key: Option<&str>, body: &str) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let auth = key
        .map(|k| format!("Authorization: Bearer {k}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    text.split_whitespace().nth(1)?.parse().ok()
}

/// Asks nginx every 50 ms, alternately the proxy's liveliness and a chat completion with the
/// smoke-test model, until stopped; keeps every failure (not a 200) with when it happened.
struct Poller {
    stop: Arc<AtomicBool>,
    failures: Arc<Mutex<Vec<String>>>,
    requests: Arc<Mutex<(u32, Duration)>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Poller {
    fn start(port: u16, key: String) -> Poller {
        let stop = Arc::new(AtomicBool::new(false));
        let failures = Arc::new(Mutex::new(Vec::new()));
        let requests = Arc::new(Mutex::new((0u32, Duration::ZERO)));
        let (st, fl, rq) = (stop.clone(), failures.clone(), requests.clone());
        let started = Instant::now();
        let thread = std::thread::spawn(move || {
            let chat = r#"{"model":"smoke-test","messages":[{"role":"user","content":"poll"}]}"#;
            let mut n = 0u32;
            while !st.load(Ordering::SeqCst) {
                let t = Instant::now();
                let (what, status) = if n % 2 == 0 {
                    ("liveliness", request(port, "GET", "/health/liveliness", None, ""))
                } else {
                    ("chat", request(port, "POST", "/v1/chat/completions", Some(&key), chat))
                };
                let took = t.elapsed();
                if status == Some(200) && took > Duration::from_secs(2) {
                    eprintln!(
                        "poller: slow {what} at {:.1}s: {took:?}",
                        started.elapsed().as_secs_f64()
                    );
                }
                if status != Some(200) {
                    fl.lock().expect("lock").push(format!(
                        "{what} at {:.1}s: {status:?} after {took:?}",
                        started.elapsed().as_secs_f64()
                    ));
                }
                {
                    let mut r = rq.lock().expect("lock");
                    r.0 += 1;
                    r.1 = r.1.max(took);
                }
                n += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        Poller {
            stop,
            failures,
            requests,
            thread: Some(thread),
        }
    }

    /// Stops it: (failures, requests made, the slowest request).
    fn finish(mut self) -> (Vec<String>, u32, Duration) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().expect("poller thread");
        }
        let r = *self.requests.lock().expect("lock");
        (self.failures.lock().expect("lock").clone(), r.0, r.1)
    }
}

/// A streamed completion through nginx, read on its own thread: (the body, when it ended).
fn stream(port: u16, key: &str, first_chunk: Arc<AtomicBool>) -> std::thread::JoinHandle<(String, Instant)> {
    let key = key.to_string();
    std::thread::spawn(move || {
        let body = r#"{"model":"slow","stream":true,"messages":[{"role":"user","content":"take your time"}]}"#;
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to nginx");
        s.set_read_timeout(Some(Duration::from_secs(420))).expect("timeout");
        write!(
            s,
            "POST /v1/chat/completions HTTP/1.0\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .expect("send");
        let mut all = String::new();
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    all.push_str(&String::from_utf8_lossy(&buf[..n]));
                    if all.contains("tick") {
                        first_chunk.store(true, Ordering::SeqCst);
                    }
                }
            }
        }
        (all, Instant::now())
    })
}

fn litellm_containers(s: &TestStack) -> Vec<String> {
    let filter = format!("label=com.docker.compose.project={}", s.project);
    docker_ok(&[
        "ps",
        "-a",
        "--filter",
        &filter,
        "--filter",
        "label=com.docker.compose.service=litellm",
        "--format",
        "{{.Names}} {{.State}}",
    ])
    .lines()
    .map(str::to_string)
    .collect()
}

fn container_id(name: &str) -> String {
    docker_ok(&["inspect", "--format", "{{.Id}}", name])
}

#[test]
fn litellm_changes_with_no_failed_request_and_a_refused_change_keeps_the_old_proxy_serving() {
    let mut s = TestStack::new("bluegreen");
    s.extra = models(&s, &["slow"]);
    s.write_answers();
    let out = install(&s);
    assert!(out.status.success(), "first install:\n{}", text(&out));
    let upstream = Upstream::start(&s);
    let master = s.env_value("LITELLM_MASTER_KEY");
    let old_id = container_id(&s.container("litellm"));

    // A streamed completion in flight through the old proxy before the re-run starts.
    let first_chunk = Arc::new(AtomicBool::new(false));
    let streaming = stream(s.nginx, &master, first_chunk.clone());
    let deadline = Instant::now() + Duration::from_secs(60);
    while !first_chunk.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "the streamed completion did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let poller = Poller::start(s.nginx, master.clone());
    std::thread::sleep(Duration::from_secs(2));

    // When the old proxy is told to stop, the stream is still going: the upstream ends it
    // then, and the old proxy must deliver the rest before it goes.
    let mut events = Command::new("docker")
        .args([
            "events",
            "--filter",
            &format!("container={old_id}"),
            "--filter",
            "event=kill",
            "--format",
            "{{.Action}}",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("docker events");
    let events_out = events.stdout.take().expect("events stdout");
    let told_to_stop = Arc::new(Mutex::new(None::<Instant>));
    let seen = told_to_stop.clone();
    let upstream_port = upstream.port;
    let watcher = std::thread::spawn(move || {
        if let Some(Ok(_)) = BufReader::new(events_out).lines().next() {
            *seen.lock().expect("lock") = Some(Instant::now());
            // Half a second more of stream through the stopping proxy, then its end.
            std::thread::sleep(Duration::from_millis(500));
            assert_eq!(common::http_status(upstream_port, "/finish"), Some(200));
        }
    });

    // The re-run adds a model: config.yaml changes, LiteLLM is recreated.
    s.extra = models(&s, &["slow", "added"]);
    s.write_answers();
    let rerun = install(&s);
    let _ = events.kill();
    let _ = events.wait();
    let _ = watcher.join();
    std::thread::sleep(Duration::from_secs(3));
    let (failures, polled, slowest) = poller.finish();
    let stdout = String::from_utf8_lossy(&rerun.stdout).to_string();
    assert!(
        rerun.status.success(),
        "the re-run that adds a model:\n{}",
        text(&rerun)
    );
    assert!(stdout.contains("switched with no downtime"), "{stdout}");
    assert!(
        failures.is_empty(),
        "{} of {polled} requests through nginx failed during the switch: {failures:#?}\n{}",
        failures.len(),
        text(&rerun)
    );
    assert!(polled > 100, "only {polled} requests made");
    eprintln!("--- the re-run\n{stdout}\npoller: {polled} requests, none failed, slowest {slowest:?}");

    let stop_sent = told_to_stop
        .lock()
        .expect("lock")
        .expect("the old proxy was never told to stop");
    let (body, ended) = streaming.join().expect("stream thread");
    assert!(
        body.contains("data: [DONE]") && body.contains("end"),
        "the streamed completion did not complete:\n{body}"
    );
    assert!(
        ended > stop_sent,
        "the stream ended before the old proxy was told to stop"
    );

    // One litellm, under its usual name, serving the new model; Compose agrees.
    assert_eq!(
        litellm_containers(&s),
        vec![format!("{} running", s.container("litellm"))],
        "after the switch"
    );
    let new_id = container_id(&s.container("litellm"));
    assert_ne!(new_id, old_id, "LiteLLM was recreated");
    let (status, listed) = s.http("GET", "/v1/models", Some(&master), None);
    assert_eq!(status, 200, "{listed}");
    assert!(listed.contains("\"added\""), "{listed}");
    let before = s.containers();
    let up = Command::new("docker")
        .args(["compose", "up", "-d"])
        .current_dir(s.dir())
        .output()
        .expect("docker compose runs");
    assert!(up.status.success(), "docker compose up -d:\n{}", text(&up));
    assert_eq!(s.containers(), before, "docker compose up -d recreated a container");

    // A change LiteLLM refuses at start: the docs' example master key in .env.
    let env_path = s.dir().join(".env");
    let env = std::fs::read_to_string(&env_path).expect("read .env");
    let changed: String = env
        .lines()
        .map(|l| match l.starts_with("LITELLM_MASTER_KEY=") {
            true => "LITELLM_MASTER_KEY=sk-1234".to_string(),
            false => l.to_string(),
        })
        .map(|l| l + "\n")
        .collect();
    std::fs::write(&env_path, changed).expect("write .env");
    let poller = Poller::start(s.nginx, master.clone());
    std::thread::sleep(Duration::from_secs(1));
    let refused = install(&s);
    std::thread::sleep(Duration::from_secs(2));
    let (failures, polled, slowest) = poller.finish();
    let all = text(&refused);
    eprintln!("--- the refused re-run\n{all}\npoller: {polled} requests, slowest {slowest:?}");
    assert_eq!(
        refused.status.code(),
        Some(1),
        "a refused LiteLLM fails the run:\n{all}"
    );
    assert!(
        all.contains("refused to start") || all.contains("publicly known"),
        "the report names the cause:\n{all}"
    );
    assert!(
        all.contains("keeps serving"),
        "the report says the old proxy serves:\n{all}"
    );
    assert!(
        failures.is_empty(),
        "{} of {polled} requests failed while the refused one was tried: {failures:#?}",
        failures.len()
    );
    assert_eq!(
        litellm_containers(&s),
        vec![format!("{} running", s.container("litellm"))],
        "the new container is removed, the old one runs"
    );
    assert_eq!(
        container_id(&s.container("litellm")),
        new_id,
        "the serving proxy was left alone"
    );
    drop(upstream);
}

/// The test image's migrations folder (`litellm_proxy_extras/migrations` of its site-packages).
const IMAGE_MIGRATIONS: &str = "/opt/litellm/site/litellm_proxy_extras/migrations";
/// A migration that drops a column: a no-op on the data (`IF EXISTS`, a column that never
/// was), but not additive, so the upgrade must stop the old version first.
const UNSAFE_MIGRATION: &str = "99990101000000_lst_e2e_drop_column";

/// An additive migration (a new table).
const ADDITIVE_MIGRATION: &str = "99980101000000_lst_e2e_new_table";

/// `FROM base` shipping one more migration, [`UNSAFE_MIGRATION`], which its migrator applies at
/// start like the others.
fn with_unsafe_migration(base: &str, tag: &str) -> LocalImage {
    with_migration(
        base,
        tag,
        UNSAFE_MIGRATION,
        r#"ALTER TABLE "LiteLLM_TeamTable" DROP COLUMN IF EXISTS "lst_e2e_never_there";"#,
        None,
    )
}

/// `FROM base` shipping one more migration `name` with `sql` (no single quote in it: it goes
/// into the Dockerfile's shell in single quotes); with `entrypoint`, that shell script instead
/// of the proxy.
fn with_migration(base: &str, tag: &str, name: &str, sql: &str, entrypoint: Option<&str>) -> LocalImage {
    let dir = format!("{IMAGE_MIGRATIONS}/{name}");
    let mut dockerfile = format!("FROM {base}\nRUN mkdir -p {dir} && printf '%s\\n' '{sql}' > {dir}/migration.sql\n");
    if let Some(script) = entrypoint {
        dockerfile.push_str(&format!("ENTRYPOINT [\"sh\", \"-c\", \"{script}\"]\n"));
    }
    docker_build(tag, &dockerfile);
    LocalImage(tag.to_string())
}

/// Issues 12 and 16: `upgrade` to a new LiteLLM image whose pending migrations only add to the
/// schema (1.106.12 → 1.108.7: 7 real migrations) switches blue/green: a poller through nginx
/// every 50 ms sees no failed request, the team's virtual key works after, the report says so.
/// An image with a migration that drops a column falls back to stop-then-start and says which
/// migration and which statement kind.
#[test]
fn an_upgrade_whose_migrations_are_additive_has_no_failed_request_and_an_unsafe_one_stops_first() {
    let previous = common::ci_env("LST_IMAGE_LITELLM_PREVIOUS");
    let next = common::ci_env("LST_IMAGE_LITELLM");
    let mut s = TestStack::new("bg-upgrade");
    s.images.insert("litellm", previous.clone());
    s.write_answers();
    let out = s.install();
    assert!(out.status.success(), "install on {previous}:\n{}", text(&out));
    let master = s.env_value("LITELLM_MASTER_KEY");
    let team_key = s.virtual_key("team-key");
    let old_id = container_id(&s.container("litellm"));

    let poller = Poller::start(s.nginx, master.clone());
    std::thread::sleep(Duration::from_secs(2));
    let out = s.cmd(&["upgrade", "--litellm", &next, "--yes"]);
    std::thread::sleep(Duration::from_secs(3));
    let (failures, polled, slowest) = poller.finish();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    eprintln!(
        "--- the upgrade\n{}\npoller: {polled} requests, slowest {slowest:?}",
        text(&out)
    );
    assert!(out.status.success(), "upgrade to {next}:\n{}", text(&out));
    assert!(
        stdout.contains("pending database migrations only add to the schema"),
        "the report says why blue/green is safe:\n{stdout}"
    );
    assert!(stdout.contains("7 pending"), "the 7 migrations of 1.108.7:\n{stdout}");
    assert!(stdout.contains("switched with no downtime"), "{stdout}");
    assert!(
        failures.is_empty(),
        "{} of {polled} requests through nginx failed during the upgrade: {failures:#?}",
        failures.len()
    );
    assert!(polled > 100, "only {polled} requests made");
    assert_ne!(container_id(&s.container("litellm")), old_id, "LiteLLM was recreated");
    assert_eq!(
        litellm_containers(&s),
        vec![format!("{} running", s.container("litellm"))],
        "after the switch"
    );
    let (status, body) = s.chat(&team_key, "smoke-test");
    assert_eq!(status, 200, "the team's key after the upgrade: {body}");
    assert_eq!(
        s.psql(
            "SELECT count(*) FROM _litellm_image_migrations WHERE migration_name IN (\
             '20261008010000_add_daily_gateway_failed_requests', '20261008120000_add_daily_request_errors', \
             '20261008120000_user_provider_credentials', '20261009000100_telemetry_reports', \
             '20261013000000_access_group_mcp_tool_permissions', '20261013000000_add_access_group_skill_names', \
             '20261015000000_managed_object_end_user_id')"
        ),
        "7",
        "the new version applied its migrations"
    );

    // A new version that applies an additive migration, then fails: the old container never
    // stopped and keeps serving, no database restore (the old version runs on the schema).
    let failing = with_migration(
        &next,
        &format!("lst-e2e/litellm-additive-then-fails:{}", s.project),
        ADDITIVE_MIGRATION,
        r#"CREATE TABLE IF NOT EXISTS "LST_e2e_new" ("id" TEXT NOT NULL);"#,
        Some(
            "/usr/local/bin/litellm-db-migrate && echo 'migrated, then broken on purpose by bluegreen_e2e' >&2; exit 1",
        ),
    );
    let serving = container_id(&s.container("litellm"));
    let poller = Poller::start(s.nginx, master.clone());
    std::thread::sleep(Duration::from_secs(1));
    let out = s.cmd(&["upgrade", "--litellm", &failing.0, "--yes"]);
    std::thread::sleep(Duration::from_secs(2));
    let (failures, polled, _) = poller.finish();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    eprintln!("--- the failing upgrade\n{}\npoller: {polled} requests", text(&out));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(stdout.contains("never stopped and keeps serving"), "{stdout}");
    assert!(stdout.contains("no database restore is needed"), "{stdout}");
    assert!(!stdout.contains("Restoring the database"), "{stdout}");
    assert!(
        failures.is_empty(),
        "{} of {polled} requests failed during the failed upgrade and its rollback: {failures:#?}",
        failures.len()
    );
    assert_eq!(
        container_id(&s.container("litellm")),
        serving,
        "the serving proxy was left alone"
    );
    assert_eq!(
        s.psql(&format!(
            "SELECT count(*) FROM _litellm_image_migrations WHERE migration_name = '{ADDITIVE_MIGRATION}'"
        )),
        "1",
        "the additive migration stays applied"
    );
    let saved = std::fs::read_dir(s.dir().join("logs"))
        .expect("logs/")
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("upgrade-"))
        })
        .expect("the new version's logs saved");
    let lines = std::fs::read_to_string(&saved).expect("saved logs");
    assert!(lines.contains("broken on purpose"), "{lines}");
    let (status, body) = s.chat(&team_key, "smoke-test");
    assert_eq!(status, 200, "the team's key after the rollback: {body}");

    // Not additive: the old container stops first, and the report says which migration.
    let unsafe_image = with_unsafe_migration(&next, &format!("lst-e2e/litellm-unsafe-migration:{}", s.project));
    let out = s.cmd(&["upgrade", "--litellm", &unsafe_image.0, "--yes"]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    eprintln!("--- the unsafe upgrade\n{}", text(&out));
    assert!(out.status.success(), "upgrade to {}:\n{}", unsafe_image.0, text(&out));
    assert!(
        stdout.contains(UNSAFE_MIGRATION) && stdout.contains("is not additive") && stdout.contains("DROP COLUMN"),
        "the report names the migration and the statement kind:\n{stdout}"
    );
    assert!(!stdout.contains("switched with no downtime"), "{stdout}");
    let (status, body) = s.chat(&team_key, "smoke-test");
    assert_eq!(status, 200, "the team's key after the second upgrade: {body}");
}
