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
use crate::platform::{Os, join_rel};
use crate::render::write::{ChangeKind, shown, write_atomic};
use crate::secrets::{ExistingEnv, Secret};
use crate::steps::install::InstallOptions;
use crate::steps::preflight::{self, Check, CheckStatus};
use crate::steps::{Event, EventSink, session};
use crate::workspace::{Workspace, stamp_now};

use super::app::{App, DirInfo, InstallReport, PlannedChange, Provider, ReviewData, ReviewFile};
use super::update::{BackupSaved, Cmd, Msg, update};
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
    Error::environment(msg!("wizard.error.terminal"))
        .detail(e)
        .hint(msg!("wizard.hint.terminal"))
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

/// Forwards the install's events into the wizard's inbox (the session logs them).
pub struct ToApp(pub UnboundedSender<Msg>);

impl EventSink for ToApp {
    fn emit(&self, event: Event) {
        let _ = self.0.send(match event {
            Event::LogOpened(path) => Msg::LogOpened(path),
            event => Msg::Install(event),
        });
    }
}

/// The directory screen's backup: every event of its run goes to the directory screen.
struct ToBackup(UnboundedSender<Msg>);

impl EventSink for ToBackup {
    fn emit(&self, event: Event) {
        let _ = self.0.send(Msg::Backup(event));
    }
}

/// `litellm-stack backup` for the install in `dir`, as the command runs it: its own answers,
/// its retention, the archive under its `backups/`.
async fn backup_install(dir: PathBuf, os: Os, sink: ToBackup) -> Result<BackupSaved> {
    let answers = crate::workspace::load_answers(None, Some(&dir), os)?;
    answers.validate(os)?;
    let source = crate::steps::backup::Source::of(&answers)?;
    tracing::info!("backup of {} started in the wizard", dir.display());
    let opts = crate::steps::backup::BackupOptions::default();
    let report = crate::steps::backup::backup(&source, &opts, &sink).await?;
    Ok(BackupSaved {
        path: report.path,
        size: report.size,
    })
}

fn upgrade_request(dir: &Path, litellm: &str, deadline: std::time::Duration) -> crate::steps::upgrade::UpgradeRequest {
    crate::steps::upgrade::UpgradeRequest {
        dir: Some(dir.to_path_buf()),
        answers: None,
        litellm: Some(litellm.to_string()),
        restore: None,
        readiness_deadline: deadline,
    }
}

/// The directory screen's upgrade, as `litellm-stack upgrade --litellm PINNED --yes` runs it
/// (an unfinished earlier upgrade settled first); its events to the progress screen.
async fn upgrade_install(
    dir: &Path,
    litellm: &str,
    os: Os,
    deadline: std::time::Duration,
    sink: &ToApp,
) -> Result<InstallReport> {
    use crate::steps::upgrade;
    let req = upgrade_request(dir, litellm, deadline);
    // The plan takes the dir's lock first: a run still going there is refused, not rolled back.
    let mut plan = upgrade::plan(&req, os)?;
    if let Some(j) = upgrade::journal::read(dir)? {
        let cause = Error::interrupted(msg!("upgrade.journal.cause"));
        match upgrade::roll_back_unfinished(dir, os, deadline, &j, cause, sink).await {
            Err(e) if e.what.key != "upgrade.error.rolled_back" => return Err(e),
            _ => {}
        }
        // The saved answers may name other images now; the lock is let go and taken again.
        drop(plan);
        plan = upgrade::plan(&req, os)?;
    }
    tracing::info!("upgrade of {} to {litellm} confirmed in the wizard", dir.display());
    let report = upgrade::run(&plan, sink).await?;
    Ok(install_report(&plan.new, report.log_path, false))
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
    let other_litellm = saved_answers.as_ref().and_then(|a| {
        let mut pinned = a.images.clone();
        pinned.litellm = crate::answers::Images::default().litellm;
        (a.images.litellm != pinned.litellm).then(|| (a.images.reference("litellm"), pinned.reference("litellm")))
    });
    DirInfo {
        dir: dir.to_path_buf(),
        existing_install,
        saved_answers,
        saved_answers_error,
        env_keys,
        other_litellm,
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
                _ => shown(f, &secrets),
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
        summary: review_summary(ws),
    })
}

/// What was chosen, above the files: the models, the ports with who may reach them, the
/// images (those otherwise seen only inside `docker-compose.yml`).
pub fn review_summary(ws: &Workspace) -> Vec<crate::i18n::Msg> {
    let a = &ws.answers;
    let models: Vec<String> = a.models.iter().filter_map(|m| m.name.clone()).collect();
    let models = if models.is_empty() {
        msg!("newcomer.review.no_models")
    } else {
        msg!("newcomer.review.models").arg("models", models.join(", "))
    };
    let ports: Vec<String> = a
        .published_ports()
        .iter()
        .map(|(field, addr, port)| format!("{} {addr}:{port}", field.trim_start_matches("ports.")))
        .collect();
    let exposure = if a.services.nginx && a.bind.nginx != "127.0.0.1" {
        msg!("newcomer.review.exposure_network")
    } else {
        msg!("newcomer.review.exposure_local")
    };
    let images: Vec<&str> = ws.stack.services.iter().map(|s| s.image.as_str()).collect();
    vec![
        models,
        msg!("newcomer.review.ports")
            .arg("ports", ports.join(", "))
            .nested("exposure", exposure),
        images_line(&images),
    ]
}

/// The images in one line: a registry all of them come from (a lab's mirror) said once.
fn images_line(images: &[&str]) -> crate::i18n::Msg {
    let first = images.first().copied().unwrap_or_default();
    let mut prefix = first.rfind('/').map_or("", |i| &first[..=i]);
    while !prefix.is_empty() && !images.iter().all(|i| i.starts_with(prefix)) {
        prefix = prefix[..prefix.len() - 1].rfind('/').map_or("", |i| &prefix[..=i]);
    }
    let names: Vec<&str> = images.iter().map(|i| &i[prefix.len()..]).collect();
    if prefix.is_empty() {
        msg!("newcomer.review.images").arg("images", names.join(", "))
    } else {
        msg!("newcomer.review.images_from")
            .arg("registry", prefix.trim_end_matches('/'))
            .arg("images", names.join(", "))
    }
}

/// The done screen's facts, from what was installed.
pub fn install_report(ws: &Workspace, log_path: Option<PathBuf>, up_to_date: bool) -> InstallReport {
    let facts = session::done_facts(ws);
    let missing_keys = ws
        .answers
        .provider_key_vars()
        .into_iter()
        .filter(|v| ws.dotenv.get(v).is_none_or(Secret::is_empty))
        .collect();
    InstallReport {
        dir: ws.dir().to_path_buf(),
        os: ws.os,
        gateway_url: facts.gateway_url,
        hand_checks: facts.hand_checks,
        reachable_from_network: facts.reachable_from_network,
        master_key: facts.master_key,
        log_path,
        up_to_date,
        missing_keys,
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
    /// Where this run saved the answers last: saving again replaces that file, never another.
    saved_answers: Option<PathBuf>,
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
            saved_answers: None,
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
        session::register_secrets(&ws);
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
        on_engine_thread(self.feed.clone(), Msg::InstallFinished, move || async move {
            let sink = ToApp(tx);
            let opts = InstallOptions {
                readiness_deadline: settings.readiness_deadline,
                images_file: settings.images_file,
                backup_stamp: stamp_now(),
            };
            // The log file is opened by the session once the install dir exists, and
            // announced with `Event::LogOpened`.
            tracing::info!("install into {} confirmed in the wizard", ws.dir().display());
            let finished = session::install(&ws, &opts, &sink).await;
            finished
                .result
                .map(|report| install_report(&ws, finished.log_path, report.up_to_date()))
        });
    }
}

/// Screen 3's checks: the one preflight of `steps`, with the engine connected as the install
/// connects to it; a port that cannot be used is a warning there (see `preflight::for_wizard`).
async fn run_checks(answers: &Answers, os: Os) -> Vec<Check> {
    let project = crate::stack::Stack::from_answers(answers, os).project;
    let checks = match session::connect().await {
        Ok(engine) => preflight::checks(Ok(&engine), answers, &project, os).await.checks,
        Err(e) => preflight::checks(Err(&e), answers, &project, os).await.checks,
    };
    preflight::for_wizard(checks)
}

/// The ports alone, as the install will enforce them.
async fn run_port_checks(answers: &Answers, os: Os) -> Vec<Check> {
    let project = crate::stack::Stack::from_answers(answers, os).project;
    match session::connect().await {
        Ok(engine) => preflight::ports(Some(&engine), answers, &project, os).await,
        Err(_) => preflight::ports(None, answers, &project, os).await,
    }
}

fn current_thread_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::environment(msg!("wizard.error.runtime")).detail(e))
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

impl SystemEffects {
    /// `litellm-stack-answers.yaml` in the current folder; a file of that name that this run
    /// did not write is kept, and the copy gets a number (`litellm-stack-answers-2.yaml`).
    fn answers_copy_path(&mut self) -> PathBuf {
        if let Some(p) = &self.saved_answers {
            return p.clone();
        }
        let stem = SAVED_ANSWERS_COPY.trim_end_matches(".yaml");
        let path = (1..1000)
            .map(|n| match n {
                1 => self.save_dir.join(SAVED_ANSWERS_COPY),
                n => self.save_dir.join(format!("{stem}-{n}.yaml")),
            })
            .find(|p| !p.exists())
            .unwrap_or_else(|| self.save_dir.join(SAVED_ANSWERS_COPY));
        self.saved_answers = Some(path.clone());
        path
    }
}

impl Effects for SystemEffects {
    fn run(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Preflight(answers) => {
                let tx = self.tx.clone();
                let os = self.os;
                std::thread::spawn(move || {
                    let checks = match current_thread_runtime() {
                        Ok(rt) => rt.block_on(run_checks(&answers, os)),
                        Err(e) => vec![Check {
                            name: msg!("wizard.check.engine"),
                            status: CheckStatus::Fail,
                            summary: e.what.clone(),
                            fix: e.hint.clone(),
                            error: Some(e),
                            field: None,
                        }],
                    };
                    let _ = tx.send(Msg::PreflightDone(checks));
                });
            }
            Cmd::CheckPorts(answers) => {
                let tx = self.tx.clone();
                let os = self.os;
                std::thread::spawn(move || {
                    let checks = match current_thread_runtime() {
                        Ok(rt) => rt.block_on(run_port_checks(&answers, os)),
                        Err(_) => Vec::new(),
                    };
                    let _ = tx.send(Msg::PortsChecked(checks));
                });
            }
            // Quick reads of a few small files: done in line, the result is the next message.
            Cmd::InspectDir(dir) => self.send(Msg::DirInspected(Box::new(inspect_dir(&dir)))),
            Cmd::PrepareReview { answers, keys } => {
                let result = self.prepare(answers, keys);
                self.send(Msg::ReviewReady(result));
            }
            Cmd::SaveAnswers(answers) => {
                let path = self.answers_copy_path();
                // Saved in the install dir (the user stands there): under its lock, as the
                // commands write there.
                let result = crate::workspace::lock_if_inside(&answers.dir, &path)
                    .and_then(|_lock| write_atomic(&path, answers.to_saved_yaml().as_bytes(), false))
                    .map(|()| path);
                self.send(Msg::AnswersSaved(result));
            }
            Cmd::StartInstall => self.start_install(),
            Cmd::Backup(dir) => {
                let sink = ToBackup(self.feed.clone());
                let os = self.os;
                on_engine_thread(self.feed.clone(), Msg::BackupFinished, move || {
                    backup_install(dir, os, sink)
                });
            }
            Cmd::PlanUpgrade { dir, litellm } => {
                let req = upgrade_request(&dir, &litellm, self.install.readiness_deadline);
                let planned = crate::steps::upgrade::plan(&req, self.os).map(|plan| {
                    plan.changes
                        .into_iter()
                        .map(|c| PlannedChange {
                            service: c.service,
                            from: c.from,
                            to: c.to,
                        })
                        .collect()
                });
                self.send(Msg::UpgradePlanned(planned));
            }
            Cmd::StartUpgrade { dir, litellm } => {
                let tx = self.feed.clone();
                let os = self.os;
                let deadline = self.install.readiness_deadline;
                on_engine_thread(self.feed.clone(), Msg::InstallFinished, move || async move {
                    upgrade_install(&dir, &litellm, os, deadline, &ToApp(tx)).await
                });
            }
            Cmd::Quit => {}
        }
    }
}
