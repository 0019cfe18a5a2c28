//! The loop that ties state, screen and the outside world together: messages in, `update`,
//! commands out, draw. Generic over the ratatui backend, so tests run the whole wizard on
//! `TestBackend`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use crate::answers::{Answers, SAVED_ANSWERS};
use crate::error::{Error, Result};
use crate::i18n::{Lang, Msg as Text};
use crate::platform::Os;
use crate::render::join_rel;
use crate::render::write::{ChangeKind, mask, write_atomic};
use crate::secrets::{ExistingEnv, Secret};
use crate::steps::runner::{InstallOptions, run_install};
use crate::steps::{Event, EventSink, StepId};
use crate::workspace::{Workspace, stamp_now};

use super::app::{App, DirInfo, InstallReport, Provider, ReviewData, ReviewFile};
use super::update::{Cmd, Msg, update};
use super::view::view;

/// Carries out the commands `update` returns; results come back as messages.
pub trait Effects {
    fn run(&mut self, cmd: Cmd);
}

/// Messages of the install's feed handled before the user's input is looked at again.
const MAX_BATCH: usize = 256;
/// Under a stream of install events the screen is redrawn at most this often; a key is drawn
/// at once.
const FRAME: Duration = Duration::from_millis(16);

fn draw_error(e: impl std::fmt::Display) -> Error {
    Error::environment(Text::new("wizard.error.terminal"))
        .detail(e)
        .hint(Text::new("wizard.hint.terminal"))
}

/// Where messages come from: the user's input (keys, resizes, ticks, and the answers of
/// commands), and the install's feed (its events, its log file, its end), kept apart so a
/// flood of install events never queues a key behind it. Each keeps its own order.
pub struct Inbox {
    pub input: UnboundedReceiver<Msg>,
    pub feed: UnboundedReceiver<Msg>,
}

impl Inbox {
    /// The inbox and the senders of its two queues: (input, feed).
    pub fn new() -> (Inbox, UnboundedSender<Msg>, UnboundedSender<Msg>) {
        let (input_tx, input) = tokio::sync::mpsc::unbounded_channel();
        let (feed_tx, feed) = tokio::sync::mpsc::unbounded_channel();
        (Inbox { input, feed }, input_tx, feed_tx)
    }
}

fn handle(app: &mut App, effects: &mut dyn Effects, msg: Msg) {
    for cmd in update(app, msg) {
        effects.run(cmd);
    }
}

/// Runs the wizard until it ends (quit, or the user leaves the done or failure screen).
pub async fn run_app<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    inbox: &mut Inbox,
    effects: &mut dyn Effects,
) -> Result<()> {
    terminal.draw(|f| view(app, f)).map_err(draw_error)?;
    let mut last_draw = Instant::now();
    // Feed messages handled since the last frame.
    let mut pending_frame = false;
    let mut feed_open = true;
    while app.ending.is_none() {
        let next_frame = tokio::time::Instant::from_std(last_draw + FRAME);
        tokio::select! {
            biased;
            m = inbox.input.recv() => {
                let Some(m) = m else { break };
                handle(app, effects, m);
                while app.ending.is_none() {
                    match inbox.input.try_recv() {
                        Ok(m) => handle(app, effects, m),
                        Err(_) => break,
                    }
                }
                pending_frame = true;
                // Input is drawn at once: that is what the user waits for.
                last_draw = Instant::now() - FRAME;
            }
            m = inbox.feed.recv(), if feed_open => {
                match m {
                    Some(m) => {
                        handle(app, effects, m);
                        for _ in 1..MAX_BATCH {
                            match inbox.feed.try_recv() {
                                Ok(m) => handle(app, effects, m),
                                Err(_) => break,
                            }
                        }
                        pending_frame = true;
                    }
                    None => feed_open = false,
                }
            }
            _ = tokio::time::sleep_until(next_frame), if pending_frame => {}
        }
        if app.ending.is_none() && pending_frame && last_draw.elapsed() >= FRAME {
            terminal.draw(|f| view(app, f)).map_err(draw_error)?;
            last_draw = Instant::now();
            pending_frame = false;
        }
    }
    Ok(())
}

/// Forwards the install's events into the wizard's inbox, and into the log file.
pub struct ToApp(pub UnboundedSender<Msg>);

impl EventSink for ToApp {
    fn emit(&self, event: Event) {
        crate::logging::log_event(&event);
        let _ = self.0.send(Msg::Install(event));
    }
}

/// A read-only look at an install directory.
pub fn inspect_dir(dir: &Path) -> DirInfo {
    let has = |rel: &str| join_rel(dir, rel).exists();
    let existing_install = has(".env") || has(SAVED_ANSWERS) || has("docker-compose.yml");
    let (saved_answers, saved_answers_error) = if has(SAVED_ANSWERS) {
        match Answers::load(&join_rel(dir, SAVED_ANSWERS)) {
            Ok(a) => (Some(a), None),
            Err(e) => (None, Some(e)),
        }
    } else {
        (None, None)
    };
    let env_keys = ExistingEnv::read(&join_rel(dir, ".env"))
        .map(|env| {
            env.entries
                .iter()
                .filter(|(k, v)| !v.is_empty() && Provider::ALL.iter().any(|p| p.key_var() == k))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default();
    DirInfo {
        dir: dir.to_path_buf(),
        existing_install,
        saved_answers,
        saved_answers_error,
        env_keys,
    }
}

/// What the review shows of a prepared workspace: each file's fate and its masked text.
pub fn review_data(ws: &Workspace) -> Result<ReviewData> {
    let changes = ws.plan()?;
    let secrets = ws.dotenv.secret_values();
    let files = ws
        .files
        .iter()
        .zip(&changes)
        .map(|(f, c)| ReviewFile {
            path: f.path.clone(),
            kind: c.kind,
            shown: match (c.kind, &c.diff) {
                (ChangeKind::Update, Some(diff)) => diff.clone(),
                _ if f.path == ".env" => show_empty_values(&f.contents, &mask(&f.contents, true, &secrets)),
                _ => mask(&f.contents, f.private, &secrets),
            },
        })
        .collect();
    let missing_keys = ws
        .answers
        .provider_key_vars()
        .into_iter()
        .filter(|v| ws.dotenv.get(v).is_none_or(Secret::is_empty))
        .collect();
    Ok(ReviewData {
        dir: ws.dir().to_path_buf(),
        data: ws.answers.data,
        files,
        missing_keys,
    })
}

/// A masked `.env` shows every secret as `********`, even one still empty; an empty value is
/// shown empty, so the user sees which key is left to fill in.
fn show_empty_values(original: &str, masked: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    for (orig, shown) in original.lines().zip(masked.lines()) {
        let empty = orig
            .split_once('=')
            .is_some_and(|(k, v)| !orig.starts_with('#') && !k.is_empty() && v.is_empty());
        out.push(if empty { orig.to_string() } else { shown.to_string() });
    }
    let mut text = out.join("\n");
    if original.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// The done screen's facts, from what was installed.
pub fn install_report(ws: &Workspace, log_path: Option<PathBuf>, up_to_date: bool) -> InstallReport {
    let a = &ws.answers;
    let endpoints = crate::health::Endpoints::from_answers(a);
    InstallReport {
        dir: ws.dir().to_path_buf(),
        os: ws.os,
        gateway_url: endpoints.client_base().unwrap_or_default().to_string(),
        hand_checks: crate::howto::hand_checks(&endpoints, ws.os.shell(), ws.dir(), a.smoke_test_model),
        reachable_from_network: a.services.nginx && a.bind.nginx != "127.0.0.1",
        master_key: ws.dotenv.get("LITELLM_MASTER_KEY").cloned().unwrap_or_default(),
        log_path,
        up_to_date,
    }
}

/// Where "save answers" writes: the current directory, so the file is easy to find and copy.
pub const SAVED_ANSWERS_COPY: &str = "litellm-stack-answers.yaml";

/// Looks a variable up in the environment of the run (tests inject their own).
pub type ProcessEnv = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The effects of a real run: the machine's checks, the install dir, the install.
pub struct SystemEffects {
    tx: UnboundedSender<Msg>,
    /// The install's events and end go here (see `Inbox`).
    feed: UnboundedSender<Msg>,
    os: Os,
    /// Provider keys from the environment of the run, as `render` reads them.
    process_env: ProcessEnv,
    /// Where "save answers" writes.
    save_dir: PathBuf,
    /// The workspace the review showed: the install writes exactly this.
    prepared: Option<Workspace>,
    install: InstallSettings,
}

/// What the install takes from the command line (`--timeout`, `--images`).
#[derive(Debug, Clone)]
pub struct InstallSettings {
    pub readiness_deadline: std::time::Duration,
    pub images_file: Option<PathBuf>,
}

impl Default for InstallSettings {
    fn default() -> Self {
        let d = InstallOptions::default();
        InstallSettings {
            readiness_deadline: d.readiness_deadline,
            images_file: d.images_file,
        }
    }
}

impl SystemEffects {
    pub fn new(tx: UnboundedSender<Msg>, feed: UnboundedSender<Msg>, os: Os) -> SystemEffects {
        SystemEffects {
            tx,
            feed,
            os,
            process_env: Arc::new(|k| std::env::var(k).ok()),
            save_dir: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            prepared: None,
            install: InstallSettings::default(),
        }
    }

    pub fn with_install_settings(mut self, install: InstallSettings) -> SystemEffects {
        self.install = install;
        self
    }

    /// For tests: the environment provider keys are read from, and where answers are saved.
    pub fn with_env(mut self, process_env: ProcessEnv, save_dir: PathBuf) -> SystemEffects {
        self.process_env = process_env;
        self.save_dir = save_dir;
        self
    }

    fn send(&self, m: Msg) {
        let _ = self.tx.send(m);
    }

    fn prepare(&mut self, answers: Answers, keys: Vec<(String, Secret)>) -> Result<ReviewData> {
        let env = self.process_env.clone();
        // Keys typed in the wizard first, then the run's environment, as `render` does.
        let lookup = move |k: &str| {
            keys.iter()
                .find(|(var, _)| var == k)
                .map(|(_, v)| v.expose().to_string())
                .or_else(|| env(k))
        };
        let ws = Workspace::prepare(answers, self.os, &lookup)?;
        crate::logging::add_secrets(ws.dotenv.secret_values());
        let data = review_data(&ws)?;
        self.prepared = Some(ws);
        Ok(data)
    }

    fn start_install(&mut self) {
        let Some(ws) = self.prepared.take() else {
            return;
        };
        let tx = self.feed.clone();
        let settings = self.install.clone();
        crate::logging::init();
        on_engine_thread(self.feed.clone(), Msg::InstallFinished, move || async move {
            let stamp = stamp_now();
            let sink = ToApp(tx.clone());
            let log_path = match crate::logging::open_file(ws.dir(), &stamp) {
                Ok(p) => {
                    let _ = tx.send(Msg::LogOpened(p.clone()));
                    Some(p)
                }
                Err(e) => {
                    sink.emit(Event::Warning(
                        Text::new("wizard.warn.no_log_file").arg("error", e.render(Lang::En)),
                    ));
                    None
                }
            };
            tracing::info!("install into {} confirmed in the wizard", ws.dir().display());
            let opts = InstallOptions {
                readiness_deadline: settings.readiness_deadline,
                images_file: settings.images_file,
                backup_stamp: stamp,
            };
            let result = install(&ws, &opts, &sink)
                .await
                .map(|up_to_date| install_report(&ws, log_path, up_to_date));
            if let Err(e) = &result {
                tracing::error!("install failed: {}", e.render(Lang::En));
            }
            result
        });
    }
}

fn current_thread_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::environment(Text::new("wizard.error.runtime")).detail(e))
}

/// Runs engine work on a thread of its own, with its own runtime: the engine's futures are
/// not `Send`, and a slow engine never holds up the screen. The result comes back as a message.
fn on_engine_thread<T, W, F>(tx: UnboundedSender<Msg>, to_msg: fn(Result<T>) -> Msg, work: W)
where
    T: Send + 'static,
    W: FnOnce() -> F + Send + 'static,
    F: std::future::Future<Output = Result<T>>,
{
    std::thread::spawn(move || {
        let result = current_thread_runtime().and_then(|rt| rt.block_on(work()));
        let _ = tx.send(to_msg(result));
    });
}

/// Connects to the engine and runs the step plan. Returns whether everything was already up
/// to date.
async fn install(ws: &Workspace, opts: &InstallOptions, sink: &ToApp) -> Result<bool> {
    // Connecting is the first thing the preflight step waits on: show it as running (on the
    // screen only; the runner logs its own start).
    let _ = sink.0.send(Msg::Install(Event::StepStarted(StepId::Preflight)));
    let engine = match crate::engine::connect().await {
        Ok(engine) => engine,
        Err(error) => {
            let error = crate::error::Error::from(error);
            sink.emit(Event::StepFailed {
                step: StepId::Preflight,
                error: error.clone(),
                logs: Vec::new(),
            });
            return Err(error);
        }
    };
    let report = run_install(ws, opts, &engine, sink).await?;
    Ok(report.up_to_date())
}

impl Effects for SystemEffects {
    fn run(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Preflight(answers) => {
                let tx = self.tx.clone();
                let os = self.os;
                std::thread::spawn(move || {
                    let checks = match current_thread_runtime() {
                        Ok(rt) => rt.block_on(super::preflight::run_checks(&answers, os)),
                        Err(e) => vec![super::preflight::Check {
                            name: Text::new("wizard.check.engine"),
                            status: super::preflight::CheckStatus::Fail,
                            summary: e.what.clone(),
                            fix: e.hint.clone(),
                        }],
                    };
                    let _ = tx.send(Msg::PreflightDone(checks));
                });
            }
            // Quick reads of a few small files: done in line, the result is the next message.
            Cmd::InspectDir(dir) => self.send(Msg::DirInspected(Box::new(inspect_dir(&dir)))),
            Cmd::PrepareReview { answers, keys } => {
                let result = self.prepare(answers, keys);
                self.send(Msg::ReviewReady(result));
            }
            Cmd::SaveAnswers(answers) => {
                let path = self.save_dir.join(SAVED_ANSWERS_COPY);
                let result = write_atomic(&path, answers.to_saved_yaml().as_bytes(), false).map(|()| path);
                self.send(Msg::AnswersSaved(result));
            }
            Cmd::StartInstall => self.start_install(),
            Cmd::Quit => {}
        }
    }
}
