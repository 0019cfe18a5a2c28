//! The rules for each field of the answers, one each, used by `Answers::check` and by the
//! wizard's forms: each returns the problem, to be placed on a field by its caller.

use std::path::Path;

use crate::error::Error;
use crate::i18n::Msg;
use crate::platform::Os;

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
        // Shown escaped: a line break in it would otherwise break the message too.
        Err(msg!("hardening.problem.image_ref").arg("value", reference.escape_debug()))
    }
}

/// The name clients ask for: any text but an empty one or one with a control character.
/// Returns it trimmed.
pub fn check_model_name(name: Option<&str>) -> Result<&str, Msg> {
    match name.map(str::trim) {
        Some(n) if !n.is_empty() => check_no_control(n).map(|()| n),
        _ => Err(msg!("problem.missing")),
    }
}

/// The provider's model: `provider/model`, no whitespace nor control character.
pub fn check_provider_model(model: Option<&str>) -> Result<(), Msg> {
    match model.map(str::trim) {
        Some(p) if p.contains(char::is_control) => Err(msg!("hardening.problem.control_char")),
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

/// The variables the stack itself writes in `.env`, in the order it writes them. The `.env`
/// builder (`render::env::build`) writes exactly these, so a provider key can never take the
/// name of one of them: this list is the one source of truth for both.
pub const STACK_ENV_KEYS: &[&str] = &[
    "COMPOSE_PROJECT_NAME",
    "LITELLM_MASTER_KEY",
    "LITELLM_SALT_KEY",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "POSTGRES_DB",
    "DATABASE_URL",
    "REDIS_HOST",
    "REDIS_PORT",
    "REDIS_PASSWORD",
];

/// Set by the stack in the LiteLLM container besides `.env` (`stack::Stack`).
pub const STACK_CONTAINER_ENV_KEYS: &[&str] = &["STORE_MODEL_IN_DB", "LITELLM_LOCAL_MODEL_COST_MAP"];

/// Whole families the stack, Compose or the services read: a provider key named so would
/// change how they run (`COMPOSE_FILE`, `DOCKER_HOST`, `POSTGRES_INITDB_ARGS`, `PGPASSWORD`…).
const RESERVED_PREFIXES: &[&str] = &["COMPOSE_", "DOCKER_", "POSTGRES_", "REDIS_", "PG", "PRISMA_"];

/// Names every process depends on: the loader's, the shell's, Python's, the proxy settings
/// and the trust store. A provider key there breaks the LiteLLM container or leaks the key.
const PROCESS_ENV_KEYS: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "PWD",
    "OLDPWD",
    "HOSTNAME",
    "TERM",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TMPDIR",
    "IFS",
    "ENV",
    "BASH_ENV",
    "PS4",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "DIRECT_URL",
];
const PROCESS_ENV_PREFIXES: &[&str] = &["LD_", "LC_", "PYTHON", "DYLD_", "GCONV_", "MALLOC_"];

/// Why `name` may not hold a provider key, if it may not.
pub fn reserved_env_var(name: &str) -> Option<Msg> {
    let upper = name.to_ascii_uppercase();
    let is = |list: &[&str]| list.contains(&upper.as_str());
    let starts = |list: &[&str]| list.iter().any(|p| upper.starts_with(p));
    if is(STACK_ENV_KEYS) || is(STACK_CONTAINER_ENV_KEYS) || starts(RESERVED_PREFIXES) {
        Some(msg!("hardening.reserved.stack"))
    } else if is(PROCESS_ENV_KEYS) || starts(PROCESS_ENV_PREFIXES) {
        Some(msg!("hardening.reserved.process"))
    } else {
        None
    }
}

/// `api_key_env`: the NAME of the variable in `.env` that holds a provider key. What is not a
/// name is never repeated in the message: it is often the key itself, pasted in the wrong place.
pub fn check_api_key_env(v: &str) -> Result<(), Msg> {
    if !is_env_var_name(v) {
        return Err(msg!("hardening.problem.api_key_env_name"));
    }
    match reserved_env_var(v) {
        Some(why) => Err(msg!("hardening.problem.api_key_env_reserved")
            .arg("value", v)
            .nested("why", why)),
        None => Ok(()),
    }
}

/// A provider's base URL: `http://` or `https://` with a host, nothing the URL parser would
/// silently drop (spaces, line breaks).
pub fn check_api_base(b: &str) -> Result<(), Msg> {
    let clean = !b.chars().any(|c| c.is_whitespace() || c.is_control());
    let parsed = url::Url::parse(b).ok();
    let ok = clean
        && parsed
            .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty()))
        // As written, not as repaired: WHATWG parsing reads `http:///v1` as the host `v1`.
        && b.strip_prefix("http://")
            .or_else(|| b.strip_prefix("https://"))
            .is_some_and(|rest| !rest.is_empty() && !rest.starts_with(['/', '?', '#', '@', ':']));
    if ok {
        Ok(())
    } else if !clean {
        Err(msg!("hardening.problem.url_whitespace"))
    } else {
        Err(msg!("problem.url").arg("value", b))
    }
}

pub fn is_env_var_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_uppercase() || c == '_')
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// A Docker image reference: `[registry[:port]/]path(:tag|@sha256:<64 hex>|:tag@sha256:…)`, no
/// whitespace, lower-case repository path. A tag or a digest is required: without one the
/// engine pulls `latest`, which pins nothing. `${…}` and other characters Compose would
/// interpolate cannot appear.
pub fn is_valid_image_reference(s: &str) -> bool {
    if s.is_empty() || s.len() > 512 {
        return false;
    }
    let (name, digest) = match s.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (s, None),
    };
    if let Some(d) = digest {
        let Some(hex) = d.strip_prefix("sha256:") else {
            return false;
        };
        if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)) {
            return false;
        }
    }
    // The tag is after the last ':' that follows the last '/'.
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let (repo, tag) = match name[last_slash..].rfind(':') {
        Some(i) => (&name[..last_slash + i], Some(&name[last_slash + i + 1..])),
        None => (name, None),
    };
    if tag.is_none() && digest.is_none() {
        return false;
    }
    if let Some(tag) = tag {
        let ok = !tag.is_empty()
            && tag.len() <= 128
            && tag.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
            && !tag.starts_with(['.', '-']);
        if !ok {
            return false;
        }
    }
    is_valid_repository(repo)
}

/// `[registry[:port]/]path`, as before a tag: also what `images.mirror` must be.
fn is_valid_repository(repo: &str) -> bool {
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
    !repo.is_empty()
}

/// `images.mirror`: a registry with an optional path (`registry.example.com/hub`), no tag.
pub fn check_image_mirror(m: &str) -> Result<(), Msg> {
    let trimmed = m.trim_end_matches('/');
    let registry = trimmed.split('/').next().unwrap_or_default();
    let looks_like_registry = registry.contains('.') || registry.contains(':') || registry == "localhost";
    // The mirror is a prefix: with a path after it, it must parse as a repository.
    if looks_like_registry && is_valid_repository(&format!("{trimmed}/x")) {
        Ok(())
    } else {
        Err(msg!("hardening.problem.mirror").arg("value", m))
    }
}

/// Any text the answers carry into a generated file: no control character (a line break in a
/// model name or version would end the line it is written on).
pub fn check_no_control(v: &str) -> Result<(), Msg> {
    if v.chars().any(char::is_control) {
        Err(msg!("hardening.problem.control_char"))
    } else {
        Ok(())
    }
}

/// Azure's `api_version`: a date, `YYYY-MM-DD`, optionally followed by `-preview`.
pub fn check_api_version(v: &str) -> Result<(), Msg> {
    let date = v.strip_suffix("-preview").unwrap_or(v);
    let b = date.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let shaped = b.len() == 10 && b[4] == b'-' && b[7] == b'-' && digits(0..4) && digits(5..7) && digits(8..10);
    let plausible = shaped && {
        let month: u32 = date[5..7].parse().unwrap_or(0);
        let day: u32 = date[8..10].parse().unwrap_or(0);
        (1..=12).contains(&month) && (1..=31).contains(&day)
    };
    if plausible {
        Ok(())
    } else if v.chars().any(char::is_control) {
        Err(msg!("hardening.problem.control_char"))
    } else {
        Err(msg!("hardening.problem.api_version").arg("value", v))
    }
}

/// Whether two published ports collide: the same port on the same address, or on an address
/// and the wildcard of its family (`0.0.0.0` takes every IPv4 address; `::` every address,
/// as Linux binds it dual-stack by default).
pub fn ports_collide(a: (&str, u32), b: (&str, u32)) -> bool {
    if a.1 != b.1 {
        return false;
    }
    match (a.0.parse::<std::net::IpAddr>(), b.0.parse::<std::net::IpAddr>()) {
        (Ok(x), Ok(y)) => {
            let v6_any = |ip: std::net::IpAddr| ip.is_ipv6() && ip.is_unspecified();
            x == y
                || v6_any(x)
                || v6_any(y)
                || (x.is_ipv4() == y.is_ipv4() && (x.is_unspecified() || y.is_unspecified()))
        }
        // An address that is not one is refused on its own; compare as text meanwhile.
        _ => a.0 == b.0,
    }
}

/// System folders an install must not take over, as lower-case `/`-separated paths. `Exact`:
/// the folder itself (a folder below it is fine: `/srv/litellm`); `Tree`: anything below too.
const LINUX_EXACT: &[&str] = &[
    "/", "/home", "/media", "/mnt", "/opt", "/root", "/run", "/srv", "/tmp", "/var", "/var/lib", "/var/tmp",
];
const LINUX_TREE: &[&str] = &[
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/proc",
    "/sbin",
    "/sys",
    "/usr",
    "/var/lib/docker",
];
const WINDOWS_EXACT: &[&str] = &["c:", "c:/users", "c:/programdata"];
const WINDOWS_TREE: &[&str] = &["c:/windows", "c:/program files", "c:/program files (x86)"];

/// `p` with `.`, `..` and repeated or trailing separators resolved as text, `/`-separated;
/// lower-cased for Windows, whose paths ignore case.
fn normalized(os: Os, p: &str) -> String {
    let text = if os == Os::Windows {
        p.replace('\\', "/").to_lowercase()
    } else {
        p.to_string()
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in text.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    match os {
        Os::Windows => parts.join("/"),
        Os::Linux => format!("/{}", parts.join("/")),
    }
}

/// The install dir must be a folder of its own: not `/`, a system folder (`/etc`, `/usr`,
/// `C:\Windows`…) nor the home folder itself, whose files the install would mix with its own
/// (and whose `.env` it would take over). Checked as written and, where it exists, as what it
/// resolves to (a link to `/etc` is `/etc`).
pub fn check_install_dir(os: Os, dir: &Path, home: Option<&Path>) -> Result<(), Msg> {
    let mut candidates = vec![normalized(os, &dir.to_string_lossy())];
    if let Ok(real) = std::fs::canonicalize(dir) {
        candidates.push(normalized(os, &real.to_string_lossy()));
    }
    let (exact, tree) = match os {
        Os::Linux => (LINUX_EXACT, LINUX_TREE),
        Os::Windows => (WINDOWS_EXACT, WINDOWS_TREE),
    };
    let home = home.map(|h| normalized(os, &h.to_string_lossy()));
    for c in &candidates {
        let system = exact.contains(&c.as_str())
            || tree.iter().any(|t| c == t || c.starts_with(&format!("{t}/")))
            || (os == Os::Windows && c.len() == 2 && c.ends_with(':'));
        if system {
            return Err(msg!("hardening.problem.dir_system").arg("value", dir.display()));
        }
        if home.as_deref() == Some(c.as_str()) {
            return Err(msg!("hardening.problem.dir_home").arg("value", dir.display()));
        }
    }
    Ok(())
}
