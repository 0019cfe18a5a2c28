//! One function per command; each returns its exit status. Front-end work only: the install
//! logic lives in `steps`, the files in `render`, the engine in `engine`.

pub mod files;

use crate::cli::{Cli, Command};
use crate::error::Exit;
use crate::i18n::Lang;
use crate::output::Printer;

pub fn run(cli: Cli) -> Exit {
    let lang = cli.lang.unwrap_or_else(Lang::from_env);
    let result = match cli.command {
        None => {
            let p = Printer::new(lang, false);
            p.line(&crate::i18n::t(lang, "cli.no_command"));
            Ok(Exit::Ok)
        }
        Some(Command::Render { target, json }) => files::render(&target, &Printer::new(lang, json)),
        Some(Command::Plan { target, json }) => files::plan(&target, &Printer::new(lang, json)),
    };
    match result {
        Ok(exit) => exit,
        Err(e) => {
            Printer::new(lang, false).error(&e);
            e.exit
        }
    }
}
