//! Why `host-test lease` failed, as the one line it prints on stderr: the error case, and for an
//! API status its kind and HTTP code (`api server 503: …`).

use std::fmt;
use std::time::Duration;

use crate::host::{ApiStatus, LeaseError, StatusKind};

/// Why `host-test lease` failed.
#[derive(Debug)]
pub enum Failure {
    /// The command line is wrong.
    Usage(String),
    /// The host could not run the component (unreadable file, compile error, trap).
    Host(String),
    /// The component's typed error.
    Lease(LeaseError),
    /// `get` found no lease of that name (the component's `none`, from a 404).
    Absent {
        /// The lease's name.
        name: String,
        /// The namespace it was looked for in.
        namespace: String,
    },
    /// `lock` did not get the lease: another live holder has it.
    Held {
        /// The lease's name.
        name: String,
        /// Its holder as last read (empty when the read found none: it was just released).
        holder: String,
        /// How long `lock` waited (`--wait`).
        waited: Duration,
    },
    /// `unlock` found the lease held by someone else (or by nobody).
    NotHolder {
        /// The lease's name.
        name: String,
        /// Whose hold `unlock` was asked to release.
        identity: String,
        /// The actual holder, if any.
        holder: Option<String>,
    },
}

impl From<LeaseError> for Failure {
    fn from(e: LeaseError) -> Self {
        Failure::Lease(e)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Usage(why) => write!(f, "usage: {why} (see host-test --help)"),
            Failure::Host(why) => write!(f, "host: {why}"),
            Failure::Absent { name, namespace } => write!(
                f,
                "api not-found 404: lease {name:?} not found in namespace {namespace:?}"
            ),
            Failure::Lease(LeaseError::Api(status)) => api(f, status),
            Failure::Lease(LeaseError::Transport(m)) => write!(f, "transport: {m}"),
            Failure::Lease(LeaseError::Timeout(m)) => write!(f, "timeout: {m}"),
            Failure::Lease(LeaseError::Config(m)) => write!(f, "config: {m}"),
            Failure::Lease(LeaseError::Decode(m)) => write!(f, "decode: {m}"),
            Failure::Lease(LeaseError::InvalidArgument(m)) => write!(f, "invalid-argument: {m}"),
            Failure::Lease(LeaseError::Lost(m)) => write!(f, "lost: {m}"),
            Failure::Held {
                name,
                holder,
                waited,
            } => {
                write!(f, "held: lease {name:?} is held by {holder:?}")?;
                if waited.is_zero() {
                    f.write_str(" (try --wait SECONDS)")
                } else {
                    write!(f, " after waiting {:.1} s", waited.as_secs_f64())
                }
            }
            Failure::NotHolder {
                name,
                identity,
                holder: Some(holder),
            } => write!(
                f,
                "not-holder: lease {name:?} is held by {holder:?}, not {identity:?}"
            ),
            Failure::NotHolder {
                name,
                identity,
                holder: None,
            } => write!(
                f,
                "not-holder: lease {name:?} has no holder, so none of {identity:?} to release"
            ),
        }
    }
}

/// `api KIND CODE: message`, the reason when there is no message, and the server's wait.
fn api(f: &mut fmt::Formatter<'_>, status: &ApiStatus) -> fmt::Result {
    write!(f, "api {} {}: ", kind_name(status.kind), status.code)?;
    match (status.message.is_empty(), status.reason.is_empty()) {
        (false, _) => f.write_str(&status.message)?,
        (true, false) => f.write_str(&status.reason)?,
        (true, true) => f.write_str("(no message)")?,
    }
    for cause in &status.causes {
        write!(f, "; {}: {}", cause.field, cause.message)?;
    }
    match status.retry_after_seconds {
        Some(seconds) => write!(f, " (retry after {seconds}s)"),
        None => Ok(()),
    }
}

/// The WIT case name of a status kind.
fn kind_name(kind: StatusKind) -> &'static str {
    match kind {
        StatusKind::NotFound => "not-found",
        StatusKind::AlreadyExists => "already-exists",
        StatusKind::Conflict => "conflict",
        StatusKind::Invalid => "invalid",
        StatusKind::BadRequest => "bad-request",
        StatusKind::Unauthorized => "unauthorized",
        StatusKind::Forbidden => "forbidden",
        StatusKind::TooManyRequests => "too-many-requests",
        StatusKind::Server => "server",
        StatusKind::OtherStatus => "other-status",
    }
}

/// `error: ` and the failure on one line: line breaks and other control characters become
/// spaces (a server's message may be a plain-text or HTML page).
pub fn error_line(failure: &Failure) -> String {
    let text = failure.to_string();
    let mut line = String::with_capacity(text.len() + 7);
    line.push_str("error: ");
    line.extend(text.chars().map(|c| if c.is_control() { ' ' } else { c }));
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::StatusCause;

    fn status(kind: StatusKind, code: u16, message: &str) -> ApiStatus {
        ApiStatus {
            kind,
            code,
            reason: String::new(),
            message: message.into(),
            causes: Vec::new(),
            retry_after_seconds: None,
        }
    }

    fn line(e: LeaseError) -> String {
        error_line(&Failure::Lease(e))
    }

    #[test]
    fn api_errors_name_kind_and_code() {
        let mut s = status(
            StatusKind::TooManyRequests,
            429,
            "Too many requests,\nslow down",
        );
        s.retry_after_seconds = Some(2);
        assert_eq!(
            line(LeaseError::Api(s)),
            "error: api too-many-requests 429: Too many requests, slow down (retry after 2s)"
        );
        let mut s = status(StatusKind::Invalid, 422, "Lease \"x\" is invalid");
        s.causes.push(StatusCause {
            reason: "FieldValueInvalid".into(),
            message: "must be greater than 0".into(),
            field: "spec.leaseDurationSeconds".into(),
        });
        assert_eq!(
            line(LeaseError::Api(s)),
            "error: api invalid 422: Lease \"x\" is invalid; spec.leaseDurationSeconds: must be greater than 0"
        );
        let mut s = status(StatusKind::Server, 503, "");
        s.reason = "ServiceUnavailable".into();
        assert_eq!(
            line(LeaseError::Api(s)),
            "error: api server 503: ServiceUnavailable"
        );
        assert_eq!(
            line(LeaseError::Api(status(StatusKind::OtherStatus, 418, ""))),
            "error: api other-status 418: (no message)"
        );
    }

    #[test]
    fn other_cases_are_named() {
        for (e, want) in [
            (
                LeaseError::Transport("refused".into()),
                "error: transport: refused",
            ),
            (LeaseError::Timeout("10 s".into()), "error: timeout: 10 s"),
            (
                LeaseError::Config("no token".into()),
                "error: config: no token",
            ),
            (
                LeaseError::Decode("not json".into()),
                "error: decode: not json",
            ),
            (
                LeaseError::InvalidArgument("name".into()),
                "error: invalid-argument: name",
            ),
            (
                LeaseError::Lost("taken by b".into()),
                "error: lost: taken by b",
            ),
        ] {
            assert_eq!(line(e), want);
        }
        let absent = Failure::Absent {
            name: "x".into(),
            namespace: "ns".into(),
        };
        assert_eq!(
            error_line(&absent),
            r#"error: api not-found 404: lease "x" not found in namespace "ns""#
        );
        let held = |waited| Failure::Held {
            name: "x".into(),
            holder: "a".into(),
            waited,
        };
        assert_eq!(
            error_line(&held(Duration::ZERO)),
            r#"error: held: lease "x" is held by "a" (try --wait SECONDS)"#
        );
        assert_eq!(
            error_line(&held(Duration::from_millis(2500))),
            r#"error: held: lease "x" is held by "a" after waiting 2.5 s"#
        );
        let not_holder = |holder: Option<&str>| Failure::NotHolder {
            name: "x".into(),
            identity: "me".into(),
            holder: holder.map(str::to_owned),
        };
        assert_eq!(
            error_line(&not_holder(Some("b"))),
            r#"error: not-holder: lease "x" is held by "b", not "me""#
        );
        assert_eq!(
            error_line(&not_holder(None)),
            r#"error: not-holder: lease "x" has no holder, so none of "me" to release"#
        );
        assert_eq!(
            error_line(&Failure::Usage("list\r\nextra".into())),
            "error: usage: list  extra (see host-test --help)"
        );
    }
}
