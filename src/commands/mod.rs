//! One function per command; each returns its exit status. Front-end work only: the install
//! logic lives in `steps`, the files in `render`, the engine in `engine`.

pub mod files;
pub mod install;
pub mod stack;
pub mod verify;
pub mod wizard;

use crate::cli::{Cli, Command, ImagesAction};
use crate::error::Exit;
use crate::i18n::Lang;
use crate::output::Printer;

pub fn run(cli: Cli) -> Exit {
    let lang = cli.lang.unwrap_or_else(Lang::from_env);
    let result = match cli.command {
        None => wizard::run_default(lang),
        Some(Command::Install(args)) => {
            if wizard::wants_wizard(&args) {
                wizard::run_install(lang, &args)
            } else {
                install::run(lang, &args)
            }
        }
        Some(Command::Render { target, json }) => files::render(&target, &Printer::new(lang, json)),
        Some(Command::Plan { target, json }) => files::plan(&target, &Printer::new(lang, json)),
        Some(Command::Status { target, json }) => stack::status(&target, &Printer::new(lang, json)),
        Some(Command::Logs {
            service,
            target,
            tail,
            follow,
        }) => stack::logs(&target, service.as_deref(), tail, follow, &Printer::new(lang, false)),
        Some(Command::Down { target }) => stack::down(&target, &Printer::new(lang, false)),
        Some(Command::Uninstall { target, purge, yes }) => {
            stack::uninstall(&target, purge, yes, &Printer::new(lang, false))
        }
        Some(Command::Verify { target, timeout, json }) => verify::run(&target, &timeout, &Printer::new(lang, json)),
        Some(Command::Images {
            action: ImagesAction::Save { file, target },
        }) => stack::images_save(&target, &file, &Printer::new(lang, false)),
    };
    match result {
        Ok(exit) => exit,
        Err(e) => {
            Printer::new(lang, false).error(&e);
            e.exit
        }
    }
}
