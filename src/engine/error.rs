//! What fails at the engine boundary, as data: the operation, the daemon's HTTP status, the
//! kind of the I/O error under a socket or pipe, and what it means ([`EngineErrorKind`]).
//! Callers match on the kind; the one conversion into the user-facing [`Error`] (what, why,
//! what to do, exit code, in both languages) is here.

use std::io;
use std::path::PathBuf;

use super::connect::Source;
use crate::error::Error;
use crate::i18n::Msg;
use crate::platform::Os;

pub type EngineResult<T> = std::result::Result<T, EngineError>;

/// One failed engine operation.
#[derive(Debug, thiserror::Error)]
#[error("{op}: {detail}")]
pub struct EngineError {
    /// What was asked, in the engine's terms: `ping`, `start litellm-1`, `pull postgres:16`.
    pub op: String,
    pub kind: EngineErrorKind,
    /// The daemon's HTTP status, when it answered with one.
    pub status: Option<u16>,
    /// The kind of the I/O error under a failed socket, pipe or file.
    pub io: Option<io::ErrorKind>,
    /// The engine's (or the transport's) own words, untranslated: shown as the detail.
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineErrorKind {
    /// No engine answered at `endpoint`, the most telling of the endpoints tried.
    Unreachable {
        endpoint: String,
        via: Source,
        why: Unreachable,
        os: Os,
    },
    /// There was no endpoint to try.
    NoEndpoint { os: Os },
    /// 404: no such container, image, network or volume.
    NotFound,
    /// 409: the name is taken, or the object is in use.
    Conflict,
    /// A pull failed; `failure` says whether another attempt may succeed.
    Pull { reference: String, failure: PullFailure },
    /// A local file the engine streams from or to (`images save`, `images load`).
    File { path: PathBuf },
    /// Anything else the daemon or the transport refused.
    Other,
}

/// Why an endpoint did not answer, most telling first: a socket that exists but refuses us
/// says more than a missing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Unreachable {
    PermissionDenied,
    NotResponding,
    Refused,
    /// No socket or pipe at that path.
    NotFound,
    /// The endpoint failed some other way (a bad URL, TLS, an HTTP error on ping).
    Other,
}

impl Unreachable {
    /// From the I/O error kind of the failed connection.
    pub fn from_io(kind: io::ErrorKind) -> Unreachable {
        match kind {
            io::ErrorKind::PermissionDenied => Unreachable::PermissionDenied,
            io::ErrorKind::TimedOut => Unreachable::NotResponding,
            io::ErrorKind::ConnectionRefused => Unreachable::Refused,
            io::ErrorKind::NotFound => Unreachable::NotFound,
            _ => Unreachable::Other,
        }
    }
}

/// Why a pull failed; classified in one place, [`super::pull::pull_failure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullFailure {
    /// The registry has no such image (or tag).
    NotFound,
    /// The registry refused the credentials, or wants some.
    Unauthorized,
    /// The network or the registry hiccuped: another attempt may succeed.
    Transient,
    Other,
}

impl EngineError {
    /// A failure with no status or I/O kind behind it.
    pub fn new(op: impl Into<String>, kind: EngineErrorKind, detail: impl ToString) -> EngineError {
        EngineError {
            op: op.into(),
            kind,
            status: None,
            io: None,
            detail: detail.to_string(),
        }
    }

    /// A local file that could not be read or written.
    pub fn file(op: impl Into<String>, path: &std::path::Path, e: &io::Error) -> EngineError {
        EngineError {
            io: Some(e.kind()),
            ..EngineError::new(
                op,
                EngineErrorKind::File {
                    path: path.to_path_buf(),
                },
                e,
            )
        }
    }

    pub fn pull_failure(&self) -> Option<PullFailure> {
        match self.kind {
            EngineErrorKind::Pull { failure, .. } => Some(failure),
            _ => None,
        }
    }

    /// A pull that another attempt may get through.
    pub fn is_transient(&self) -> bool {
        self.pull_failure() == Some(PullFailure::Transient)
    }
}

/// The kind of the first I/O error in `e`'s chain of sources, preferring a specific kind to
/// `Other`. An `io::Error` wrapping another error hides it from `source()` (it reports the
/// inner error's source instead), so its inner error is looked into directly.
pub fn io_kind_in(e: &(dyn std::error::Error + 'static)) -> Option<io::ErrorKind> {
    let mut found = None;
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            if io.kind() != io::ErrorKind::Other {
                return Some(io.kind());
            }
            if let Some(inner) = io.get_ref().and_then(|i| io_kind_in(i)) {
                if inner != io::ErrorKind::Other {
                    return Some(inner);
                }
            }
            found.get_or_insert(io.kind());
        }
        cur = err.source();
    }
    found
}

impl From<EngineError> for Error {
    fn from(e: EngineError) -> Error {
        match e.kind {
            EngineErrorKind::Unreachable { endpoint, via, why, os } => {
                no_engine_error(&endpoint, &via, why, &e.detail, os)
            }
            EngineErrorKind::NoEndpoint { os } => Error::environment(msg!("engine.connect.none")).hint(start_hint(os)),
            EngineErrorKind::Pull { reference, failure } => pull_error(&reference, failure, &e.detail, "images"),
            EngineErrorKind::File { path } => {
                let io = io::Error::new(e.io.unwrap_or(io::ErrorKind::Other), e.detail);
                Error::io(&path, &io)
            }
            EngineErrorKind::NotFound | EngineErrorKind::Conflict | EngineErrorKind::Other => {
                Error::failed(msg!("engine.api.failed").arg("op", &e.op)).detail(e.detail)
            }
        }
    }
}

/// A failed pull for a person: what the registry said, and the answers field naming the
/// image (`images.litellm`), which the caller knows and the engine does not.
pub fn pull_error(reference: &str, failure: PullFailure, detail: &str, field: &str) -> Error {
    match failure {
        PullFailure::Unauthorized => Error::environment(msg!("engine.images.denied").arg("image", reference))
            .detail(detail)
            .hint(
                msg!("engine.images.denied.hint")
                    .arg("registry", super::pull::registry_host(reference))
                    .arg("field", field),
            ),
        PullFailure::NotFound => Error::input(msg!("engine.images.not_found").arg("image", reference))
            .detail(detail)
            .hint(msg!("engine.images.not_found.hint").arg("field", field)),
        // The registry cannot be reached: the network, a proxy or a mirror is the fix (exit 3).
        PullFailure::Transient | PullFailure::Other => {
            Error::environment(msg!("engine.images.pull_failed").arg("image", reference))
                .detail(detail)
                .hint(msg!("engine.images.pull_failed.hint").arg("field", field))
        }
    }
}

fn start_hint(os: Os) -> Msg {
    match os {
        Os::Windows => msg!("engine.connect.hint.start_desktop"),
        Os::Linux => msg!("engine.connect.hint.start_daemon"),
    }
}

fn start_only_hint(os: Os) -> Msg {
    match os {
        Os::Windows => msg!("engine.connect.hint.start_desktop"),
        Os::Linux => msg!("newcomer.connect.start_daemon_only"),
    }
}

fn no_engine_error(endpoint: &str, via: &Source, why: Unreachable, detail: &str, os: Os) -> Error {
    let what = msg!("engine.connect.failed").arg("endpoint", endpoint);
    let hint = match (why, via) {
        (Unreachable::PermissionDenied, _) if os == Os::Linux => {
            msg!("engine.connect.hint.docker_group").arg("endpoint", endpoint)
        }
        (Unreachable::PermissionDenied, _) => msg!("platform.engine.desktop_group_hint"),
        (_, Source::DockerHost) => msg!("engine.connect.hint.docker_host")
            .arg("endpoint", endpoint)
            .arg(
                "unset",
                match os {
                    Os::Linux => "unset DOCKER_HOST",
                    Os::Windows => "Remove-Item Env:DOCKER_HOST",
                },
            )
            // The engine it names is not this machine's own: starting it is the advice, not
            // installing Docker.
            .nested("start", start_only_hint(os)),
        (_, Source::Context(name)) => msg!("engine.connect.hint.context")
            .arg("context", name)
            .nested("start", start_hint(os)),
        _ => start_hint(os),
    };
    let why = match why {
        Unreachable::PermissionDenied => msg!("engine.connect.why.permission"),
        Unreachable::NotResponding => msg!("engine.connect.why.timeout"),
        Unreachable::Refused => msg!("engine.connect.why.refused"),
        // An endpoint that failed otherwise is worded as a missing one, as it always was.
        Unreachable::NotFound | Unreachable::Other if endpoint.starts_with("npipe:") => {
            msg!("engine.connect.why.no_pipe")
        }
        Unreachable::NotFound | Unreachable::Other => msg!("engine.connect.why.not_found"),
    };
    Error::environment(what.nested("why", why)).detail(detail).hint(hint)
}

/// No engine answers at `endpoint`: exit 3, naming Docker Desktop on Windows, with how to
/// start (or install) it.
pub fn engine_not_running(os: Os, endpoint: &str) -> Error {
    let (what, hint) = match os {
        Os::Windows => (
            key!("platform.engine.desktop_not_running"),
            key!("platform.engine.desktop_start_hint"),
        ),
        Os::Linux => (key!("platform.engine.not_running"), key!("platform.engine.start_hint")),
    };
    Error::environment(Msg::new(what).arg("endpoint", endpoint)).hint(Msg::new(hint))
}

/// The engine is there but refuses this account: exit 3 with the group to join.
pub fn engine_permission_denied(os: Os, endpoint: &str) -> Error {
    let hint = match os {
        Os::Windows => key!("platform.engine.desktop_group_hint"),
        Os::Linux => key!("platform.engine.group_hint"),
    };
    Error::environment(msg!("platform.engine.permission_denied").arg("endpoint", endpoint)).hint(Msg::new(hint))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Exit;
    use crate::i18n::Lang;
    use crate::platform::DOCKER_DESKTOP_PIPE;

    fn unreachable(endpoint: &str, via: Source, why: Unreachable, os: Os) -> Error {
        EngineError::new(
            "ping",
            EngineErrorKind::Unreachable {
                endpoint: endpoint.into(),
                via,
                why,
                os,
            },
            "the transport's words",
        )
        .into()
    }

    #[test]
    fn io_kinds_say_why_an_endpoint_did_not_answer() {
        assert_eq!(
            Unreachable::from_io(io::ErrorKind::PermissionDenied),
            Unreachable::PermissionDenied
        );
        assert_eq!(
            Unreachable::from_io(io::ErrorKind::ConnectionRefused),
            Unreachable::Refused
        );
        assert_eq!(Unreachable::from_io(io::ErrorKind::NotFound), Unreachable::NotFound);
        assert_eq!(
            Unreachable::from_io(io::ErrorKind::TimedOut),
            Unreachable::NotResponding
        );
        assert_eq!(Unreachable::from_io(io::ErrorKind::AddrInUse), Unreachable::Other);
        assert!(
            Unreachable::PermissionDenied < Unreachable::NotFound,
            "most telling first"
        );
    }

    #[test]
    fn the_io_kind_is_found_under_wrapping_errors() {
        #[derive(Debug, thiserror::Error)]
        #[error("client error (Connect)")]
        struct Wrapper(#[source] io::Error);
        let inner = io::Error::from(io::ErrorKind::ConnectionRefused);
        let e = Wrapper(io::Error::other(inner));
        assert_eq!(io_kind_in(&e), Some(io::ErrorKind::ConnectionRefused));
        assert_eq!(io_kind_in(&std::fmt::Error), None);
    }

    #[test]
    fn permission_denied_gets_the_docker_group_hint_on_linux_and_docker_users_on_windows() {
        let e = unreachable(
            "unix:///var/run/docker.sock",
            Source::Default,
            Unreachable::PermissionDenied,
            Os::Linux,
        );
        assert_eq!(e.exit, Exit::Environment);
        assert!(e.render(Lang::En).contains("usermod -aG docker"));
        let w = unreachable(
            DOCKER_DESKTOP_PIPE,
            Source::Default,
            Unreachable::PermissionDenied,
            Os::Windows,
        );
        assert!(w.render(Lang::En).contains("docker-users"), "{}", w.render(Lang::En));
    }

    #[test]
    fn a_missing_socket_named_by_docker_host_says_how_to_unset_it() {
        let e = unreachable(
            "unix:///nonexistent.sock",
            Source::DockerHost,
            Unreachable::NotFound,
            Os::Linux,
        );
        assert_eq!(e.exit, Exit::Environment);
        let text = e.render(Lang::En);
        assert!(
            text.contains("unix:///nonexistent.sock") && text.contains("unset DOCKER_HOST"),
            "{text}"
        );
        assert!(text.contains("systemctl start docker"), "{text}");
        assert!(
            !text.contains("apt-get install"),
            "Docker is not missing, DOCKER_HOST is wrong: {text}"
        );
        assert!(text.contains("the transport's words"), "the detail is kept: {text}");
    }

    #[test]
    fn a_missing_pipe_is_named_as_docker_desktop_not_running() {
        let e = unreachable(DOCKER_DESKTOP_PIPE, Source::Default, Unreachable::Other, Os::Windows);
        assert_eq!(e.what.key, "engine.connect.failed");
        let text = e.render(Lang::En);
        assert!(text.contains("Docker Desktop"), "{text}");
    }

    #[test]
    fn pull_failures_become_the_exit_code_that_fits() {
        let pull = |failure| -> Error {
            EngineError::new(
                "pull x:1",
                EngineErrorKind::Pull {
                    reference: "x:1".into(),
                    failure,
                },
                "daemon text",
            )
            .into()
        };
        let not_found = pull(PullFailure::NotFound);
        assert_eq!(
            (not_found.exit, not_found.what.key),
            (Exit::Input, "engine.images.not_found")
        );
        let denied = pull(PullFailure::Unauthorized);
        assert_eq!(
            (denied.exit, denied.what.key),
            (Exit::Environment, "engine.images.denied")
        );
        assert!(denied.render(Lang::En).contains("docker login docker.io"));
        for failure in [PullFailure::Transient, PullFailure::Other] {
            let e = pull(failure);
            assert_eq!((e.exit, e.what.key), (Exit::Environment, "engine.images.pull_failed"));
            assert_eq!(e.detail.as_deref(), Some("daemon text"));
        }
        let field = pull_error("x:1", PullFailure::NotFound, "d", "images.redis").render(Lang::En);
        assert!(field.contains("images.redis"), "{field}");
    }

    #[test]
    fn other_api_failures_name_the_operation_and_exit_1() {
        for kind in [
            EngineErrorKind::NotFound,
            EngineErrorKind::Conflict,
            EngineErrorKind::Other,
        ] {
            let e: Error = EngineError {
                status: Some(409),
                ..EngineError::new("create container litellm-1", kind, "Conflict. The name is in use")
            }
            .into();
            assert_eq!(e.exit, Exit::Failed);
            let text = e.render(Lang::En);
            assert!(text.contains("create container litellm-1"), "{text}");
            assert!(text.contains("The name is in use"), "{text}");
        }
    }

    #[test]
    fn a_file_failure_keeps_its_permission_hint() {
        let denied = io::Error::from(io::ErrorKind::PermissionDenied);
        let e: Error = EngineError::file("save images", std::path::Path::new("/x/images.tar"), &denied).into();
        assert_eq!(e.exit, Exit::Environment);
        assert_eq!(e.hint.map(|h| h.key), Some("hint.permission"));
    }

    #[test]
    fn only_a_transient_pull_is_worth_another_attempt() {
        let e = |failure| {
            EngineError::new(
                "pull x",
                EngineErrorKind::Pull {
                    reference: "x".into(),
                    failure,
                },
                "",
            )
        };
        assert!(e(PullFailure::Transient).is_transient());
        assert!(!e(PullFailure::NotFound).is_transient());
        assert!(!EngineError::new("start x", EngineErrorKind::Other, "").is_transient());
    }

    #[test]
    fn no_engine_on_windows_names_docker_desktop_and_exits_3() {
        let e = engine_not_running(Os::Windows, DOCKER_DESKTOP_PIPE);
        assert_eq!(e.exit, Exit::Environment);
        for lang in Lang::ALL {
            let text = e.render(lang);
            assert!(text.contains("Docker Desktop"), "{text}");
            assert!(text.contains("npipe:////./pipe/docker_engine"), "{text}");
        }
        let linux = engine_not_running(Os::Linux, "unix:///var/run/docker.sock").render(Lang::En);
        assert!(
            linux.contains("systemctl start docker") && !linux.contains("Docker Desktop"),
            "{linux}"
        );
    }

    #[test]
    fn permission_hint_fits_each_os() {
        let w = engine_permission_denied(Os::Windows, DOCKER_DESKTOP_PIPE).render(Lang::En);
        assert!(w.contains("docker-users") && !w.contains("usermod"), "{w}");
        let l = engine_permission_denied(Os::Linux, "unix:///var/run/docker.sock").render(Lang::En);
        assert!(l.contains("usermod -aG docker"), "{l}");
    }
}
