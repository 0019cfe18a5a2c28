//! The one error type a user sees: what went wrong, why, what to do, and the exit code.

use std::fmt;

use crate::i18n::{Lang, Msg};

/// Exit statuses, as `design.md` fixes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    /// The stack did not come up, or a command failed at run time.
    Failed = 1,
    /// Invalid input: answers, flags, files.
    Input = 2,
    /// The environment is not ready: no engine, port taken, no disk.
    Environment = 3,
    /// The user stopped the run (Ctrl-C, quit during the install): 128 + SIGINT, as shells do.
    Interrupted = 130,
}

impl Exit {
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// A failure explained for a person. `what` names the field or file and the problem; `hint`
/// says what to do. `detail` carries text from elsewhere (a parser, the engine) untranslated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub exit: Exit,
    pub what: Msg,
    pub hint: Option<Msg>,
    pub detail: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn input(what: Msg) -> Error {
        Error {
            exit: Exit::Input,
            what,
            hint: None,
            detail: None,
        }
    }
    pub fn environment(what: Msg) -> Error {
        Error {
            exit: Exit::Environment,
            what,
            hint: None,
            detail: None,
        }
    }
    pub fn interrupted(what: Msg) -> Error {
        Error {
            exit: Exit::Interrupted,
            what,
            hint: None,
            detail: None,
        }
    }

    pub fn failed(what: Msg) -> Error {
        Error {
            exit: Exit::Failed,
            what,
            hint: None,
            detail: None,
        }
    }
    pub fn hint(mut self, hint: Msg) -> Error {
        self.hint = Some(hint);
        self
    }
    pub fn detail(mut self, detail: impl ToString) -> Error {
        self.detail = Some(detail.to_string());
        self
    }

    /// The message in `lang`: problem, then detail, then what to do.
    pub fn render(&self, lang: Lang) -> String {
        let mut out = self.what.text(lang);
        if let Some(d) = &self.detail {
            out.push_str("\n  ");
            out.push_str(&d.replace('\n', "\n  "));
        }
        if let Some(h) = &self.hint {
            out.push('\n');
            out.push_str(&msg!("label.fix").text(lang));
            out.push_str(&h.text(lang));
        }
        out
    }

    /// An I/O failure on a file of the install: environment trouble (permissions, disk).
    pub fn io(path: &std::path::Path, e: &std::io::Error) -> Error {
        use std::io::ErrorKind;
        let hint = match e.kind() {
            ErrorKind::PermissionDenied => msg!("hint.permission").arg("path", path.display()),
            ErrorKind::AlreadyExists => msg!("hardening.hint.io_exists").arg("path", path.display()),
            ErrorKind::IsADirectory => msg!("hardening.hint.io_is_dir").arg("path", path.display()),
            ErrorKind::NotADirectory => msg!("hardening.hint.io_not_dir").arg("path", path.display()),
            _ => msg!("hint.io"),
        };
        Error::environment(msg!("error.io").arg("path", path.display()))
            .detail(e)
            .hint(hint)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(Lang::En))
    }
}

impl std::error::Error for Error {}
