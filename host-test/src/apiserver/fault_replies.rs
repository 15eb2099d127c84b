//! The replies of the status-code and body faults, in the real server's forms: the Status of
//! `apierrors.NewInternalError`, `NewServiceUnavailable`, `NewTooManyRequests` and
//! `NewTimeoutError` (the timeout filter's), API Priority and Fairness' plain-text 429, and the
//! two bodies a client cannot use (truncated JSON, an oversized object).

use super::exchange::Reply;
use super::status::{Cause, Details, Status};

/// What the APF filter writes with its 429 (Go's `http.Error` adds the newline).
pub(crate) const APF_TEXT: &str = "Too many requests, please try again later.\n";

/// The cause named in an injected 500.
const INJECTED: &str = "injected fault";

impl Status {
    /// 500 `InternalError`, as `apierrors.NewInternalError` builds it.
    pub(crate) fn internal_error() -> Self {
        let cause = Cause {
            reason: String::new(),
            message: INJECTED.to_owned(),
            field: String::new(),
        };
        let details = Details {
            causes: vec![cause],
            ..Details::default()
        };
        let message = format!("Internal error occurred: {INJECTED}");
        Self::failure(500, "InternalError", message, Some(details))
    }

    /// 503 `ServiceUnavailable`.
    pub(crate) fn unavailable() -> Self {
        let message = "the server is currently unable to handle the request".to_owned();
        Self::failure(503, "ServiceUnavailable", message, None)
    }

    /// 429 `TooManyRequests` with `details.retryAfterSeconds` (and the `Retry-After` header).
    pub(crate) fn too_many_requests(retry_after_s: u32) -> Self {
        let message = APF_TEXT.trim_end().to_owned();
        let mut status = Self::failure(429, "TooManyRequests", message, Some(Details::default()));
        status.retry_after = Some(retry_after_s);
        status
    }

    /// 504 `Timeout`, as the timeout filter answers a request that ran out of time.
    pub(crate) fn server_timeout() -> Self {
        let message = "Timeout: request did not complete within requested timeout - context deadline exceeded";
        Self::failure(504, "Timeout", message.to_owned(), Some(Details::default()))
    }
}

/// The plain-text 429 of API Priority and Fairness, with `Retry-After`.
pub(crate) fn too_many_requests_text(retry_after_s: u32) -> Reply {
    let mut reply = Reply::text(429, APF_TEXT);
    reply
        .headers
        .push(("Retry-After", retry_after_s.to_string()));
    reply
        .headers
        .push(("X-Content-Type-Options", "nosniff".to_owned()));
    reply
}

/// The start of a Lease object, cut off mid-string: not JSON.
const TRUNCATED: &str =
    r#"{"kind":"Lease","apiVersion":"coordination.k8s.io/v1","metadata":{"name":"tr"#;

/// 200 with truncated JSON.
pub(crate) fn malformed_json() -> Reply {
    Reply::json(200, TRUNCATED.as_bytes().to_vec())
}

/// 200 with a well-formed Lease of `bytes` bytes (at least its skeleton), padded in an
/// annotation.
pub(crate) fn oversized(bytes: usize) -> Reply {
    let head = r#"{"kind":"Lease","apiVersion":"coordination.k8s.io/v1","metadata":{"name":"oversized","annotations":{"padding":""#;
    let tail = "\"}}}\n";
    let pad = bytes.saturating_sub(head.len() + tail.len());
    let mut body = Vec::with_capacity(head.len() + pad + tail.len());
    body.extend_from_slice(head.as_bytes());
    body.resize(head.len() + pad, b'x');
    body.extend_from_slice(tail.as_bytes());
    Reply::json(200, body)
}
