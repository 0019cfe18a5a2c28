//! Screen 4's flow: the folder typed and looked at; on an existing install, its actions
//! (update it, back it up now, and upgrade it to the pinned LiteLLM when it runs another) and
//! the backup's progress and result. The upgrade shows its plan and asks first; confirmed, it
//! runs on the progress screen, as an install does. Pure, like `update`.

use std::path::PathBuf;

use crate::error::Error;
use crate::steps::Event;

use super::answers_form;
use super::app::{App, BackupRun, DirFocus, DirInfo, ModelsForm, PlannedChange, PortsForm, Screen, UpgradeAsk};
use super::input::Key;
use super::update::{Cmd, cycle, go, show_form_error};

/// The archive the directory screen's backup wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSaved {
    pub path: PathBuf,
    pub size: u64,
}

/// The existing install of the folder in the field, once looked at: the screen's actions are
/// offered for it.
fn shown_install(app: &App) -> Option<&DirInfo> {
    let typed = answers_form::directory(app).ok()?;
    app.directory
        .info
        .as_ref()
        .filter(|i| i.existing_install && i.dir == typed)
}

/// The answers as far as the forms are valid; the base where they are not yet.
pub(super) fn on_directory_key(app: &mut App, k: Key) -> Vec<Cmd> {
    if let Some((dir, pinned)) = shown_install(app).map(|i| (i.dir.clone(), i.other_litellm.clone().map(|o| o.1))) {
        let order: &[DirFocus] = if pinned.is_some() {
            &[DirFocus::Field, DirFocus::Update, DirFocus::Backup, DirFocus::Upgrade]
        } else {
            &[DirFocus::Field, DirFocus::Update, DirFocus::Backup]
        };
        let focus = app.directory.focus;
        match k {
            Key::Tab | Key::Down => {
                app.directory.focus = cycle(order, focus, true);
                return Vec::new();
            }
            Key::BackTab | Key::Up => {
                app.directory.focus = cycle(order, focus, false);
                return Vec::new();
            }
            Key::Enter if focus == DirFocus::Upgrade => {
                let Some(litellm) = pinned else { return Vec::new() };
                if matches!(app.directory.backup, BackupRun::Running(_)) {
                    return Vec::new();
                }
                return match app.directory.upgrade {
                    UpgradeAsk::Planning => Vec::new(),
                    // Confirmed: the run goes on the progress screen, as an install's.
                    UpgradeAsk::Confirm(_) => {
                        app.directory.upgrade = UpgradeAsk::Idle;
                        app.install_started = true;
                        app.upgrade_run = true;
                        app.progress = super::app::ProgressState::upgrade();
                        app.done = None;
                        app.failure = None;
                        app.screen = Screen::Progress;
                        vec![Cmd::StartUpgrade { dir, litellm }]
                    }
                    _ => {
                        app.directory.upgrade = UpgradeAsk::Planning;
                        vec![Cmd::PlanUpgrade { dir, litellm }]
                    }
                };
            }
            // Esc cancels a plan shown, before it leaves the screen.
            Key::Esc if matches!(app.directory.upgrade, UpgradeAsk::Confirm(_) | UpgradeAsk::Failed(_)) => {
                app.directory.upgrade = UpgradeAsk::Idle;
                return Vec::new();
            }
            Key::Enter if focus == DirFocus::Backup => {
                if matches!(app.directory.backup, BackupRun::Running(_)) {
                    return Vec::new();
                }
                app.directory.backup = BackupRun::Running(None);
                return vec![Cmd::Backup(dir)];
            }
            Key::Enter if focus == DirFocus::Update => {
                if matches!(app.directory.backup, BackupRun::Running(_)) {
                    return Vec::new();
                }
                return go(app, Screen::Models);
            }
            Key::Esc => {}
            _ if focus != DirFocus::Field => return Vec::new(),
            _ => {}
        }
    } else {
        app.directory.focus = DirFocus::Field;
    }
    match k {
        Key::Enter => match answers_form::directory(app) {
            Ok(dir) => {
                app.directory.inspecting = true;
                vec![Cmd::InspectDir(dir)]
            }
            Err(e) => show_form_error(app, e),
        },
        Key::Esc => go(app, Screen::Preflight),
        other => {
            app.directory.input.handle(other);
            if shown_install(app).is_none() {
                app.directory.backup = BackupRun::Idle;
                app.directory.upgrade = UpgradeAsk::Idle;
            }
            Vec::new()
        }
    }
}

/// The directory screen's backup: its latest progress line, then its end.
pub(super) fn on_backup_event(app: &mut App, event: Event) {
    let line = match event {
        Event::StepProgress { msg, .. } => Some(msg),
        Event::StepDone { msg: Some(msg), .. } => Some(msg),
        _ => None,
    };
    if let (Some(line), BackupRun::Running(last)) = (line, &mut app.directory.backup) {
        *last = Some(line);
    }
}

pub(super) fn on_backup_finished(app: &mut App, result: Result<BackupSaved, Error>) {
    app.directory.backup = match result {
        Ok(saved) => BackupRun::Saved {
            path: saved.path,
            size: saved.size,
        },
        Err(e) => BackupRun::Failed(e),
    };
}

/// The upgrade's plan, read: shown for a confirmation (or why there is none).
pub(super) fn on_upgrade_planned(app: &mut App, result: Result<Vec<PlannedChange>, Error>) {
    if app.directory.upgrade != UpgradeAsk::Planning {
        return;
    }
    app.directory.upgrade = match result {
        Ok(changes) => UpgradeAsk::Confirm(changes),
        Err(e) => UpgradeAsk::Failed(e),
    };
}

pub(super) fn on_dir_inspected(app: &mut App, info: DirInfo) -> Vec<Cmd> {
    app.directory.inspecting = false;
    // The directory may have been edited while it was being looked at.
    if answers_form::directory(app).ok().as_ref() != Some(&info.dir) {
        return Vec::new();
    }
    let already_shown = app.directory.info.as_ref().is_some_and(|i| i.dir == info.dir);
    for p in &mut app.models.providers {
        p.key_in_env = info.env_keys.iter().any(|k| k == p.provider.key_var());
    }
    if info.dir != app.base.dir {
        if let Some(saved) = &info.saved_answers {
            // Another existing install: its own choices are the starting point now.
            let mut base = saved.clone();
            base.dir = info.dir.clone();
            app.models = ModelsForm::from_answers(&base, &info.env_keys);
            app.ports = PortsForm::from_answers(&base);
            app.base = base;
            app.notice = Some(msg!("wizard.notice.answers_loaded"));
        } else {
            app.base.dir = info.dir.clone();
        }
        // Other ports may be in use there: the checklist is stale.
        app.preflight.checks.clear();
    }
    let stay = info.existing_install && !already_shown;
    app.directory.info = Some(info);
    if app.screen == Screen::Directory && !stay {
        let notice = app.notice.take();
        go(app, Screen::Models);
        app.notice = notice;
    }
    Vec::new()
}
