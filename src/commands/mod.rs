//! One function per command; each returns its exit status. Front-end work only: the install
//! logic lives in `steps`, the files in `render`, the engine in `engine`, and every line a
//! command prints goes through its one `report::Printer`.

pub mod backup;
pub mod doctor;
pub mod files;
pub mod install;
pub mod stack;
pub mod upgrade;
pub mod verify;
pub mod wizard;

use crate::cli::{BackupAction, Cli, Command, ImagesAction, Target};
use crate::error::Exit;
use crate::i18n::Lang;
use crate::report::{Printer, StepStyle};

/// The printer of a command: JSON lines where the command has `--json` and asks for them.
fn printer(lang: Lang, command: Option<&Command>) -> Printer {
    match command {
        Some(Command::Install(args)) => Printer::new(lang, args.json),
        Some(
            Command::Render { json, .. }
            | Command::Plan { json, .. }
            | Command::Status { json, .. }
            | Command::Doctor { json, .. },
        ) => Printer::new(lang, *json),
        Some(Command::Verify { json, .. }) => Printer::new(lang, *json).with_style(StepStyle::Checks),
        Some(Command::Backup { json, .. } | Command::Restore { json, .. } | Command::Upgrade { json, .. }) => {
            Printer::new(lang, *json).with_style(StepStyle::Checks)
        }
        None
        | Some(
            Command::Logs { .. }
            | Command::Down { .. }
            | Command::Uninstall { .. }
            | Command::Images { .. }
            | Command::SupportBundle { .. },
        ) => Printer::new(lang, false),
    }
}

/// The install dir and answers file a command works on.
fn target_of(command: Option<&Command>) -> Option<&Target> {
    match command? {
        Command::Install(args) => Some(&args.target),
        Command::Plan { target, .. }
        | Command::Render { target, .. }
        | Command::Status { target, .. }
        | Command::Logs { target, .. }
        | Command::Down { target }
        | Command::Uninstall { target, .. }
        | Command::Verify { target, .. }
        | Command::Doctor { target, .. }
        | Command::SupportBundle { target, .. }
        | Command::Images {
            action: ImagesAction::Save { target, .. },
        }
        | Command::Backup {
            action: None, target, ..
        }
        | Command::Backup {
            action: Some(BackupAction::List { target } | BackupAction::Verify { target, .. }),
            ..
        }
        | Command::Restore { target, .. }
        | Command::Upgrade { target, .. } => Some(target),
    }
}

/// The language of messages: `--lang`, else the answers' `language:` (the `--answers` file,
/// else the install dir's saved answers), else the locale. Answers that cannot be read count
/// for nothing here: the command itself then says what is wrong with them.
pub fn resolve_lang(cli: &Cli) -> Lang {
    if let Some(lang) = cli.lang {
        return lang;
    }
    let default = Target::default();
    let t = target_of(cli.command.as_ref()).unwrap_or(&default);
    crate::workspace::load_answers(t.answers.as_deref(), t.dir.as_deref(), crate::platform::Os::current())
        .ok()
        .and_then(|a| a.language)
        .unwrap_or_else(Lang::from_env)
}

pub fn run(cli: Cli) -> Exit {
    let lang = resolve_lang(&cli);
    let p = printer(lang, cli.command.as_ref());
    let result = match cli.command {
        None => wizard::run_default(lang),
        Some(Command::Install(args)) => {
            if wizard::wants_wizard(&args) {
                wizard::run_install(lang, &args)
            } else {
                install::run(lang, &args)
            }
        }
        Some(Command::Render { target, .. }) => files::render(&target, &p),
        Some(Command::Plan { target, .. }) => files::plan(&target, &p),
        Some(Command::Status { target, .. }) => stack::status(&target, &p),
        Some(Command::Logs {
            service,
            target,
            tail,
            follow,
        }) => stack::logs(&target, service.as_deref(), tail, follow, &p),
        Some(Command::Down { target }) => stack::down(&target, &p),
        Some(Command::Uninstall { target, purge, yes }) => stack::uninstall(&target, purge, yes, &p),
        Some(Command::Verify { target, timeout, .. }) => verify::run(&target, &timeout, &p),
        Some(Command::Doctor { target, .. }) => doctor::run(&target, &p),
        Some(Command::SupportBundle { target, out, check }) => match check {
            Some(file) => doctor::check_bundle(&target, &file, &p),
            None => doctor::support_bundle(&target, out.as_deref(), &p),
        },
        Some(Command::Images {
            action: ImagesAction::Save { file, target },
        }) => stack::images_save(&target, &file, &p),
        Some(Command::Backup {
            action, target, out, ..
        }) => match action {
            None => backup::backup(&target, out.as_deref(), &p),
            Some(BackupAction::List { target }) => backup::list(&target, &p),
            Some(BackupAction::Verify { file, target }) => backup::verify(&file, &target, &p),
        },
        Some(Command::Restore { file, target, yes, .. }) => backup::restore(&file, &target, yes, &p),
        Some(Command::Upgrade {
            target,
            litellm,
            restore,
            yes,
            timeout,
            ..
        }) => upgrade::upgrade(&target, litellm.as_deref(), restore.as_deref(), yes, &timeout, &p),
    };
    match result {
        Ok(exit) => exit,
        Err(e) => {
            p.error_once(&e);
            e.exit
        }
    }
}

/// Asks `question` on stdout; true when the person types `yes` (any case).
fn confirmed(question: &str) -> bool {
    use std::io::{BufRead, Write};
    print!("{question}");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    answer.trim().eq_ignore_ascii_case("yes")
}
