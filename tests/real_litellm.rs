//! The health checks against the REAL LiteLLM proxy (from PyPI, pinned, installed by
//! `ci/setup.sh`), run with the `config.yaml` this project generates, behind the real nginx
//! running the generated `nginx.conf`, scraped by the real Prometheus running the generated
//! `prometheus.yml`, with a real `redis-server` holding the cache behind the generated
//! password. What the test changes, because everything runs on this host instead of in the
//! stack's network: REDIS_HOST/REDIS_PORT, nginx's upstream and listen port, Prometheus's
//! target, key file path and scrape interval (2 s instead of 15 s, to keep the wait short).
//!
//! What this proves: the generated files work with the real programs (readiness, models
//! listed, the smoke-test model answering plain and streamed, the master key enforced,
//! `/metrics/` behind the key, the Redis cache in use, Prometheus's scrape path and bearer
//! credential right, nginx passing a stream on chunk by chunk), and the poller and API test
//! read the real proxy, nginx and Prometheus correctly.
//! What it cannot prove: anything about the database. The PyPI proxy refuses to start with
//! a `database_url` unless prisma can fetch its engines, which these machines cannot, so the
//! test removes `general_settings.database_url` (and only that) from the generated config:
//! `db: connected`, the 503 of a proxy whose database is down, virtual keys and spend logs
//! are not exercised here: tests/database_e2e.rs runs them on the stack's real Postgres.
//!
//! The proxy takes several seconds to start, so one test runs every phase in order.
// Starts this Linux host's own servers (process groups, signals): not built for Windows.
#![cfg(unix)]

mod common;

/// This proxy runs without its database (see above): the API test's virtual-key round trip,
/// which needs one, is proved by tests/database_e2e.rs instead.
const NO_DATABASE: health::ApiOptions = health::ApiOptions {
    database_configured: false,
};

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{ci_env, free_port};
use litellm_stack::answers::{Answers, Model};
use litellm_stack::error::Error;
use litellm_stack::health::{self, Endpoints, ReadinessOptions};
use litellm_stack::i18n::{Arg, Lang};
use litellm_stack::platform::Os;
use litellm_stack::render::nginx::render_nginx_conf;
use litellm_stack::render::prometheus::render_prometheus_yml;
use litellm_stack::secrets::Secret;
use litellm_stack::steps::{Event, Recorder};
use litellm_stack::workspace::Workspace;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A child process of this test, killed with its whole process group when dropped (also on
/// panic), so no nginx worker or proxy outlives the test.
struct Guard {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Guard {
    fn spawn(name: &'static str, mut cmd: Command, log: PathBuf) -> Guard {
        use std::os::unix::process::CommandExt;
        let out = std::fs::File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        cmd.stdin(Stdio::null()).stdout(out).stderr(err).process_group(0);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {name} ({cmd:?}): {e}"));
        Guard { name, child, log }
    }

    /// The end of the process's output, for failure messages.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let from = lines.len().saturating_sub(40);
        format!("--- last lines of {} ---\n{}", self.name, lines[from..].join("\n"))
    }

    fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("{} exited early ({status})\n{}", self.name, self.log_tail());
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        // The group id is the child's pid (process_group(0)): this ends exactly what we started.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for_port(port: u16, within: Duration, guard: &mut Guard) {
    let end = Instant::now() + within;
    while Instant::now() < end {
        guard.assert_running();
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "{} did not listen on {port} within {within:?}\n{}",
        guard.name,
        guard.log_tail()
    );
}

/// An OpenAI-compatible upstream that streams its answer slowly (chunks `GAP` apart), so
/// the test can see whether nginx passes chunks on as they come or holds them back.
const SLOW_CHUNKS: [&str; 3] = ["slow-", "stream-", "ok"];
const GAP: Duration = Duration::from_millis(300);

async fn serve_slow_upstream(listener: tokio::net::TcpListener) {
    loop {
        let Ok((mut sock, _)) = listener.accept().await else {
            return;
        };
        tokio::spawn(async move {
            // Read the request: headers, then Content-Length bytes of body.
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            let header_end = loop {
                if let Some(i) = req.windows(4).position(|w| w == b"\r\n\r\n") {
                    break i + 4;
                }
                match sock.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            };
            let head = String::from_utf8_lossy(&req[..header_end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while req.len() < header_end + len {
                match sock.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
            if sock.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let chunk = |content: Option<&str>| {
                let (delta, finish) = match content {
                    Some(c) => (format!(r#"{{"role":"assistant","content":"{c}"}}"#), "null".to_string()),
                    None => ("{}".to_string(), r#""stop""#.to_string()),
                };
                let data = format!(
                    r#"data: {{"id":"chatcmpl-slow","object":"chat.completion.chunk","created":1700000000,"model":"slow-stream","choices":[{{"index":0,"delta":{delta},"finish_reason":{finish}}}]}}"#
                );
                format!("{data}\n\n")
            };
            let mut events: Vec<String> = SLOW_CHUNKS.iter().map(|c| chunk(Some(c))).collect();
            events.push(chunk(None));
            events.push("data: [DONE]\n\n".to_string());
            for (i, e) in events.iter().enumerate() {
                if i > 0 && i < SLOW_CHUNKS.len() {
                    tokio::time::sleep(GAP).await;
                }
                let framed = format!("{:x}\r\n{e}\r\n", e.len());
                if sock.write_all(framed.as_bytes()).await.is_err() {
                    return;
                }
                let _ = sock.flush().await;
            }
            let _ = sock.write_all(b"0\r\n\r\n").await;
            let _ = sock.shutdown().await;
        });
    }
}

fn state_keys(rec: &Recorder, path: &str) -> Vec<&'static str> {
    let mut keys: Vec<&'static str> = Vec::new();
    for e in rec.events() {
        let Event::StepProgress { msg, .. } = e else { continue };
        for (_, a) in &msg.args {
            let Arg::Msg(state) = a else { continue };
            let key = if state.key == "health.paths.both" {
                state
                    .args
                    .iter()
                    .find_map(|(n, a)| match a {
                        Arg::Msg(m) if *n == path => Some(m.key),
                        _ => None,
                    })
                    .unwrap_or("")
            } else {
                state.key
            };
            if keys.last() != Some(&key) {
                keys.push(key);
            }
        }
    }
    keys
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_generated_stack_works_with_the_real_proxy_nginx_prometheus_and_redis() {
    let litellm_bin = ci_env("LST_LITELLM_BIN");
    let litellm_version = ci_env("LST_LITELLM_VERSION");
    let nginx_bin = ci_env("LST_NGINX_BIN");
    let prometheus_bin = ci_env("LST_PROMETHEUS_BIN");
    let redis_bin = ci_env("LST_REDIS_SERVER_BIN");
    // The official image has prisma; without it the PyPI proxy answers 500 instead of 401
    // to a request without a key (its error handler imports prisma).
    let python = Path::new(&litellm_bin).with_file_name("python");
    let has_prisma = Command::new(&python)
        .args(["-c", "import prisma"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        has_prisma,
        "{} cannot import prisma: run `bash ci/setup.sh` again (it installs prisma into the venv)",
        python.display()
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    let work = tmp.path();
    let (proxy_port, redis_port, nginx_port, prom_port) = (free_port(), free_port(), free_port(), free_port());

    // A slow upstream model, to see streaming chunk by chunk through nginx.
    let slow_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind slow upstream");
    let slow_port = slow_listener.local_addr().expect("addr").port();
    let slow_server = tokio::spawn(serve_slow_upstream(slow_listener));

    // The install as the project renders it: the defaults plus the slow model.
    let mut answers = Answers::defaults_for(Os::Linux);
    answers.dir = work.join("litellm");
    // The port plan of this host, so `litellm-stack verify --dir` finds the services.
    answers.ports.nginx = u32::from(nginx_port);
    answers.ports.litellm = Some(u32::from(proxy_port));
    answers.ports.prometheus = Some(u32::from(prom_port));
    answers.models.push(Model {
        name: Some("slow-stream".into()),
        model: Some("openai/slow-stream".into()),
        api_key_env: Some("SLOW_UPSTREAM_KEY".into()),
        api_base: Some(format!("http://127.0.0.1:{slow_port}/v1")),
        api_version: None,
    });
    let provider_keys = |k: &str| match k {
        "OPENAI_API_KEY" => Some("sk-not-used-by-this-test".to_string()),
        "SLOW_UPSTREAM_KEY" => Some("sk-slow-upstream".to_string()),
        _ => None,
    };
    let ws = Workspace::prepare(answers.clone(), Os::Linux, &provider_keys).expect("answers are valid");
    ws.write("20260101T000000Z").expect("files written");
    let master_key: Secret = ws.dotenv.get("LITELLM_MASTER_KEY").expect("master key").clone();
    let redis_password = ws.dotenv.get("REDIS_PASSWORD").expect("redis password").clone();

    // config.yaml exactly as generated, minus the database URL (prisma cannot run here).
    let generated = std::fs::read_to_string(ws.dir().join("config.yaml")).expect("config.yaml");
    let mut config: serde_norway::Value = serde_norway::from_str(&generated).expect("config.yaml parses");
    let removed = config
        .get_mut("general_settings")
        .and_then(|g| g.as_mapping_mut())
        .and_then(|g| g.remove("database_url"));
    assert!(
        removed.is_some(),
        "the generated config.yaml sets general_settings.database_url"
    );
    let config_path = work.join("config.test.yaml");
    write(&config_path, &serde_norway::to_string(&config).expect("yaml"));

    // redis-server with the generated password (from a file, not the command line).
    let redis_conf = work.join("redis.conf");
    write(
        &redis_conf,
        &format!(
            "bind 127.0.0.1\nport {redis_port}\nrequirepass {}\nsave \"\"\nappendonly no\ndir {}\n",
            redis_password.expose(),
            work.display()
        ),
    );
    let mut redis_cmd = Command::new(&redis_bin);
    redis_cmd.arg(&redis_conf);
    let mut redis = Guard::spawn("redis-server", redis_cmd, work.join("redis.log"));
    wait_for_port(redis_port, Duration::from_secs(10), &mut redis);

    // nginx with the generated nginx.conf: upstream and listen port rewritten to this host.
    let nginx_conf = render_nginx_conf(&format!("127.0.0.1:{proxy_port}"));
    assert!(nginx_conf.contains("listen 80;"), "{nginx_conf}");
    let nginx_conf = nginx_conf.replace("listen 80;", &format!("listen 127.0.0.1:{nginx_port};"));
    let nginx_dir = work.join("nginx");
    std::fs::create_dir_all(nginx_dir.join("logs")).expect("nginx dir");
    write(&nginx_dir.join("nginx.conf"), &nginx_conf);
    let nginx = start_nginx(&nginx_bin, &nginx_dir, nginx_port);

    // Prometheus with the generated prometheus.yml: target and key file rewritten to this
    // host, and a 2 s scrape interval instead of 15 s so "up within two scrape intervals" is
    // a short wait.
    // The stack's Prometheus gets a metrics-only virtual key, which needs the database this
    // host proxy runs without (database_e2e and doctor_e2e check that one): the master key here.
    let key_file = work.join("litellm_metrics_key");
    assert!(
        ws.files
            .iter()
            .all(|f| f.path != litellm_stack::stack::METRICS_KEY_FILE),
        "the metrics key is never rendered"
    );
    write(&key_file, master_key.expose());
    let prom_yml = render_prometheus_yml(&format!("127.0.0.1:{proxy_port}"), &key_file.display().to_string());
    assert!(prom_yml.contains("scrape_interval: 15s"), "{prom_yml}");
    let prom_yml = prom_yml
        .replace("scrape_interval: 15s", "scrape_interval: 2s")
        .replace("localhost:9090", &format!("127.0.0.1:{prom_port}"));
    let prom_dir = work.join("prometheus");
    std::fs::create_dir_all(&prom_dir).expect("prometheus dir");
    write(&prom_dir.join("prometheus.yml"), &prom_yml);
    let mut prom_cmd = Command::new(&prometheus_bin);
    prom_cmd
        .arg(format!("--config.file={}", prom_dir.join("prometheus.yml").display()))
        .arg(format!("--storage.tsdb.path={}", prom_dir.join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"));
    let mut prometheus = Guard::spawn("prometheus", prom_cmd, work.join("prometheus.log"));

    // The proxy, with the .env values it would get in its container, Redis on this host.
    let mut proxy_cmd = Command::new(&litellm_bin);
    proxy_cmd
        .args(["--config"])
        .arg(&config_path)
        .args(["--host", "127.0.0.1", "--port", &proxy_port.to_string()])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", work)
        .env("LITELLM_LOCAL_MODEL_COST_MAP", "True");
    for (k, v) in ws.dotenv.entries.iter().chain(&ws.dotenv.extra) {
        if !matches!(k.as_str(), "DATABASE_URL" | "REDIS_HOST" | "REDIS_PORT") {
            proxy_cmd.env(k, v.expose());
        }
    }
    proxy_cmd
        .env("REDIS_HOST", "127.0.0.1")
        .env("REDIS_PORT", redis_port.to_string());
    let mut proxy = Guard::spawn("litellm", proxy_cmd, work.join("litellm.log"));

    // Phase 1: readiness through nginx, and directly. nginx is up before the proxy, so the
    // poller sees the real 502 first, while the proxy's own port still refuses.
    let full = Endpoints {
        nginx: Some(format!("http://127.0.0.1:{nginx_port}")),
        proxy: Some(format!("http://127.0.0.1:{proxy_port}")),
        prometheus: Some(format!("http://127.0.0.1:{prom_port}")),
    };
    let rec = Recorder::default();
    let opts = ReadinessOptions {
        deadline: Duration::from_secs(180),
        database_configured: false,
    };
    let ready = health::wait_until_ready(&full, &opts, &rec).await;
    let ready_at = Instant::now();
    proxy.assert_running();
    let ready = ready.unwrap_or_else(|e| {
        panic!(
            "{}\n{}\n{}",
            Error::from(e).render(Lang::En),
            proxy.log_tail(),
            nginx.log_tail()
        )
    });
    assert!(ready.warnings.is_empty(), "{:?}", ready.warnings);
    // 1.108.7 leaves the version out of the public readiness body; the API test reads it
    // from /health/readiness/details with the key (below).
    let through_nginx = state_keys(&rec, "nginx");
    let direct = state_keys(&rec, "proxy");
    assert_eq!(
        through_nginx.first(),
        Some(&"health.state.gateway"),
        "{through_nginx:?}"
    );
    assert_eq!(through_nginx.last(), Some(&"health.state.ready"), "{through_nginx:?}");
    assert_eq!(direct.first(), Some(&"health.state.refused"), "{direct:?}");
    assert_eq!(direct.last(), Some(&"health.state.ready"), "{direct:?}");
    println!("readiness: {:?} after {} attempts", ready.elapsed, ready.attempts);

    // Phase 2: the proxy directly: readiness body, models, smoke test, key enforced.
    let client = reqwest::Client::builder().no_proxy().build().expect("client");
    let proxy_url = full.proxy.clone().expect("proxy url");
    let body = client
        .get(format!("{proxy_url}/health/readiness"))
        .send()
        .await
        .expect("readiness")
        .text()
        .await
        .expect("body");
    let body: serde_json::Value = serde_json::from_str(&body).expect("readiness body is JSON");
    assert_eq!(body["status"], "healthy", "{body}");
    assert_eq!(body["db"], "Not connected", "no database in this test: {body}");
    let direct_only = Endpoints {
        nginx: None,
        proxy: Some(proxy_url.clone()),
        prometheus: None,
    };
    let expected = answers.model_names();
    let api = health::api_test(&direct_only, &master_key, &expected, NO_DATABASE, &Recorder::default())
        .await
        .unwrap_or_else(|e| panic!("{}\n{}", Error::from(e).render(Lang::En), proxy.log_tail()));
    let mut listed = api.models.clone();
    listed.sort();
    let mut want = expected.clone();
    want.sort();
    assert_eq!(listed, want);
    assert_eq!(api.smoke_answer.as_deref(), Some("pong"));
    assert!(api.streamed_chunks >= 1);
    assert_eq!(api.proxy_version.as_deref(), Some(litellm_version.as_str()));
    assert_eq!(
        api.cache.as_deref(),
        Some("redis"),
        "the Redis cache of config.yaml is in use"
    );

    // /metrics/: 200 with the credential Prometheus has here, 401 without.
    let metrics = format!("{proxy_url}/metrics/");
    let with_key = client
        .get(&metrics)
        .bearer_auth(master_key.expose())
        .send()
        .await
        .expect("metrics");
    assert_eq!(with_key.status().as_u16(), 200);
    assert!(with_key.text().await.expect("metrics body").contains("# TYPE"));
    let without = client.get(&metrics).send().await.expect("metrics").status().as_u16();
    assert_eq!(without, 401);

    // Phase 3: everything through nginx, and Prometheus's view of the proxy.
    wait_for_port(prom_port, Duration::from_secs(30), &mut prometheus);
    let scrape_interval = Duration::from_secs(2);
    let rec = Recorder::default();
    let api = health::api_test(&full, &master_key, &expected, NO_DATABASE, &rec)
        .await
        .unwrap_or_else(|e| panic!("{}\n{}", Error::from(e).render(Lang::En), prometheus.log_tail()));
    // Counted from the proxy turning ready: before that, every scrape failed.
    let took = ready_at.elapsed();
    println!("prometheus: target up {took:?} after the proxy turned ready");
    assert_eq!(api.prometheus_target_up, Some(true));
    assert_eq!(api.metrics_protected, Some(true));
    assert!(api.warnings.is_empty(), "{:?}", api.warnings);
    assert!(
        took <= scrape_interval * 2 + Duration::from_secs(1),
        "the target was up only after {took:?}"
    );
    for e in rec.events() {
        if let Event::StepProgress { msg, .. } = e {
            println!("api: {}", msg.text(Lang::En));
        }
    }

    // The command a user runs: `litellm-stack verify` on the install dir, JSON lines out.
    // Every generated stack has its database, so verify judges this proxy, which runs without
    // one, as the database problem it is (exit 1, readiness failed, the diagnosis in both
    // streams), without printing the key. The passing verify is in tests/database_e2e.rs.
    let dir = ws.dir().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        common::bin()
            .args(["verify", "--json", "--timeout", "3s", "--dir"])
            .arg(&dir)
            .output()
            .expect("verify runs")
    })
    .await
    .expect("verify task");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(!stdout.contains(master_key.expose()) && !stderr.contains(master_key.expose()));
    let failed: serde_json::Value = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["event"] == "step_failed")
        .unwrap_or_else(|| panic!("no step_failed event in\n{stdout}"));
    assert_eq!(failed["step"], "readiness", "{failed}");
    assert!(
        failed.to_string().contains("database is not connected (HTTP 200)"),
        "{failed}"
    );
    assert!(stdout.contains(r#""event":"hand_checks""#), "{stdout}");

    // Phase 4: streaming through nginx arrives chunk by chunk: the first chunk well before
    // the end of the response.
    let nginx_url = full.nginx.clone().expect("nginx url");
    let stream = health::stream_chat(&nginx_url, &master_key, "slow-stream")
        .await
        .unwrap_or_else(|e| panic!("{}\n{}", Error::from(e).render(Lang::En), proxy.log_tail()));
    assert_eq!(stream.content, SLOW_CHUNKS.concat());
    assert!(stream.saw_done);
    println!(
        "stream through nginx: chunks at {:?}, end at {:?}",
        stream.chunk_arrivals, stream.ended_at
    );
    let first = stream.chunk_arrivals.first().copied().expect("a chunk");
    let last = stream.chunk_arrivals.last().copied().expect("a chunk");
    assert!(
        last - first >= GAP,
        "chunks arrived together: {:?}",
        stream.chunk_arrivals
    );
    assert!(stream.chunks_before_end(GAP) >= 1, "{stream:?}");

    // What `proxy_buffering off` is for, measured on the raw bytes as a client that accepts
    // gzip (the OpenAI SDK does) receives them. Seen with nginx 1.22: buffering alone does not
    // hold SSE back, but with gzip on, a buffering nginx delivers the whole stream at its end
    // while the generated setting still streams. The second case also shows the measurement
    // can fail.
    let gzip = "http {\n    gzip on;\n    gzip_types text/event-stream;\n    gzip_min_length 0;\n    gzip_proxied any;";
    let with_gzip = |port: u16, buffering: bool| {
        let conf = render_nginx_conf(&format!("127.0.0.1:{proxy_port}"))
            .replace("listen 80;", &format!("listen 127.0.0.1:{port};"))
            .replacen("http {", gzip, 1);
        if buffering {
            conf.replace(
                "proxy_buffering off;",
                "proxy_buffering on;\n            proxy_ignore_headers X-Accel-Buffering;",
            )
        } else {
            conf
        }
    };
    let mut variants = Vec::new();
    for (name, buffering) in [("generated + gzip", false), ("buffering + gzip", true)] {
        let port = free_port();
        let dir = work.join(format!("nginx-{}", if buffering { "buffering" } else { "gzip" }));
        std::fs::create_dir_all(dir.join("logs")).expect("dir");
        write(&dir.join("nginx.conf"), &with_gzip(port, buffering));
        let guard = start_nginx(&nginx_bin, &dir, port);
        let (pieces, ended) = raw_stream_arrivals(&client, port, &master_key).await;
        println!("raw stream through nginx ({name}): pieces at {pieces:?}, end at {ended:?}");
        assert!(ended >= GAP * 2, "{name}: answered from the cache, not the upstream");
        variants.push((name, pieces, ended, guard));
    }
    let (_, pieces, ended, _) = &variants[0];
    assert!(
        pieces[0] + GAP <= *ended,
        "the generated setting held the stream back: {pieces:?} {ended:?}"
    );
    let (_, pieces, ended, _) = &variants[1];
    assert!(
        pieces[0] + GAP > *ended,
        "a buffering nginx went unnoticed: {pieces:?} {ended:?}"
    );
    drop(variants);

    slow_server.abort();
    drop((nginx, proxy, prometheus, redis));
}

/// A streamed completion of the slow model through nginx on `port`, read as raw bytes by a
/// client that accepts gzip: when each piece of the body arrived, and when it ended.
async fn raw_stream_arrivals(client: &reqwest::Client, port: u16, key: &Secret) -> (Vec<Duration>, Duration) {
    use futures_util::StreamExt;
    let sent = Instant::now();
    let resp = client
        .post(format!("http://127.0.0.1:{port}/v1/chat/completions"))
        .bearer_auth(key.expose())
        .header("Accept-Encoding", "gzip")
        .json(&serde_json::json!({
            "model": "slow-stream",
            "messages": [{"role": "user", "content": "ping"}],
            "stream": true,
            "cache": {"no-cache": true, "no-store": true},
        }))
        .send()
        .await
        .expect("stream request");
    assert_eq!(resp.status().as_u16(), 200);
    let mut arrivals = Vec::new();
    let mut body = resp.bytes_stream();
    while let Some(piece) = body.next().await {
        if !piece.expect("body").is_empty() {
            arrivals.push(sent.elapsed());
        }
    }
    assert!(!arrivals.is_empty(), "empty body");
    (arrivals, sent.elapsed())
}

fn start_nginx(nginx_bin: &str, dir: &Path, port: u16) -> Guard {
    let mut cmd = Command::new(nginx_bin);
    cmd.arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .arg("-g")
        .arg(format!("daemon off; pid {};", dir.join("nginx.pid").display()));
    let mut guard = Guard::spawn("nginx", cmd, dir.join("nginx.log"));
    wait_for_port(port, Duration::from_secs(10), &mut guard);
    guard
}
