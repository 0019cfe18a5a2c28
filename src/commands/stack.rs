//! Day-to-day commands on an installed stack: status, logs, down, uninstall, images.

use std::path::Path;

use crate::cli::Target;
use crate::error::{Error, Exit, Result};
use crate::i18n::Msg;
use crate::output::Printer;

fn not_yet() -> Result<Exit> {
    Err(Error::failed(Msg::new("error.not_built_yet")))
}

pub fn status(_t: &Target, _p: &Printer) -> Result<Exit> {
    not_yet()
}
pub fn logs(_t: &Target, _service: Option<&str>, _tail: usize, _follow: bool, _p: &Printer) -> Result<Exit> {
    not_yet()
}
pub fn down(_t: &Target, _p: &Printer) -> Result<Exit> {
    not_yet()
}
pub fn uninstall(_t: &Target, _purge: bool, _yes: bool, _p: &Printer) -> Result<Exit> {
    not_yet()
}
pub fn images_save(_t: &Target, _file: &Path, _p: &Printer) -> Result<Exit> {
    not_yet()
}
