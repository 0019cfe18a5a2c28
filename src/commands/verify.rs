//! `verify`: readiness and the API test against a running stack (SOP steps F and G).

use crate::cli::Target;
use crate::error::{Error, Exit, Result};
use crate::i18n::Msg;
use crate::output::Printer;

pub fn run(_t: &Target, _timeout: &str, _p: &Printer) -> Result<Exit> {
    Err(Error::failed(Msg::new("error.not_built_yet")))
}
