//! bollard's errors as [`EngineError`]s: the daemon's status, the socket's I/O error kind,
//! and for a ping what kept the endpoint from answering.

use std::time::Duration;

use bollard::errors::Error as BollardError;

use super::connect::Unanswered;
use super::error::{EngineError, EngineErrorKind, Unreachable, io_kind_in};
use super::pull::pull_failure;

/// An engine call that failed: which operation, the daemon's status or the socket's I/O
/// error kind, and the engine's own words.
pub(super) fn api_error(op: impl Into<String>, e: BollardError) -> EngineError {
    let status = status_of(&e);
    let kind = match status {
        Some(404) => EngineErrorKind::NotFound,
        Some(409) => EngineErrorKind::Conflict,
        _ => EngineErrorKind::Other,
    };
    EngineError {
        status,
        io: io_kind(&e),
        ..EngineError::new(op, kind, &e)
    }
}

/// A failed pull, whatever failed: classified by [`pull_failure`].
pub(super) fn pull_error(reference: &str, e: BollardError) -> EngineError {
    let (status, io) = (status_of(&e), io_kind(&e));
    let message = match &e {
        BollardError::DockerResponseServerError { message, .. } => message.clone(),
        BollardError::DockerStreamError { error } => error.clone(),
        other => other.to_string(),
    };
    let kind = EngineErrorKind::Pull {
        reference: reference.to_string(),
        failure: pull_failure(status, io, &message),
    };
    EngineError {
        status,
        io,
        ..EngineError::new(format!("pull {reference}"), kind, &e)
    }
}

pub(super) fn status_of(e: &BollardError) -> Option<u16> {
    match e {
        BollardError::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

/// The I/O error kind under a transport failure. bollard's `IOError` is `transparent`, so its
/// `source()` skips the `io::Error` it holds: that one is asked directly. bollard's own request
/// timeout counts as `TimedOut`.
pub(super) fn io_kind(e: &BollardError) -> Option<std::io::ErrorKind> {
    match e {
        BollardError::IOError { err } => Some(err.kind()),
        BollardError::RequestTimeoutError => Some(std::io::ErrorKind::TimedOut),
        other => io_kind_in(other),
    }
}

/// Why a ping (or the version negotiation after it) got no answer.
pub(super) fn unanswered(e: BollardError) -> Unanswered {
    let io = io_kind(&e);
    let why = match (&e, io) {
        // bollard looks for the socket file before connecting.
        (BollardError::SocketNotFoundError(_), _) => Unreachable::NotFound,
        (_, Some(kind)) => Unreachable::from_io(kind),
        _ => Unreachable::Other,
    };
    Unanswered {
        why,
        io,
        status: status_of(&e),
        detail: e.to_string(),
    }
}

pub(super) fn timed_out(host: &str, after: Duration) -> Unanswered {
    Unanswered {
        why: Unreachable::NotResponding,
        io: Some(std::io::ErrorKind::TimedOut),
        status: None,
        detail: format!("{host}: timed out after {} s", after.as_secs()),
    }
}

pub(super) fn is_not_found(e: &BollardError) -> bool {
    matches!(e, BollardError::DockerResponseServerError { status_code: 404, .. })
}
