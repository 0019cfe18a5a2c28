//! Starting the wizard: on a terminal, `litellm-stack` and `litellm-stack install` without
//! `--yes`/`--answers` run it; elsewhere they say how to run unattended.

use std::io::IsTerminal;

use crate::cli::InstallArgs;
use crate::error::{Exit, Result};
use crate::i18n::{Lang, t};
use crate::output::Printer;

pub fn wants_wizard(args: &InstallArgs) -> bool {
    !args.yes && !args.json && std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

pub fn run_default(lang: Lang) -> Result<Exit> {
    Printer::new(lang, false).line(&t(lang, "cli.no_command"));
    Ok(Exit::Ok)
}

pub fn run_install(lang: Lang, args: &InstallArgs) -> Result<Exit> {
    super::install::run(lang, args)
}
