//! The rules for each field of the answers, one each, used by `Answers::check` and by the
//! wizard's forms: each returns the problem, to be placed on a field by its caller.

use crate::error::Error;
use crate::i18n::Msg;

/// A problem with one field of the answers: the field as the answers file names it
/// (`models[0].name`), what is wrong, and a value that would do. The wizard shows `problem` on
/// its own screen; everyone else gets it as the user-facing `Error` (exit 2).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub field: String,
    pub problem: Msg,
    pub example: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, problem: Msg, example: impl std::fmt::Display) -> FieldError {
        FieldError {
            field: field.into(),
            problem,
            example: example.to_string(),
        }
    }
}

impl From<FieldError> for Error {
    fn from(e: FieldError) -> Error {
        Error::input(
            msg!("error.answers.field")
                .arg("field", &e.field)
                .nested("problem", e.problem),
        )
        .hint(msg!("hint.answers.field_example").arg("example", &e.example))
    }
}

/// A Compose project name: lower-case letters, digits, `_` and `-`, starting with a letter or
/// digit.
pub fn check_project_name(p: &str) -> Result<(), Msg> {
    let ok = p
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && p.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(msg!("problem.project_name").arg("value", p))
    }
}

pub fn check_port(port: u32) -> Result<(), Msg> {
    if (1..=65535).contains(&port) {
        Ok(())
    } else {
        Err(msg!("problem.port_range").arg("value", port))
    }
}

pub fn check_bind_addr(addr: &str) -> Result<(), Msg> {
    match addr.parse::<std::net::IpAddr>() {
        Ok(_) => Ok(()),
        Err(_) => Err(msg!("problem.bind_addr").arg("value", addr)),
    }
}

pub fn check_image_reference(reference: &str) -> Result<(), Msg> {
    if is_valid_image_reference(reference) {
        Ok(())
    } else {
        Err(msg!("problem.image_ref").arg("value", reference))
    }
}

/// The name clients ask for: any text but an empty one. Returns it trimmed.
pub fn check_model_name(name: Option<&str>) -> Result<&str, Msg> {
    match name.map(str::trim) {
        Some(n) if !n.is_empty() => Ok(n),
        _ => Err(msg!("problem.missing")),
    }
}

/// The provider's model: `provider/model`, no whitespace.
pub fn check_provider_model(model: Option<&str>) -> Result<(), Msg> {
    match model.map(str::trim) {
        Some(p) if p.contains('/') && !p.contains(char::is_whitespace) => Ok(()),
        Some(p) if !p.is_empty() => Err(msg!("problem.provider_model").arg("value", p)),
        _ => Err(msg!("problem.missing")),
    }
}

pub fn check_env_var_name(v: &str) -> Result<(), Msg> {
    if is_env_var_name(v) {
        Ok(())
    } else {
        Err(msg!("problem.env_var_name").arg("value", v))
    }
}

/// A provider's base URL: `http://` or `https://`, no whitespace.
pub fn check_api_base(b: &str) -> Result<(), Msg> {
    if (b.starts_with("http://") || b.starts_with("https://")) && !b.contains(char::is_whitespace) {
        Ok(())
    } else {
        Err(msg!("problem.url").arg("value", b))
    }
}

pub fn is_env_var_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_uppercase() || c == '_')
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// A Docker image reference: `[registry[:port]/]path[:tag][@digest]`, no whitespace, lower-case
/// repository path.
pub fn is_valid_image_reference(s: &str) -> bool {
    if s.is_empty() || s.len() > 512 {
        return false;
    }
    let (name, digest) = match s.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (s, None),
    };
    if let Some(d) = digest {
        let Some((algo, hex)) = d.split_once(':') else {
            return false;
        };
        if algo.is_empty() || hex.len() < 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return false;
        }
    }
    // The tag is after the last ':' that follows the last '/'.
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let (repo, tag) = match name[last_slash..].rfind(':') {
        Some(i) => (&name[..last_slash + i], Some(&name[last_slash + i + 1..])),
        None => (name, None),
    };
    if let Some(tag) = tag {
        let ok = !tag.is_empty()
            && tag.len() <= 128
            && tag.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
            && !tag.starts_with(['.', '-']);
        if !ok {
            return false;
        }
    }
    let mut parts = repo.split('/').peekable();
    let mut first = true;
    while let Some(part) = parts.next() {
        let is_registry =
            first && parts.peek().is_some() && (part.contains('.') || part.contains(':') || part == "localhost");
        first = false;
        let ok = if is_registry {
            !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || ".-:".contains(c))
        } else {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
                && part.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        };
        if !ok {
            return false;
        }
    }
    true
}
