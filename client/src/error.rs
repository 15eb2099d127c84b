//! Every way an operation can fail, as data: API errors carry the server's Status.

use crate::prelude::*;

use core::fmt;

use serde::{Deserialize, Serialize};

/// One cause of an `Invalid` status: which field is wrong and why.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StatusCause {
    /// The field error type, e.g. `FieldValueInvalid`.
    pub reason: String,
    /// What is wrong with the value.
    pub message: String,
    /// The field path, e.g. `spec.leaseDurationSeconds`.
    pub field: String,
}

/// Which failure status the apiserver answered with (the WIT `status-kind`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum StatusKind {
    /// 404: the lease (or namespace) does not exist.
    NotFound,
    /// 409 on create: a lease of that name exists.
    AlreadyExists,
    /// 409 on update or delete: stale resourceVersion or failed precondition.
    Conflict,
    /// 422: the server rejected the object.
    Invalid,
    /// 400: the server could not accept the request body.
    BadRequest,
    /// 401: the token was missing, wrong or expired.
    Unauthorized,
    /// 403: the service account may not do this.
    Forbidden,
    /// 429: throttled.
    TooManyRequests,
    /// 5xx: the server failed.
    Server,
    /// Any other non-success status.
    #[default]
    OtherStatus,
}

impl StatusKind {
    /// The kind's name, as in the WIT contract.
    pub fn name(self) -> &'static str {
        match self {
            Self::NotFound => "not-found",
            Self::AlreadyExists => "already-exists",
            Self::Conflict => "conflict",
            Self::Invalid => "invalid",
            Self::BadRequest => "bad-request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::TooManyRequests => "too-many-requests",
            Self::Server => "server",
            Self::OtherStatus => "other-status",
        }
    }
}

/// What the server said about a failed request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApiStatus {
    /// Which failure this is.
    pub kind: StatusKind,
    /// The HTTP status code.
    pub code: u16,
    /// The Kubernetes `reason`; empty when the body was not a Status.
    pub reason: String,
    /// The Status `message`, or the first 1024 bytes of a body that was not a Status.
    pub message: String,
    /// `details.causes`.
    pub causes: Vec<StatusCause>,
    /// Seconds to wait before retrying: the `Retry-After` header, else
    /// `details.retryAfterSeconds`; a zero in either means no advice (`None`).
    pub retry_after_seconds: Option<u32>,
}

/// Why an operation failed: the same cases as the WIT `error` variant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The apiserver answered a failure status; its `kind` says which.
    Api(ApiStatus),
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
    /// The hold is no longer this locker's: another holder wrote the lease, or it is gone.
    Lost(String),
}

impl Error {
    /// The server's Status, for the `Api` case.
    pub fn status(&self) -> Option<&ApiStatus> {
        match self {
            Self::Api(s) => Some(s),
            _ => None,
        }
    }

    /// Whether this is an API status of `kind`.
    pub fn is(&self, kind: StatusKind) -> bool {
        self.status().is_some_and(|s| s.kind == kind)
    }

    /// 404: the lease (or namespace) does not exist.
    pub fn is_not_found(&self) -> bool {
        self.is(StatusKind::NotFound)
    }

    /// 409 on create: a lease of that name exists.
    pub fn is_already_exists(&self) -> bool {
        self.is(StatusKind::AlreadyExists)
    }

    /// 409 on update or delete: someone else wrote first.
    pub fn is_conflict(&self) -> bool {
        self.is(StatusKind::Conflict)
    }

    /// 429: throttled.
    pub fn is_too_many_requests(&self) -> bool {
        self.is(StatusKind::TooManyRequests)
    }

    /// 5xx: the server failed.
    pub fn is_server_error(&self) -> bool {
        self.is(StatusKind::Server)
    }

    /// The case's name, as in the WIT contract; for `Api`, the status kind's name.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Api(s) => s.kind.name(),
            Self::Transport(_) => "transport",
            Self::Timeout(_) => "timeout",
            Self::Config(_) => "config",
            Self::Decode(_) => "decode",
            Self::InvalidArgument(_) => "invalid-argument",
            Self::Lost(_) => "lost",
        }
    }

    /// The same error with every occurrence of `secret` replaced, so that a server echoing
    /// the bearer token back cannot leak it into an error.
    pub fn redact(mut self, secret: &str) -> Self {
        if secret.is_empty() {
            return self;
        }
        let scrub = |s: &mut String| {
            let clean = redact_bytes(s.as_bytes(), secret);
            if clean != s.as_bytes() {
                *s = String::from_utf8_lossy(&clean).into_owned();
            }
        };
        match &mut self {
            Self::Api(s) => {
                scrub(&mut s.reason);
                scrub(&mut s.message);
                for c in &mut s.causes {
                    scrub(&mut c.reason);
                    scrub(&mut c.message);
                    scrub(&mut c.field);
                }
            }
            Self::Transport(m)
            | Self::Timeout(m)
            | Self::Config(m)
            | Self::Decode(m)
            | Self::InvalidArgument(m)
            | Self::Lost(m) => scrub(m),
        }
        self
    }
}

/// What stands where a secret was.
pub const REDACTED: &str = "<redacted>";

/// The shortest piece of a secret scrubbed on its own: a server may echo only a part of the
/// token (cut short, or its tail), and no 8 characters of a token may show.
pub const MIN_SECRET_PIECE: usize = 8;

/// `body` with every run of bytes covered by pieces of `secret` at least
/// [`MIN_SECRET_PIECE`] long (the whole secret, when shorter) replaced by one [`REDACTED`]: a
/// response body is scrubbed whole before any part of it is kept, so no cut can leave a piece
/// of the secret, and an echo of only a part of it is caught too.
pub fn redact_bytes(body: &[u8], secret: &str) -> Vec<u8> {
    let secret = secret.as_bytes();
    let piece = secret.len().min(MIN_SECRET_PIECE);
    if piece == 0 || body.len() < piece {
        return body.to_vec();
    }
    let mut pieces: Vec<&[u8]> = secret.windows(piece).collect();
    pieces.sort_unstable();
    let mut hidden = alloc::vec![false; body.len()];
    for (at, window) in body.windows(piece).enumerate() {
        if pieces.binary_search(&window).is_ok() {
            hidden[at..at + piece].fill(true);
        }
    }
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        if hidden[i] {
            out.extend_from_slice(REDACTED.as_bytes());
            while i < body.len() && hidden[i] {
                i += 1;
            }
        } else {
            out.push(body[i]);
            i += 1;
        }
    }
    out
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.kind();
        match self {
            Self::Api(s) if s.reason.is_empty() => {
                write!(f, "{kind} (HTTP {}): {}", s.code, s.message)
            }
            Self::Api(s) => write!(f, "{kind} (HTTP {} {}): {}", s.code, s.reason, s.message),
            Self::Transport(m)
            | Self::Timeout(m)
            | Self::Config(m)
            | Self::Decode(m)
            | Self::InvalidArgument(m)
            | Self::Lost(m) => write!(f, "{kind}: {m}"),
        }
    }
}

impl core::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_case_code_and_reason() {
        let e = Error::Api(ApiStatus {
            kind: StatusKind::Conflict,
            code: 409,
            reason: "Conflict".into(),
            message: "the object has been modified".into(),
            ..Default::default()
        });
        assert_eq!(
            e.to_string(),
            "conflict (HTTP 409 Conflict): the object has been modified"
        );
        let e = Error::Api(ApiStatus {
            kind: StatusKind::TooManyRequests,
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
        let e = Error::Api(ApiStatus {
            kind: StatusKind::Invalid,
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

    #[test]
    fn redact_bytes_scrubs_the_whole_body_before_any_cut() {
        // A service-account token is ~1.2 KB: cut first, its head would survive the cut.
        let token = "eyJhbGciOiJSUzI1NiJ9.".repeat(60);
        let body = format!("upstream rejected credentials Bearer {token} (twice: {token})");
        let scrubbed = String::from_utf8(redact_bytes(body.as_bytes(), &token)).unwrap();
        assert_eq!(
            scrubbed,
            "upstream rejected credentials Bearer <redacted> (twice: <redacted>)"
        );
        assert_eq!(redact_bytes(b"short", &token), b"short");
        assert_eq!(redact_bytes(b"no secret", ""), b"no secret");
        assert_eq!(redact_bytes(b"aaab", "ab"), b"aa<redacted>");
    }

    #[test]
    fn an_echo_of_only_a_part_of_the_secret_is_scrubbed_too() {
        let token = "kl-secret-0123456789abcdef0123456789abcdef01234567";
        let body = "token kl-secret-0123456789ab... rejected; tail ...def01234567 seen; kl-secr";
        let scrubbed = String::from_utf8(redact_bytes(body.as_bytes(), token)).unwrap();
        // Pieces of 8 bytes and more go; shorter ones (7 bytes) are not a secret's piece.
        assert_eq!(
            scrubbed,
            "token <redacted>... rejected; tail ...<redacted> seen; kl-secr"
        );
        let e = Error::Transport(format!("echo {}", &token[5..30])).redact(token);
        assert_eq!(e, Error::Transport("echo <redacted>".into()));
    }

    #[test]
    fn predicates_branch_on_the_status_kind() {
        let api = |kind| {
            Error::Api(ApiStatus {
                kind,
                ..Default::default()
            })
        };
        assert!(api(StatusKind::NotFound).is_not_found());
        assert!(api(StatusKind::AlreadyExists).is_already_exists());
        assert!(api(StatusKind::Conflict).is_conflict());
        assert!(api(StatusKind::TooManyRequests).is_too_many_requests());
        assert!(api(StatusKind::Server).is_server_error());
        assert!(!api(StatusKind::Conflict).is_already_exists());
        assert!(!Error::Transport("x".into()).is_conflict());
        assert_eq!(api(StatusKind::Forbidden).kind(), "forbidden");
        assert_eq!(Error::Decode("x".into()).kind(), "decode");
        assert_eq!(Error::Decode("x".into()).status(), None);
    }
}
