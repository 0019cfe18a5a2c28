//! The readiness poller against a scripted server on loopback whose answers the test
//! changes over time: each state is reported as such, readiness is seen within 250 ms of the
//! server turning ready, and a server that never turns ready makes the poller give up at
//! its deadline with the last state in the message (exit 1 from `verify`).

mod common;

use common::free_port;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use litellm_stack::error::{Error, Exit};
use litellm_stack::health::{Endpoints, ReadinessOptions, wait_until_ready};
use litellm_stack::i18n::{Arg, Lang, Msg};
use litellm_stack::steps::{Event, Recorder, StepId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the scripted server answers right now (status and body), and when each request came.
#[derive(Clone)]
struct Script(Arc<Mutex<(u16, String)>>, Arc<Mutex<Vec<Instant>>>);

impl Script {
    fn new(status: u16, body: &str) -> Script {
        Script(Arc::new(Mutex::new((status, body.to_string()))), Arc::default())
    }
    fn set(&self, status: u16, body: &str) {
        *self.0.lock().expect("script lock") = (status, body.to_string());
    }
    fn answer(&self) -> (u16, String) {
        self.1.lock().expect("script lock").push(Instant::now());
        self.0.lock().expect("script lock").clone()
    }
    fn requests_between(&self, from: Instant, to: Instant) -> Vec<Instant> {
        let all = self.1.lock().expect("script lock");
        all.iter().copied().filter(|t| *t >= from && *t <= to).collect()
    }
}

/// Starts answering every HTTP request on `port` as `script` says, one answer per connection.
async fn serve(port: u16, script: Script) -> tokio::task::JoinHandle<()> {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind the scripted server");
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let script = script.clone();
            tokio::spawn(async move {
                let mut req = Vec::new();
                let mut buf = [0u8; 1024];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let (status, body) = script.answer();
                let resp = format!(
                    "HTTP/1.1 {status} Scripted\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    })
}

fn url(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

/// The state keys of the reported attempts, in order, consecutive repeats merged. With both
/// paths checked, the nginx path's state.
fn reported_states(rec: &Recorder) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for e in rec.events() {
        let Event::StepProgress { step, msg } = e else { continue };
        assert_eq!(step, StepId::Readiness);
        assert_eq!(msg.key, "health.attempt");
        let state = nested(&msg, "state");
        let key = if state.key == "health.paths.both" {
            nested(&state, "nginx").key
        } else {
            state.key
        };
        if out.last() != Some(&key) {
            out.push(key);
        }
    }
    out
}

fn nested(m: &Msg, name: &str) -> Msg {
    m.args
        .iter()
        .find_map(|(n, a)| match a {
            Arg::Msg(inner) if *n == name => Some((**inner).clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{} has no nested {name}", m.key))
}

const READY_BODY: &str = r#"{"status":"healthy","db":"connected","cache":"redis","litellm_version":"1.108.7"}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_then_502_then_503_then_200_each_reported_and_ready_seen_within_250_ms() {
    let port = free_port();
    let ep = Endpoints {
        nginx: None,
        proxy: Some(url(port)),
        prometheus: None,
    };
    let rec = Arc::new(Recorder::default());
    let poller = {
        let rec = rec.clone();
        tokio::spawn(async move {
            let opts = ReadinessOptions {
                deadline: Duration::from_secs(30),
                database_configured: true,
            };
            let r = wait_until_ready(&ep, &opts, rec.as_ref()).await;
            (r, Instant::now())
        })
    };
    tokio::time::sleep(Duration::from_millis(700)).await;
    let script = Script::new(502, "<html>502 Bad Gateway</html>");
    let server = serve(port, script.clone()).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    script.set(503, r#"{"detail":"database not connected"}"#);
    let db_phase = Instant::now();
    // Long enough for a backoff without a cap for this state to grow past 250 ms.
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let turned_ready = Instant::now();
    script.set(200, READY_BODY);
    let (report, seen_at) = poller.await.expect("poller task");
    server.abort();
    let report = report.expect("ready");
    let latency = seen_at.duration_since(turned_ready);
    assert!(
        latency < Duration::from_millis(250),
        "ready seen {latency:?} after the server turned ready"
    );
    // Not luck: while the server answers but is not ready, it is asked at least every 250 ms.
    let asked = script.requests_between(db_phase, turned_ready);
    let widest = asked
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .expect("asked during the 503 phase");
    assert!(
        widest < Duration::from_millis(250),
        "a gap of {widest:?} between attempts"
    );
    assert_eq!(
        reported_states(&rec),
        [
            "health.state.refused",
            "health.state.gateway",
            "health.state.db_not_connected",
            "health.state.ready"
        ]
    );
    assert_eq!(report.proxy_version.as_deref(), Some("1.108.7"));
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    // Each state in words: the new member reads what is going on, not a status code alone.
    let texts: Vec<String> = rec
        .events()
        .iter()
        .filter_map(|e| match e {
            Event::StepProgress { msg, .. } => Some(msg.text(Lang::En)),
            _ => None,
        })
        .collect();
    let all = texts.join("\n");
    for phrase in [
        "connection refused",
        "cannot reach LiteLLM",
        "database is not connected",
        "ready",
    ] {
        assert!(all.contains(phrase), "no {phrase:?} in\n{all}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_that_opens_after_the_backoff_grew_is_still_seen_within_250_ms() {
    // The real proxy keeps its port closed until it is ready: refused, then straight 200.
    let port = free_port();
    let ep = Endpoints {
        nginx: None,
        proxy: Some(url(port)),
        prometheus: None,
    };
    let rec = Arc::new(Recorder::default());
    let poller = {
        let rec = rec.clone();
        tokio::spawn(async move {
            let r = wait_until_ready(&ep, &ReadinessOptions::default(), rec.as_ref()).await;
            (r, Instant::now())
        })
    };
    // Long enough for the backoff to reach its 2 s cap.
    tokio::time::sleep(Duration::from_millis(6500)).await;
    let turned_ready = Instant::now();
    let server = serve(port, Script::new(200, READY_BODY)).await;
    let (report, seen_at) = poller.await.expect("poller task");
    server.abort();
    let report = report.expect("ready");
    let latency = seen_at.duration_since(turned_ready);
    assert!(
        latency < Duration::from_millis(250),
        "ready seen {latency:?} after the port opened"
    );
    assert_eq!(reported_states(&rec), ["health.state.refused", "health.state.ready"]);
    // Backoff: far fewer HTTP attempts than one per 100 ms over 6.5 s.
    assert!(report.attempts < 20, "{} attempts", report.attempts);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_and_the_proxy_are_both_checked_and_told_apart() {
    let nginx_port = free_port();
    let proxy_port = free_port();
    let ep = Endpoints {
        nginx: Some(url(nginx_port)),
        proxy: Some(url(proxy_port)),
        prometheus: None,
    };
    let nginx = Script::new(502, "bad gateway");
    let nginx_server = serve(nginx_port, nginx.clone()).await;
    let rec = Arc::new(Recorder::default());
    let poller = {
        let rec = rec.clone();
        tokio::spawn(async move { wait_until_ready(&ep, &ReadinessOptions::default(), rec.as_ref()).await })
    };
    tokio::time::sleep(Duration::from_millis(800)).await;
    let proxy_server = serve(proxy_port, Script::new(200, READY_BODY)).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    nginx.set(200, READY_BODY);
    let report = poller.await.expect("poller task").expect("ready");
    nginx_server.abort();
    proxy_server.abort();
    assert_eq!(report.proxy_version.as_deref(), Some("1.108.7"));
    let first = rec
        .events()
        .into_iter()
        .find_map(|e| match e {
            Event::StepProgress { msg, .. } => Some(msg.text(Lang::En)),
            _ => None,
        })
        .expect("an attempt was reported");
    assert!(
        first.contains("through nginx") && first.contains("HTTP 502") && first.contains("connection refused"),
        "{first}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_that_never_turns_ready_is_given_up_at_the_deadline_with_its_last_state() {
    let port = free_port();
    let server = serve(port, Script::new(503, "{}")).await;
    let ep = Endpoints {
        nginx: None,
        proxy: Some(url(port)),
        prometheus: None,
    };
    let rec = Recorder::default();
    let deadline = Duration::from_millis(1500);
    let started = Instant::now();
    let opts = ReadinessOptions {
        deadline,
        database_configured: true,
    };
    let err = Error::from(wait_until_ready(&ep, &opts, &rec).await.expect_err("never ready"));
    let took = started.elapsed();
    server.abort();
    assert!(took >= deadline, "gave up early: {took:?}");
    assert!(took < deadline + Duration::from_millis(700), "gave up late: {took:?}");
    assert_eq!(err.exit, Exit::Failed);
    let text = err.render(Lang::En);
    assert!(text.contains("not ready after 1.5 s"), "{text}");
    assert!(text.contains("database is not connected (HTTP 503)"), "{text}");
    assert!(text.contains("logs postgres"), "the hint names what to look at: {text}");
    let zh = err.render(Lang::ZhTw);
    assert!(zh.contains("資料庫"), "{zh}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_failing_while_the_proxy_answers_points_at_the_upstream() {
    let nginx_port = free_port();
    let proxy_port = free_port();
    let nginx_server = serve(nginx_port, Script::new(502, "bad gateway")).await;
    let proxy_server = serve(proxy_port, Script::new(200, READY_BODY)).await;
    let ep = Endpoints {
        nginx: Some(url(nginx_port)),
        proxy: Some(url(proxy_port)),
        prometheus: None,
    };
    let opts = ReadinessOptions {
        deadline: Duration::from_millis(800),
        database_configured: true,
    };
    let err = Error::from(
        wait_until_ready(&ep, &opts, &Recorder::default())
            .await
            .expect_err("nginx never passes"),
    );
    nginx_server.abort();
    proxy_server.abort();
    let text = err.render(Lang::En);
    assert!(text.contains("litellm:4000"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_without_its_database_is_the_database_problem_when_the_stack_has_one() {
    let port = free_port();
    let server = serve(
        port,
        Script::new(
            200,
            r#"{"status":"healthy","db":"Not connected","litellm_version":"1.108.7"}"#,
        ),
    )
    .await;
    let ep = Endpoints {
        nginx: None,
        proxy: Some(url(port)),
        prometheus: None,
    };
    let with_db = ReadinessOptions {
        deadline: Duration::from_millis(1200),
        database_configured: true,
    };
    // Ready means 200 **and** the database connected: this is the database problem.
    let err = Error::from(
        wait_until_ready(&ep, &with_db, &Recorder::default())
            .await
            .expect_err("a 200 without its database is not ready"),
    );
    let text = err.render(Lang::En);
    assert!(text.contains("database is not connected (HTTP 200)"), "{text}");
    for cause in ["POSTGRES_PASSWORD", "pg_data/", "backups/files/.env", "migrations"] {
        assert!(text.contains(cause), "the diagnosis names {cause}: {text}");
    }
    // A stack without a database (not the SOP's) takes the 200 at its word.
    let without_db = ReadinessOptions {
        database_configured: false,
        ..with_db
    };
    let r = wait_until_ready(&ep, &without_db, &Recorder::default())
        .await
        .expect("ready");
    server.abort();
    assert!(r.warnings.is_empty());
}

#[test]
fn verify_against_a_dead_port_exits_1_with_the_last_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (nginx, proxy) = (free_port(), free_port());
    std::fs::write(
        dir.path().join("answers.yaml"),
        format!("ports: {{nginx: {nginx}, litellm: {proxy}}}\nservices: {{nginx: true, prometheus: false}}\n"),
    )
    .expect("answers");
    std::fs::write(
        dir.path().join(".env"),
        "LITELLM_MASTER_KEY=sk-verifytestkey0123456789abcdef0123456789\n",
    )
    .expect(".env");
    let out = common::bin()
        .args(["verify", "--timeout", "2s", "--dir"])
        .arg(dir.path())
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains("not ready after 2.0 s"), "{stderr}");
    assert!(
        stderr.contains("Last state") && stderr.contains("connection refused"),
        "{stderr}"
    );
    assert!(
        stdout.contains(&format!("curl -sS http://127.0.0.1:{nginx}/health/readiness")),
        "{stdout}"
    );
    assert!(!stdout.contains("sk-verifytestkey") && !stderr.contains("sk-verifytestkey"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_proxy_port_does_not_delay_readiness_through_nginx() {
    let nginx_port = free_port();
    let nginx_server = serve(nginx_port, Script::new(200, READY_BODY)).await;
    // Takes connections and never answers (a hung process, a port forwarded nowhere).
    let silent = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let silent_port = silent.local_addr().expect("addr").port();
    let silent_server = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = silent.accept().await {
            held.push(sock);
        }
    });
    let ep = Endpoints {
        nginx: Some(url(nginx_port)),
        proxy: Some(url(silent_port)),
        prometheus: None,
    };
    let started = Instant::now();
    let report = wait_until_ready(&ep, &ReadinessOptions::default(), &Recorder::default())
        .await
        .expect("ready through nginx");
    let took = started.elapsed();
    nginx_server.abort();
    silent_server.abort();
    assert!(took < Duration::from_millis(250), "ready reported after {took:?}");
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    let warning = report.warnings[0].text(Lang::En);
    assert!(
        warning.contains(&url(silent_port)) && warning.contains("no HTTP answer"),
        "{warning}"
    );
}
