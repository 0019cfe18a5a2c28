//! Bench for the readiness poller (run by `bench/readiness_latency.sh`):
//! 1. detection latency, from a scripted server turning ready to `wait_until_ready`
//!    returning, median and max over 20 runs each for the two ways a proxy turns ready:
//!    its port opening (refused → 200, what the real proxy does) and an answer changing
//!    (503 → 200, a database connecting);
//! 2. the poller's CPU time while it waits 10 s for a server that never turns ready, read
//!    from /proc for the thread that runs the poller (Linux only).

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use litellm_stack::health::{Endpoints, ReadinessOptions, wait_until_ready};
use litellm_stack::steps::Recorder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const RUNS: usize = 20;

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

/// Answers every request with the status in `status` (0: keep the connection unanswered).
async fn serve(listener: TcpListener, status: Arc<AtomicU16>) {
    loop {
        let Ok((mut sock, _)) = listener.accept().await else {
            return;
        };
        let status = status.clone();
        tokio::spawn(async move {
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match sock.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let code = status.load(Ordering::SeqCst);
            let body = if code == 200 {
                r#"{"status":"healthy","db":"connected"}"#
            } else {
                r#"{"status":"healthy","db":"disconnected"}"#
            };
            let resp = format!(
                "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(resp.as_bytes()).await;
        });
    }
}

fn endpoints(port: u16) -> Endpoints {
    Endpoints {
        nginx: None,
        proxy: Some(format!("http://127.0.0.1:{port}")),
        prometheus: None,
    }
}

/// When the server turns ready in run `i`: spread over 0.5–2.1 s, so the poller meets it at
/// every point of its backoff.
fn ready_after(i: usize) -> Duration {
    Duration::from_millis(500 + (i as u64 * 337) % 1600)
}

async fn run_port_opens(i: usize) -> Duration {
    let port = free_port();
    let poller = tokio::spawn(async move {
        let r = wait_until_ready(&endpoints(port), &ReadinessOptions::default(), &Recorder::default()).await;
        (r.is_ok(), Instant::now())
    });
    tokio::time::sleep(ready_after(i)).await;
    let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
    let turned_ready = Instant::now();
    let server = tokio::spawn(serve(listener, Arc::new(AtomicU16::new(200))));
    let (ok, seen) = poller.await.expect("poller");
    server.abort();
    assert!(ok, "run {i}: not ready");
    seen.duration_since(turned_ready)
}

async fn run_answer_changes(i: usize) -> Duration {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let status = Arc::new(AtomicU16::new(503));
    let server = tokio::spawn(serve(listener, status.clone()));
    let poller = tokio::spawn(async move {
        let opts = ReadinessOptions {
            deadline: Duration::from_secs(60),
            database_configured: true,
        };
        let r = wait_until_ready(&endpoints(port), &opts, &Recorder::default()).await;
        (r.is_ok(), Instant::now())
    });
    tokio::time::sleep(ready_after(i)).await;
    let turned_ready = Instant::now();
    status.store(200, Ordering::SeqCst);
    let (ok, seen) = poller.await.expect("poller");
    server.abort();
    assert!(ok, "run {i}: not ready");
    seen.duration_since(turned_ready)
}

fn summary(name: &str, mut v: Vec<Duration>) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let median = (ms(v[v.len() / 2 - 1]) + ms(v[v.len() / 2])) / 2.0;
    println!(
        "latency {name:<24} runs={} median={median:.1} ms max={:.1} ms min={:.1} ms",
        v.len(),
        ms(v[v.len() - 1]),
        ms(v[0])
    );
}

/// CPU time of the calling thread: nanoseconds on the CPU from /proc/thread-self/schedstat
/// (exact), else utime + stime from /proc/thread-self/stat (clock ticks, CLK_TCK per second).
fn thread_cpu() -> Option<Duration> {
    if let Ok(s) = std::fs::read_to_string("/proc/thread-self/schedstat") {
        if let Some(ns) = s.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()) {
            return Some(Duration::from_nanos(ns));
        }
    }
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // Fields after the command name (in parentheses, may hold spaces) start at field 3.
    let f: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    let per_s: u64 = std::env::var("CLK_TCK")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    Some(Duration::from_nanos(ticks * 1_000_000_000 / per_s))
}

/// CPU of the poller alone: a current-thread runtime on its own thread, waiting `wait` for
/// a server that answers `status` forever (0: nothing listens).
fn cpu_while_waiting(status: u16, wait: Duration) -> (Duration, f64, u32) {
    let port = if status == 0 {
        free_port()
    } else {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let port = std_listener.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = TcpListener::from_std(std_listener).expect("listener");
                serve(listener, Arc::new(AtomicU16::new(status))).await;
            });
        });
        port
    };
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let before = thread_cpu().expect("/proc/thread-self");
        let started = Instant::now();
        let opts = ReadinessOptions {
            deadline: wait,
            database_configured: true,
        };
        let rec = Recorder::default();
        let r = rt.block_on(wait_until_ready(&endpoints(port), &opts, &rec));
        let elapsed = started.elapsed();
        let after = thread_cpu().expect("/proc/thread-self");
        assert!(r.is_err(), "the server never turns ready");
        let cpu = after - before;
        (
            cpu,
            cpu.as_secs_f64() / elapsed.as_secs_f64() * 100.0,
            rec.events().len() as u32,
        )
    })
    .join()
    .expect("poller thread")
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut opens = Vec::new();
        let mut changes = Vec::new();
        for i in 0..RUNS {
            opens.push(run_port_opens(i).await);
            changes.push(run_answer_changes(i).await);
        }
        summary("refused -> 200 (port)", opens);
        summary("503 -> 200 (answer)", changes);
    });
    let wait = Duration::from_secs(10);
    for (name, status) in [("refused", 0u16), ("503", 503), ("502", 502)] {
        let (cpu, pct, events) = cpu_while_waiting(status, wait);
        println!(
            "cpu     waiting {wait:?} on {name:<8} poller thread {:.1} ms CPU = {pct:.3} % of one core ({events} progress events)",
            cpu.as_secs_f64() * 1000.0
        );
    }
}
