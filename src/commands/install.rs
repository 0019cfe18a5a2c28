//! `install`, unattended: runs the step plan and prints its events.

use crate::cli::InstallArgs;
use crate::error::{Error, Exit, Result};
use crate::i18n::{Lang, Msg};

pub fn run(_lang: Lang, _args: &InstallArgs) -> Result<Exit> {
    Err(Error::failed(Msg::new("error.not_built_yet")))
}
