//! Every way an operation can fail, as data: API errors carry the server's Status.

use crate::prelude::*;

use core::fmt;

/// One cause of an `Invalid` status: which field is wrong and why.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatusCause {
    /// The field error type, e.g. `FieldValueInvalid`.
    pub reason: String,
    /// What is wrong with the value.
    pub message: String,
    /// The field path, e.g. `spec.leaseDurationSeconds`.
    pub field: String,
}

/// What the server said about a failed request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApiStatus {
    /// The HTTP status code.
    pub code: u16,
    /// The Kubernetes `reason`; empty when the body was not a Status.
    pub reason: String,
    /// The Status `message`, or the first 1024 bytes of a body that was not a Status.
    pub message: String,
    /// `details.causes`.
    pub causes: Vec<StatusCause>,
    /// From the `Retry-After` header, else `details.retryAfterSeconds`.
    pub retry_after_seconds: Option<u32>,
}

/// Why an operation failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// 404: the lease (or namespace) does not exist.
    NotFound(ApiStatus),
    /// 409 on create: a lease of that name exists.
    AlreadyExists(ApiStatus),
    /// 409 on update or delete: stale resourceVersion or failed precondition.
    Conflict(ApiStatus),
    /// 422: the server rejected the object.
    Invalid(ApiStatus),
    /// 400: the server could not accept the request body.
    BadRequest(ApiStatus),
    /// 401: the token was missing, wrong or expired.
    Unauthorized(ApiStatus),
    /// 403: the service account may not do this.
    Forbidden(ApiStatus),
    /// 429: throttled.
    TooManyRequests(ApiStatus),
    /// 5xx: the server failed.
    Server(ApiStatus),
    /// Any other non-success status.
    OtherStatus(ApiStatus),
    /// The connection failed.
    Transport(String),
    /// No complete answer within the request timeout.
    Timeout(String),
    /// Missing or bad configuration.
    Config(String),
    /// The response body was not what the operation expects.
    Decode(String),
    /// The call was refused before any request.
    InvalidArgument(String),
}

/// Matches the cases that carry an [`ApiStatus`] (`Some(status)`) or a message (`None` arm).
macro_rules! by_payload {
    ($e:expr, $s:ident => $api:expr, $m:ident => $local:expr) => {
        match $e {
            Error::NotFound($s)
            | Error::AlreadyExists($s)
            | Error::Conflict($s)
            | Error::Invalid($s)
            | Error::BadRequest($s)
            | Error::Unauthorized($s)
            | Error::Forbidden($s)
            | Error::TooManyRequests($s)
            | Error::Server($s)
            | Error::OtherStatus($s) => $api,
            Error::Transport($m)
            | Error::Timeout($m)
            | Error::Config($m)
            | Error::Decode($m)
            | Error::InvalidArgument($m) => $local,
        }
    };
}

impl Error {
    /// The server's Status, for the API error cases.
    pub fn status(&self) -> Option<&ApiStatus> {
        by_payload!(self, s => Some(s), _m => None)
    }

    /// The case's name, as in the WIT contract.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "not-found",
            Self::AlreadyExists(_) => "already-exists",
            Self::Conflict(_) => "conflict",
            Self::Invalid(_) => "invalid",
            Self::BadRequest(_) => "bad-request",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::TooManyRequests(_) => "too-many-requests",
            Self::Server(_) => "server",
            Self::OtherStatus(_) => "other-status",
            Self::Transport(_) => "transport",
            Self::Timeout(_) => "timeout",
            Self::Config(_) => "config",
            Self::Decode(_) => "decode",
            Self::InvalidArgument(_) => "invalid-argument",
        }
    }

    /// The same error with every occurrence of `secret` replaced, so that a server echoing
    /// the bearer token back cannot leak it into an error.
    pub fn redact(mut self, secret: &str) -> Self {
        if secret.is_empty() {
            return self;
        }
        let scrub = |s: &mut String| {
            if s.contains(secret) {
                *s = s.replace(secret, "<redacted>");
            }
        };
        by_payload!(&mut self, s => {
            scrub(&mut s.reason);
            scrub(&mut s.message);
            for c in &mut s.causes {
                scrub(&mut c.reason);
                scrub(&mut c.message);
                scrub(&mut c.field);
            }
        }, m => scrub(m));
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.kind();
        by_payload!(self, s => if s.reason.is_empty() {
            write!(f, "{kind} (HTTP {}): {}", s.code, s.message)
        } else {
            write!(f, "{kind} (HTTP {} {}): {}", s.code, s.reason, s.message)
        }, m => write!(f, "{kind}: {m}"))
    }
}

impl core::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_case_code_and_reason() {
        let e = Error::Conflict(ApiStatus {
            code: 409,
            reason: "Conflict".into(),
            message: "the object has been modified".into(),
            ..Default::default()
        });
        assert_eq!(
            e.to_string(),
            "conflict (HTTP 409 Conflict): the object has been modified"
        );
        let e = Error::TooManyRequests(ApiStatus {
            code: 429,
            message: "Too many requests".into(),
            ..Default::default()
        });
        assert_eq!(
            e.to_string(),
            "too-many-requests (HTTP 429): Too many requests"
        );
        assert_eq!(
            Error::Config("no token".into()).to_string(),
            "config: no token"
        );
    }

    #[test]
    fn redact_scrubs_every_string() {
        let secret = "s3cr3t-token";
        let e = Error::Invalid(ApiStatus {
            code: 422,
            reason: "Invalid".into(),
            message: format!("bad {secret}"),
            causes: vec![StatusCause {
                reason: secret.into(),
                message: format!("{secret}{secret}"),
                field: "x".into(),
            }],
            retry_after_seconds: None,
        })
        .redact(secret);
        assert!(!format!("{e:?}").contains(secret), "{e:?}");
        assert!(e.to_string().contains("<redacted>"));
        let e = Error::Transport(format!("echo {secret}")).redact(secret);
        assert_eq!(e, Error::Transport("echo <redacted>".into()));
        assert_eq!(
            Error::Timeout("x".into()).redact(""),
            Error::Timeout("x".into())
        );
    }
}
