//! One function per command; each returns its exit status. Front-end work only: the install
//! logic lives in `steps`, the files in `render`, the engine in `engine`, and every line a
//! command prints goes through its one `report::Printer`.

pub mod files;
pub mod install;
pub mod stack;
pub mod verify;
pub mod wizard;

use crate::cli::{Cli, Command, ImagesAction};
use crate::error::Exit;
use crate::i18n::Lang;
use crate::report::{Printer, StepStyle};

/// The printer of a command: JSON lines where the command has `--json` and asks for them.
fn printer(lang: Lang, command: Option<&Command>) -> Printer {
    match command {
        Some(Command::Install(args)) => Printer::new(lang, args.json),
        Some(Command::Render { json, .. } | Command::Plan { json, .. } | Command::Status { json, .. }) => {
            Printer::new(lang, *json)
        }
        Some(Command::Verify { json, .. }) => Printer::new(lang, *json).with_style(StepStyle::Checks),
        None
        | Some(Command::Logs { .. } | Command::Down { .. } | Command::Uninstall { .. } | Command::Images { .. }) => {
            Printer::new(lang, false)
        }
    }
}

pub fn run(cli: Cli) -> Exit {
    let lang = cli.lang.unwrap_or_else(Lang::from_env);
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
        Some(Command::Images {
            action: ImagesAction::Save { file, target },
        }) => stack::images_save(&target, &file, &p),
    };
    match result {
        Ok(exit) => exit,
        Err(e) => {
            p.error_once(&e);
            e.exit
        }
    }
}
