//! The Elm Architecture's `update`: every key, every engine event and every result of a
//! command goes through here. Pure: no I/O; what must happen outside comes back as `Cmd`s.

use std::path::PathBuf;

use crate::answers::Answers;
use crate::error::Error;
use crate::i18n::Lang;
use crate::secrets::Secret;
use crate::steps::Event;

use super::answers_form::{self, FormError, FormFocus};
use super::app::{
    App, DirInfo, Ending, InstallReport, ModelsFocus, ModelsForm, Overlay, PlannedChange, PortsField, ReviewData,
    ReviewFocus, Screen,
};
use super::checks_flow::{go_preflight, on_ports_checked, on_ports_key, on_preflight_key};
pub use super::directory_flow::BackupSaved;
use super::directory_flow::{on_backup_event, on_backup_finished, on_dir_inspected, on_directory_key};
use super::feed::{on_event, on_finished};
use super::input::Key;
use crate::steps::preflight::Check;

/// Everything that can happen to the wizard.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Key(Key),
    /// Text pasted into the terminal (bracketed paste), e.g. a provider key.
    Paste(String),
    Resize(u16, u16),
    /// Animation tick (the running step's spinner).
    Tick,
    PreflightDone(Vec<Check>),
    /// The ports of the answers checked again, before the review.
    PortsChecked(Vec<Check>),
    DirInspected(Box<DirInfo>),
    ReviewReady(Result<ReviewData, Error>),
    AnswersSaved(Result<PathBuf, Error>),
    /// The run's log file is open at this path.
    LogOpened(PathBuf),
    /// An event of the install run.
    Install(Event),
    InstallFinished(Result<InstallReport, Error>),
    /// An event of the directory screen's backup.
    Backup(Event),
    BackupFinished(Result<BackupSaved, Error>),
    /// The plan of the directory screen's upgrade (it changes nothing).
    UpgradePlanned(Result<Vec<PlannedChange>, Error>),
    /// The process was told to end (SIGTERM, terminal closed): leave at once.
    Terminate,
}

/// What `update` asks the outside world to do. Results come back as `Msg`s.
#[derive(Debug, Clone, PartialEq)]
pub enum Cmd {
    Preflight(Answers),
    /// Check the answers' ports again (the ports screen, before the review).
    CheckPorts(Answers),
    InspectDir(PathBuf),
    /// Render every file in memory and compare with the disk; writes nothing.
    PrepareReview {
        answers: Answers,
        keys: Vec<(String, Secret)>,
    },
    /// Save the answers (no secrets) for an unattended replay elsewhere.
    SaveAnswers(Answers),
    /// Write and start what the review showed. Sent only from the review's Install button.
    StartInstall,
    /// Back up the existing install in this folder (`litellm-stack backup`).
    Backup(PathBuf),
    /// Read the plan of upgrading the install in `dir` to LiteLLM `litellm` (changes nothing).
    PlanUpgrade {
        dir: PathBuf,
        litellm: String,
    },
    /// Run that upgrade: its events and end come as an install's (`Msg::Install`, `InstallFinished`).
    StartUpgrade {
        dir: PathBuf,
        litellm: String,
    },
    Quit,
}

pub fn update(app: &mut App, msg: Msg) -> Vec<Cmd> {
    match msg {
        Msg::Key(k) => on_key(app, k),
        Msg::Paste(s) => {
            paste(app, &s);
            Vec::new()
        }
        Msg::Resize(w, h) => {
            app.size = (w, h);
            Vec::new()
        }
        Msg::Tick => {
            app.progress.spinner = app.progress.spinner.wrapping_add(1);
            Vec::new()
        }
        Msg::PreflightDone(checks) => {
            app.preflight.checks = checks;
            app.preflight.running = false;
            Vec::new()
        }
        Msg::PortsChecked(checks) => on_ports_checked(app, checks),
        Msg::DirInspected(info) => on_dir_inspected(app, *info),
        Msg::ReviewReady(result) => {
            app.review.loading = false;
            match result {
                Ok(data) => {
                    app.review.selected = app.review.selected.min(data.files.len().saturating_sub(1));
                    app.review.data = Some(data);
                    app.error = None;
                }
                Err(e) => {
                    app.review.data = None;
                    app.failure_on_review(e);
                }
            }
            Vec::new()
        }
        Msg::AnswersSaved(result) => {
            match result {
                Ok(path) => {
                    let cmd = format!(
                        "{} install --answers {} --yes",
                        crate::howto::quote_path(app.os.shell(), &app.program),
                        crate::howto::quote_path(app.os.shell(), &path.display().to_string())
                    );
                    app.notice = Some(msg!("newcomer.notice.answers_saved").arg("cmd", cmd))
                }
                Err(e) => app.failure_on_review(e),
            }
            Vec::new()
        }
        Msg::LogOpened(path) => {
            app.progress.log_path = Some(path);
            Vec::new()
        }
        Msg::Install(event) => {
            on_event(app, event);
            Vec::new()
        }
        Msg::InstallFinished(result) => {
            on_finished(app, result);
            Vec::new()
        }
        Msg::Backup(event) => {
            on_backup_event(app, event);
            Vec::new()
        }
        Msg::BackupFinished(result) => {
            on_backup_finished(app, result);
            Vec::new()
        }
        Msg::UpgradePlanned(result) => {
            super::directory_flow::on_upgrade_planned(app, result);
            Vec::new()
        }
        Msg::Terminate => quit(app),
    }
}

impl App {
    /// An error of the review's preparation, shown on the review screen.
    fn failure_on_review(&mut self, e: Error) {
        self.review_error = Some(e);
    }
}

fn quit(app: &mut App) -> Vec<Cmd> {
    app.ending = Some(if app.install_running() {
        Ending::QuitDuringInstall
    } else if app.done.is_some() {
        Ending::Done
    } else if app.failure.is_some() {
        Ending::Failed
    } else if app.preflight.checks.iter().any(|c| c.as_error().is_some()) {
        Ending::QuitAfterFailedCheck
    } else {
        Ending::QuitBeforeStart
    });
    app.overlay = None;
    vec![Cmd::Quit]
}

/// `q` or Ctrl-C: at once, unless an install is running, which needs a confirmation.
fn request_quit(app: &mut App) -> Vec<Cmd> {
    if app.install_running() {
        app.overlay = Some(Overlay::ConfirmQuit);
        Vec::new()
    } else {
        quit(app)
    }
}

fn switch_language(app: &mut App) {
    app.set_lang(app.lang.other());
}

impl App {
    pub fn set_lang(&mut self, lang: Lang) {
        self.lang = lang;
        self.language_choice = Lang::ALL.iter().position(|l| *l == lang).unwrap_or(0);
    }
}

fn on_key(app: &mut App, k: Key) -> Vec<Cmd> {
    if k == Key::CtrlC {
        return if app.overlay == Some(Overlay::ConfirmQuit) {
            quit(app)
        } else {
            request_quit(app)
        };
    }
    match app.overlay {
        Some(Overlay::Help) => {
            app.overlay = None;
            return Vec::new();
        }
        Some(Overlay::ConfirmQuit) => {
            match k {
                Key::Char('y' | 'Y') | Key::Enter => return quit(app),
                Key::Char('n' | 'N') | Key::Esc => app.overlay = None,
                _ => {}
            }
            return Vec::new();
        }
        None => {}
    }
    app.error = None;
    match k {
        Key::F(2) => {
            switch_language(app);
            return Vec::new();
        }
        Key::F(1) => {
            app.overlay = Some(Overlay::Help);
            return Vec::new();
        }
        _ => {}
    }
    if !app.typing() {
        match k {
            Key::Char('q' | 'Q') => return request_quit(app),
            Key::Char('?') => {
                app.overlay = Some(Overlay::Help);
                return Vec::new();
            }
            Key::Char('l' | 'L') => {
                switch_language(app);
                return Vec::new();
            }
            _ => {}
        }
    }
    match app.screen {
        Screen::Language => on_language_key(app, k),
        Screen::Welcome => match k {
            Key::Enter => go_preflight(app),
            Key::Esc => go(app, Screen::Language),
            _ => Vec::new(),
        },
        Screen::Preflight => on_preflight_key(app, k),
        Screen::Directory => on_directory_key(app, k),
        Screen::Models => on_models_key(app, k),
        Screen::Ports => on_ports_key(app, k),
        Screen::Review => on_review_key(app, k),
        Screen::Progress => Vec::new(),
        Screen::Done => match k {
            Key::Char('r' | 'R') => {
                if let Some(d) = &mut app.done {
                    d.key_revealed = !d.key_revealed;
                }
                Vec::new()
            }
            Key::Enter => quit(app),
            Key::Up | Key::PageUp | Key::Down | Key::PageDown | Key::Home => {
                if let Some(d) = &mut app.done {
                    d.scroll = match k {
                        Key::Up => d.scroll.saturating_sub(1),
                        Key::PageUp => d.scroll.saturating_sub(10),
                        Key::Down => d.scroll.saturating_add(1),
                        Key::PageDown => d.scroll.saturating_add(10),
                        _ => 0,
                    };
                }
                Vec::new()
            }
            _ => Vec::new(),
        },
        Screen::Failed => match k {
            Key::Enter => quit(app),
            // After the directory screen's upgrade (rolled back or not): back to that screen,
            // which looks at the install again (the version it runs now, its buttons).
            Key::Esc if app.upgrade_run => {
                app.failure = None;
                app.install_started = false;
                app.upgrade_run = false;
                app.progress = Default::default();
                go(app, Screen::Directory);
                match answers_form::directory(app) {
                    Ok(dir) => {
                        app.directory.inspecting = true;
                        vec![Cmd::InspectDir(dir)]
                    }
                    Err(e) => show_form_error(app, e),
                }
            }
            // Back to the review to change answers and run again: what was written stays,
            // keys are kept.
            Key::Esc => {
                app.failure = None;
                app.install_started = false;
                app.progress = Default::default();
                prepare_review(app)
            }
            _ => Vec::new(),
        },
    }
}

/// Moves to `screen`, keeping every form as it is.
pub(super) fn go(app: &mut App, screen: Screen) -> Vec<Cmd> {
    app.screen = screen;
    app.notice = None;
    app.error = None;
    Vec::new()
}

fn on_language_key(app: &mut App, k: Key) -> Vec<Cmd> {
    let n = Lang::ALL.len();
    match k {
        Key::Up => app.set_lang(Lang::ALL[app.language_choice.saturating_sub(1)]),
        Key::Down => app.set_lang(Lang::ALL[(app.language_choice + 1).min(n - 1)]),
        Key::Tab => app.set_lang(Lang::ALL[(app.language_choice + 1) % n]),
        Key::BackTab => app.set_lang(Lang::ALL[(app.language_choice + n - 1) % n]),
        Key::Enter => return go(app, Screen::Welcome),
        _ => {}
    }
    Vec::new()
}

pub(super) fn show_form_error(app: &mut App, e: FormError) -> Vec<Cmd> {
    match e.focus {
        FormFocus::Directory => app.screen = Screen::Directory,
        FormFocus::Models { row, field } => {
            app.screen = Screen::Models;
            app.models.selected = row;
            app.models.focus = field;
        }
        FormFocus::Ports(field) => {
            app.screen = Screen::Ports;
            app.ports.focus = PortsField::ALL.iter().position(|f| *f == field).unwrap_or(0);
        }
    }
    app.error = Some(e.msg);
    Vec::new()
}

pub(super) fn cycle<T: PartialEq + Copy>(items: &[T], current: T, forward: bool) -> T {
    let i = items.iter().position(|x| *x == current).unwrap_or(0);
    let n = items.len();
    items[if forward { (i + 1) % n } else { (i + n - 1) % n }]
}

fn toggle_provider(form: &mut ModelsForm) {
    let row = form.selected;
    if row == form.smoke_row() {
        form.smoke_test = !form.smoke_test;
    } else if let Some(p) = form.providers.get_mut(row) {
        p.enabled = !p.enabled;
        if p.enabled && p.models.value().trim().is_empty() {
            p.models.set(p.provider.suggested_models());
        }
    }
}

fn on_models_key(app: &mut App, k: Key) -> Vec<Cmd> {
    let form = &mut app.models;
    match k {
        Key::Enter => {
            return match answers_form::models(&app.models) {
                Ok(_) => go(app, Screen::Ports),
                Err(e) => show_form_error(app, e),
            };
        }
        Key::Esc => return go(app, Screen::Directory),
        Key::Tab => form.focus = cycle(&form.fields(), form.focus, true),
        Key::BackTab => form.focus = cycle(&form.fields(), form.focus, false),
        _ if form.focus == ModelsFocus::List => match k {
            Key::Up => form.selected = form.selected.saturating_sub(1),
            Key::Down => form.selected = (form.selected + 1).min(form.smoke_row()),
            Key::Char(' ') => toggle_provider(form),
            Key::Right => form.focus = cycle(&form.fields(), form.focus, true),
            _ => {}
        },
        Key::Up => form.focus = cycle(&form.fields(), form.focus, false),
        Key::Down => form.focus = cycle(&form.fields(), form.focus, true),
        other => {
            let row = form.selected;
            if let Some(p) = form.providers.get_mut(row) {
                match form.focus {
                    ModelsFocus::Models => {
                        p.models.handle(other);
                    }
                    ModelsFocus::Key if !p.key_in_env => {
                        p.key.handle(other);
                    }
                    ModelsFocus::ApiBase => {
                        p.api_base.handle(other);
                    }
                    ModelsFocus::ApiVersion => {
                        p.api_version.handle(other);
                    }
                    _ => {}
                }
            }
        }
    }
    Vec::new()
}

pub(super) fn prepare_review(app: &mut App) -> Vec<Cmd> {
    match answers_form::answers(app) {
        Ok(answers) => {
            go(app, Screen::Review);
            app.review.loading = true;
            app.review.viewing = None;
            app.review.focus = ReviewFocus::Files;
            app.review_error = None;
            let keys = answers_form::provider_keys(&app.models);
            vec![Cmd::PrepareReview { answers, keys }]
        }
        Err(e) => show_form_error(app, e),
    }
}

fn on_review_key(app: &mut App, k: Key) -> Vec<Cmd> {
    let files = app.review.data.as_ref().map_or(0, |d| d.files.len());
    if let Some(scroll) = app.review.viewing {
        app.review.viewing = match k {
            Key::Esc | Key::Left | Key::Enter => None,
            Key::Up => Some(scroll.saturating_sub(1)),
            Key::Down => Some(scroll.saturating_add(1)),
            Key::PageUp => Some(scroll.saturating_sub(10)),
            Key::PageDown | Key::Char(' ') => Some(scroll.saturating_add(10)),
            Key::Home => Some(0),
            _ => Some(scroll),
        };
        return Vec::new();
    }
    match k {
        Key::Esc => return go(app, Screen::Ports),
        Key::Char(c @ '1'..='6') => {
            let i = (c as usize) - ('1' as usize);
            return go(app, Screen::FORMS[i]);
        }
        Key::Char('s' | 'S') if app.review.data.is_some() => {
            return match answers_form::answers(app) {
                Ok(a) => vec![Cmd::SaveAnswers(a)],
                Err(e) => show_form_error(app, e),
            };
        }
        Key::Tab => {
            app.review.focus = match app.review.focus {
                ReviewFocus::Files => ReviewFocus::Install,
                ReviewFocus::Install => ReviewFocus::SaveAnswers,
                ReviewFocus::SaveAnswers => ReviewFocus::Files,
            }
        }
        Key::BackTab => {
            app.review.focus = match app.review.focus {
                ReviewFocus::Files => ReviewFocus::SaveAnswers,
                ReviewFocus::Install => ReviewFocus::Files,
                ReviewFocus::SaveAnswers => ReviewFocus::Install,
            }
        }
        Key::Up if app.review.focus == ReviewFocus::Files => {
            app.review.selected = app.review.selected.saturating_sub(1)
        }
        Key::Down if app.review.focus == ReviewFocus::Files => {
            app.review.selected = (app.review.selected + 1).min(files.saturating_sub(1))
        }
        Key::Enter | Key::Right | Key::Char('v') if app.review.focus == ReviewFocus::Files && files > 0 => {
            app.review.viewing = Some(0)
        }
        Key::Enter if app.review.focus == ReviewFocus::SaveAnswers => {
            return on_review_key(app, Key::Char('s'));
        }
        Key::Enter if app.review.focus == ReviewFocus::Install => {
            if app.review.loading || app.review.data.is_none() {
                return Vec::new();
            }
            app.install_started = true;
            app.upgrade_run = false;
            app.progress = Default::default();
            app.done = None;
            app.failure = None;
            go(app, Screen::Progress);
            return vec![Cmd::StartInstall];
        }
        _ => {}
    }
    Vec::new()
}

fn paste(app: &mut App, s: &str) {
    match app.screen {
        Screen::Directory => app.directory.input.insert_str(s),
        Screen::Models => {
            let focus = app.models.focus;
            let row = app.models.selected;
            if let Some(p) = app.models.providers.get_mut(row) {
                match focus {
                    ModelsFocus::Models => p.models.insert_str(s),
                    ModelsFocus::Key if !p.key_in_env => p.key.insert_str(s),
                    ModelsFocus::ApiBase => p.api_base.insert_str(s),
                    ModelsFocus::ApiVersion => p.api_version.insert_str(s),
                    _ => {}
                }
            }
        }
        Screen::Ports => match app.ports.field() {
            PortsField::NginxPort => app.ports.nginx_port.insert_str(s),
            PortsField::LitellmPort => app.ports.litellm_port.insert_str(s),
            PortsField::PrometheusPort => app.ports.prometheus_port.insert_str(s),
            _ => {}
        },
        _ => {}
    }
}
