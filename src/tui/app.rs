//! The wizard's whole state. `update` (in `update.rs`) is the only thing that changes it;
//! the views only read it.

use std::collections::VecDeque;
use std::path::PathBuf;

use crate::answers::Answers;
use crate::error::Error;
use crate::i18n::{Lang, Msg as Text};
use crate::platform::{DataStorage, Os};
use crate::render::write::ChangeKind;
use crate::secrets::Secret;
use crate::steps::StepId;

pub use super::forms::{
    AZURE_DEFAULT_API_VERSION, ModelsFocus, ModelsForm, PortsField, PortsForm, Provider, ProviderForm,
};
use super::input::TextInput;
use crate::steps::preflight::Check;

/// The screens, in the order a first install walks through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Language,
    Welcome,
    Preflight,
    Directory,
    Models,
    Ports,
    Review,
    Progress,
    Done,
    Failed,
}

impl Screen {
    /// The screens the user fills in, in order; the review can jump back to any of them.
    pub const FORMS: [Screen; 7] = [
        Screen::Language,
        Screen::Welcome,
        Screen::Preflight,
        Screen::Directory,
        Screen::Models,
        Screen::Ports,
        Screen::Review,
    ];

    /// 1-based position among the forms, for the header's "3/7".
    pub fn number(self) -> Option<usize> {
        Screen::FORMS.iter().position(|s| *s == self).map(|i| i + 1)
    }

    pub fn title(self) -> Text {
        Text::new(match self {
            Screen::Language => key!("wizard.screen.language"),
            Screen::Welcome => key!("wizard.screen.welcome"),
            Screen::Preflight => key!("wizard.screen.preflight"),
            Screen::Directory => key!("wizard.screen.directory"),
            Screen::Models => key!("wizard.screen.models"),
            Screen::Ports => key!("wizard.screen.ports"),
            Screen::Review => key!("wizard.screen.review"),
            Screen::Progress => key!("wizard.screen.progress"),
            Screen::Done => key!("wizard.screen.done"),
            Screen::Failed => key!("wizard.screen.failed"),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlay {
    Help,
    ConfirmQuit,
}

/// What the wizard learned about an install directory (read-only look).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DirInfo {
    pub dir: PathBuf,
    /// `.env`, `answers.yaml` or `docker-compose.yml` is there: this run updates it.
    pub existing_install: bool,
    /// The answers saved by the earlier install, when readable.
    pub saved_answers: Option<Answers>,
    /// Saved answers that could not be read: shown, and the form keeps its values.
    pub saved_answers_error: Option<Error>,
    /// Provider key variables that `.env` already fills (names only).
    pub env_keys: Vec<String>,
    /// The earlier install runs another LiteLLM image than this binary pins: (its image, the
    /// pinned one, with the install's mirror). `upgrade` is offered for it.
    pub other_litellm: Option<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DirectoryForm {
    pub input: TextInput,
    /// The look at the directory last inspected.
    pub info: Option<DirInfo>,
    pub inspecting: bool,
    /// On an existing install: the folder field, or one of the screen's two actions.
    pub focus: DirFocus,
    /// "Back up now" on an existing install, run from this screen.
    pub backup: BackupRun,
    /// "Upgrade to the pinned version": its plan, asked for and shown before it runs.
    pub upgrade: UpgradeAsk,
}

/// One service whose image an upgrade changes (`steps::upgrade::ImageChange`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedChange {
    pub service: String,
    pub from: String,
    pub to: String,
}

/// The directory screen's upgrade, before it runs (then the progress screen shows it).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum UpgradeAsk {
    #[default]
    Idle,
    /// The plan is being read (`upgrade`'s plan: it changes nothing).
    Planning,
    /// The plan, shown; Enter on the button again runs it, Esc cancels.
    Confirm(Vec<PlannedChange>),
    /// The plan could not be made (e.g. more than images would change).
    Failed(Error),
}

/// Where the keyboard is on the directory screen. The actions are there only for an existing
/// install, once it has been looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DirFocus {
    #[default]
    Field,
    /// Go on with the wizard: update this install.
    Update,
    /// Back up this install now (`litellm-stack backup`), then stay on the screen.
    Backup,
    /// Upgrade this install to the LiteLLM this binary pins (offered when they differ).
    Upgrade,
}

/// The directory screen's backup, as far as it has come.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum BackupRun {
    #[default]
    Idle,
    /// Running; the latest line of its progress.
    Running(Option<Text>),
    Saved {
        path: PathBuf,
        size: u64,
    },
    Failed(Error),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PreflightState {
    pub checks: Vec<Check>,
    pub running: bool,
}

/// One file on the review screen: what will happen to it, and what the viewer shows (its
/// contents, or the diff of an update), secrets masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewFile {
    pub path: String,
    pub kind: ChangeKind,
    pub shown: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewData {
    pub dir: PathBuf,
    pub data: DataStorage,
    pub files: Vec<ReviewFile>,
    /// Provider keys that will be empty in `.env` (models that will not answer yet).
    pub missing_keys: Vec<String>,
    /// The choices in a few lines: models, ports and exposure, images.
    pub summary: Vec<Text>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewFocus {
    Files,
    Install,
    SaveAnswers,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewState {
    pub data: Option<ReviewData>,
    pub loading: bool,
    pub selected: usize,
    /// The file viewer is open, scrolled this many lines.
    pub viewing: Option<u16>,
    pub focus: ReviewFocus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepState {
    Pending,
    Running,
    Done,
    Failed,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StepRow {
    pub id: StepId,
    pub state: StepState,
    /// Progress lines (latest last), the done/skip note, or the failure.
    pub lines: Vec<Text>,
}

impl StepRow {
    /// A step not started yet.
    pub fn pending(id: StepId) -> StepRow {
        StepRow {
            id,
            state: StepState::Pending,
            lines: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRow {
    pub image: String,
    pub layers_done: u32,
    pub layers_total: u32,
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub status: String,
}

/// One line of the log pane: the history of the run, as it happened.
#[derive(Debug, Clone, PartialEq)]
pub enum LogLine {
    /// A line a service (container) wrote.
    Service {
        service: String,
        line: String,
    },
    /// What a step did (its progress and done notes), in the user's language.
    Step(Text),
    Warning(Text),
}

impl LogLine {
    pub fn text(&self, lang: Lang) -> String {
        match self {
            LogLine::Service { service, line } => format!("{service} | {line}"),
            LogLine::Step(m) => format!("· {}", m.text(lang)),
            LogLine::Warning(m) => format!("! {}", m.text(lang)),
        }
    }
}

/// Lines kept for the log pane; older ones are in the log file.
pub const LOG_PANE_LINES: usize = 500;

#[derive(Debug, Clone, PartialEq)]
pub struct ProgressState {
    pub steps: Vec<StepRow>,
    pub pulls: Vec<PullRow>,
    pub log: VecDeque<LogLine>,
    pub warnings: Vec<Text>,
    /// Animation frame of the running step's spinner.
    pub spinner: usize,
    /// The run's log file, once it is open.
    pub log_path: Option<PathBuf>,
    /// What readiness lines are shown (`report::progress`).
    pub readiness: crate::report::progress::ReadinessLines,
}

impl Default for ProgressState {
    fn default() -> Self {
        ProgressState {
            steps: StepId::ALL.iter().copied().map(StepRow::pending).collect(),
            pulls: Vec::new(),
            log: VecDeque::new(),
            warnings: Vec::new(),
            spinner: 0,
            log_path: None,
            readiness: Default::default(),
        }
    }
}

impl ProgressState {
    /// The steps of `upgrade` (a rollback's steps are added when it starts).
    pub fn upgrade() -> ProgressState {
        use StepId::*;
        ProgressState {
            steps: [Preflight, Images, Dump, Archive, UpgradePlan, Start, Readiness, ApiTest]
                .into_iter()
                .map(StepRow::pending)
                .collect(),
            ..ProgressState::default()
        }
    }

    pub fn row_mut(&mut self, id: StepId) -> Option<&mut StepRow> {
        self.steps.iter_mut().find(|r| r.id == id)
    }

    pub fn push_log(&mut self, line: LogLine) {
        self.log.push_back(line);
        while self.log.len() > LOG_PANE_LINES {
            self.log.pop_front();
        }
    }

    /// The last `n` lines services wrote, for a failure that brought none of its own.
    pub fn last_service_lines(&self, n: usize) -> Vec<String> {
        let mut lines: Vec<String> = self
            .log
            .iter()
            .rev()
            .filter_map(|l| match l {
                LogLine::Service { service, line } => Some(format!("{service} | {line}")),
                _ => None,
            })
            .take(n)
            .collect();
        lines.reverse();
        lines
    }

    pub fn current(&self) -> Option<&StepRow> {
        self.steps
            .iter()
            .find(|r| matches!(r.state, StepState::Running | StepState::Failed))
    }
}

/// What a finished install reports to the done screen.
#[derive(Debug, Clone, PartialEq)]
pub struct InstallReport {
    pub dir: PathBuf,
    pub os: Os,
    /// The URL clients use.
    pub gateway_url: String,
    /// Commands to repeat the checks by hand, in the user's shell (`howto`).
    pub hand_checks: Vec<crate::howto::HandCheck>,
    /// Nginx listens on every interface: other machines use this host's address.
    pub reachable_from_network: bool,
    pub master_key: Secret,
    pub log_path: Option<PathBuf>,
    /// Nothing needed changing: files, images and containers were already as asked.
    pub up_to_date: bool,
    /// Provider keys still empty in `.env` (their models do not answer yet).
    pub missing_keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DoneState {
    pub report: InstallReport,
    pub key_revealed: bool,
    /// Rows scrolled, when the screen is too small for all of it.
    pub scroll: u16,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FailureState {
    pub step: Option<StepId>,
    pub error: Error,
    /// The last lines of the container concerned, or of the log pane.
    pub logs: Vec<String>,
    pub log_path: Option<PathBuf>,
}

/// How the wizard ended, for the exit code and the lines printed after the screen is restored.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    /// Quit before anything was written.
    QuitBeforeStart,
    /// Quit before anything was written, with a check of the checklist failed.
    QuitAfterFailedCheck,
    /// Quit while the install ran (after confirming).
    QuitDuringInstall,
    Done,
    Failed,
}

#[derive(Debug, Clone, PartialEq)]
pub struct App {
    pub lang: Lang,
    pub os: Os,
    pub screen: Screen,
    pub overlay: Option<Overlay>,
    /// The answers the forms start from; the fields no form shows (images, pull policy,
    /// data storage…) pass through unchanged.
    pub base: Answers,
    /// Highlighted row on the language screen.
    pub language_choice: usize,
    pub preflight: PreflightState,
    pub directory: DirectoryForm,
    pub models: ModelsForm,
    pub ports: PortsForm,
    pub review: ReviewState,
    /// The review could not be prepared (e.g. an unreadable `.env`), or the answers could not
    /// be saved.
    pub review_error: Option<Error>,
    pub progress: ProgressState,
    pub done: Option<DoneState>,
    pub failure: Option<FailureState>,
    /// A validation error on the current screen; cleared by the next key.
    pub error: Option<Text>,
    /// A remark on the current screen (answers loaded, answers saved…).
    pub notice: Option<Text>,
    /// The ports screen was opened from the checklist (`p`): Enter and Esc go back there.
    pub ports_from_checks: bool,
    /// Something has been written or started: quitting needs a confirmation while it runs.
    pub install_started: bool,
    /// The run on the progress screen is the directory screen's upgrade, not an install: after
    /// it fails, Esc goes back to the directory screen (there are no answers to change).
    pub upgrade_run: bool,
    pub ending: Option<Ending>,
    /// The terminal size the last frame was drawn at.
    pub size: (u16, u16),
    /// The program as the user types it again, for the commands the wizard prints
    /// (`howto::program_name`).
    pub program: String,
}

impl App {
    /// A wizard starting from `base` answers, with what is known of the install dir.
    pub fn new(lang: Lang, os: Os, base: Answers, dir_info: Option<DirInfo>) -> App {
        let env_keys = dir_info.as_ref().map(|i| i.env_keys.clone()).unwrap_or_default();
        App {
            lang,
            os,
            screen: Screen::Language,
            overlay: None,
            language_choice: Lang::ALL.iter().position(|l| *l == lang).unwrap_or(0),
            preflight: PreflightState::default(),
            directory: DirectoryForm {
                input: TextInput::new(base.dir.display().to_string()),
                info: dir_info,
                inspecting: false,
                focus: DirFocus::Field,
                backup: BackupRun::Idle,
                upgrade: UpgradeAsk::Idle,
            },
            models: ModelsForm::from_answers(&base, &env_keys),
            ports: PortsForm::from_answers(&base),
            base,
            review: ReviewState {
                data: None,
                loading: false,
                selected: 0,
                viewing: None,
                focus: ReviewFocus::Files,
            },
            review_error: None,
            progress: ProgressState::default(),
            done: None,
            failure: None,
            error: None,
            notice: None,
            ports_from_checks: false,
            install_started: false,
            upgrade_run: false,
            ending: None,
            size: (80, 24),
            program: env!("CARGO_PKG_NAME").to_string(),
        }
    }

    /// `litellm-stack <command>` for the install dir as far as the wizard knows it, with
    /// `--dir` when it is not the default, in the shell of this OS.
    pub fn follow_up(&self, command: &str) -> String {
        let dir = super::answers_form::directory(self).unwrap_or_else(|_| self.base.dir.clone());
        self.follow_up_in(command, &dir)
    }

    pub fn follow_up_in(&self, command: &str, dir: &std::path::Path) -> String {
        crate::howto::follow_up(&self.program, command, dir, &self.os.default_dir(), self.os.shell())
    }

    /// The install is running: started, not yet done or failed.
    pub fn install_running(&self) -> bool {
        self.install_started && self.done.is_none() && self.failure.is_none()
    }

    /// Whether the keyboard is in a text field, where letters are text, not commands.
    pub fn typing(&self) -> bool {
        match self.screen {
            Screen::Directory => self.directory.focus == DirFocus::Field,
            Screen::Models => !matches!(self.models.focus, ModelsFocus::List),
            Screen::Ports => self.ports.field().is_text(),
            _ => false,
        }
    }
}
