//! Starting the wizard: on a terminal, `litellm-stack` and `litellm-stack install` without
//! `--yes`/`--json` run it (prefilled from `--answers`/`--dir` when given); without a
//! terminal they say how to run unattended.

use std::io::IsTerminal;

use crate::cli::InstallArgs;
use crate::error::{Exit, Result};
use crate::i18n::{Lang, t};
use crate::report::Printer;

fn on_terminal() -> bool {
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

pub fn wants_wizard(args: &InstallArgs) -> bool {
    !args.yes && !args.json && on_terminal()
}

/// `litellm-stack` alone: the wizard on a terminal; elsewhere, how to run unattended (exit 2:
/// nothing was done, the command line must change).
pub fn run_default(lang: Lang) -> Result<Exit> {
    if on_terminal() {
        return crate::tui::run(lang, &InstallArgs::default());
    }
    Printer::new(lang, false).line(&t(lang, key!("wizard.no_terminal")));
    Ok(Exit::Input)
}

pub fn run_install(lang: Lang, args: &InstallArgs) -> Result<Exit> {
    crate::tui::run(lang, args)
}
