//! For `bench/tui_latency.sh`: the wizard's progress screen on this terminal, fed a steady
//! flood of synthetic pull-progress events and log lines from another thread, so the time a
//! key takes to show its effect under load can be measured from outside (tmux). Not part of
//! the product.
//!
//! Usage: tui_flood [EVENTS_PER_SECOND] (default 20000; 0: none). `?` opens the help, any key
//! closes it, Ctrl-C then `y` quits and prints how many events were sent.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use litellm_stack::answers::Answers;
use litellm_stack::i18n::Lang;
use litellm_stack::platform::Os;
use litellm_stack::steps::{Event, StepId};
use litellm_stack::tui::app::{App, Screen};
use litellm_stack::tui::terminal::{TerminalGuard, spawn_input_thread};
use litellm_stack::tui::{Cmd, Effects, Inbox, Msg, run_app, update};

struct NoEffects;

impl Effects for NoEffects {
    fn run(&mut self, _: Cmd) {}
}

/// Sends `rate` events a second (in bursts every millisecond) until the app is gone.
fn flood(feed: tokio::sync::mpsc::UnboundedSender<Msg>, rate: u64, sent: Arc<AtomicU64>, stop: Arc<AtomicBool>) {
    if rate == 0 {
        return;
    }
    let images = [
        "postgres:16.8",
        "redis:7.4.2",
        "docker.litellm.ai/berriai/litellm:v1.108.17",
        "nginx:1.27.4",
        "prom/prometheus:v3.2.1",
    ];
    let total: u64 = 1_500_000_000;
    let start = Instant::now();
    let mut n: u64 = 0;
    while !stop.load(Ordering::Relaxed) {
        let due = start.elapsed().as_micros() as u64 * rate / 1_000_000;
        while n < due {
            let event = if n % 10 == 9 {
                Event::Log {
                    service: "engine".into(),
                    line: format!("synthetic log line {n}"),
                }
            } else {
                Event::Pull {
                    image: images[(n % 5) as usize].into(),
                    layers_done: (n / 5 % 12) as u32,
                    layers_total: 12,
                    bytes_done: (n * 4096) % total,
                    bytes_total: total,
                    status: "Downloading".into(),
                }
            };
            if feed.send(Msg::Install(event)).is_err() {
                return;
            }
            n += 1;
        }
        sent.store(n, Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn main() -> std::process::ExitCode {
    let rate: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let Ok(rt) = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    else {
        eprintln!("no async runtime");
        return std::process::ExitCode::FAILURE;
    };
    let sent = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let result = rt.block_on(async {
        let mut app = App::new(Lang::En, Os::current(), Answers::default(), None);
        app.screen = Screen::Progress;
        app.install_started = true;
        update(&mut app, Msg::Install(Event::StepStarted(StepId::Images)));
        let (mut inbox, input, feed) = Inbox::new();
        let mut guard = TerminalGuard::enter()?;
        spawn_input_thread(input.clone(), stop.clone());
        let (sent2, stop2) = (sent.clone(), stop.clone());
        std::thread::spawn(move || flood(feed, rate, sent2, stop2));
        let r = run_app(&mut guard.terminal, &mut app, &mut inbox, &mut NoEffects).await;
        drop(guard);
        // Events sent but not yet handled when the user quit: the app's backlog.
        r.map(|()| inbox.feed.len())
    });
    stop.store(true, Ordering::Relaxed);
    let secs = started.elapsed().as_secs_f64();
    let n = sent.load(Ordering::Relaxed);
    rt.shutdown_background();
    match result {
        Ok(backlog) => {
            println!(
                "tui_flood: {n} events sent in {secs:.1} s ({:.0}/s, {rate}/s asked), {backlog} not yet handled at quit",
                n as f64 / secs
            );
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::ExitCode::FAILURE
        }
    }
}
