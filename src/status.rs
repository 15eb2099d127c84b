//! Which error a failed response is: by HTTP code, and for 409 by the Status reason
//! (or, without one, by the operation).

use crate::decode;
use crate::error::{ApiStatus, Error};

/// The operation a response answers; it decides what a bare 409 means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// GET of one lease.
    Get,
    /// POST of a new lease.
    Create,
    /// PUT of an existing lease.
    Update,
    /// DELETE of one lease.
    Delete,
    /// GET of the collection.
    List,
}

/// The typed error for a non-success response.
pub fn error_for(op: Operation, code: u16, retry_after: Option<&str>, body: &[u8]) -> Error {
    classify(op, decode::api_status(code, retry_after, body))
}

/// The error case for an API status.
pub fn classify(op: Operation, status: ApiStatus) -> Error {
    match status.code {
        400 => Error::BadRequest(status),
        401 => Error::Unauthorized(status),
        403 => Error::Forbidden(status),
        404 => Error::NotFound(status),
        409 => match (status.reason.as_str(), op) {
            ("AlreadyExists", _) | ("", Operation::Create) => Error::AlreadyExists(status),
            _ => Error::Conflict(status),
        },
        422 => Error::Invalid(status),
        429 => Error::TooManyRequests(status),
        500..=599 => Error::Server(status),
        _ => Error::OtherStatus(status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_body(code: u16, reason: &str) -> String {
        format!(
            r#"{{"kind":"Status","apiVersion":"v1","metadata":{{}},"status":"Failure","message":"m","reason":"{reason}","code":{code}}}"#
        )
    }

    #[test]
    fn every_code_maps_to_its_case() {
        let cases = [
            (400, "BadRequest", "bad-request"),
            (401, "Unauthorized", "unauthorized"),
            (403, "Forbidden", "forbidden"),
            (404, "NotFound", "not-found"),
            (405, "MethodNotAllowed", "other-status"),
            (410, "Expired", "other-status"),
            (415, "UnsupportedMediaType", "other-status"),
            (422, "Invalid", "invalid"),
            (429, "TooManyRequests", "too-many-requests"),
            (500, "InternalError", "server"),
            (503, "ServiceUnavailable", "server"),
            (504, "Timeout", "server"),
            (302, "", "other-status"),
        ];
        for (code, reason, kind) in cases {
            let e = error_for(
                Operation::Update,
                code,
                None,
                status_body(code, reason).as_bytes(),
            );
            assert_eq!(e.kind(), kind, "{code}");
            let s = e.status().unwrap();
            assert_eq!(
                (s.code, s.reason.as_str(), s.message.as_str()),
                (code, reason, "m")
            );
        }
    }

    #[test]
    fn conflict_on_create_is_already_exists_and_on_update_is_conflict() {
        let exists = status_body(409, "AlreadyExists");
        let conflict = status_body(409, "Conflict");
        assert!(matches!(
            error_for(Operation::Create, 409, None, exists.as_bytes()),
            Error::AlreadyExists(_)
        ));
        assert!(matches!(
            error_for(Operation::Update, 409, None, conflict.as_bytes()),
            Error::Conflict(_)
        ));
        assert!(matches!(
            error_for(Operation::Delete, 409, None, conflict.as_bytes()),
            Error::Conflict(_)
        ));
        // Reason wins over operation; without a reason the operation decides.
        assert!(matches!(
            error_for(Operation::Create, 409, None, conflict.as_bytes()),
            Error::Conflict(_)
        ));
        assert!(matches!(
            error_for(Operation::Create, 409, None, b"taken"),
            Error::AlreadyExists(_)
        ));
        assert!(matches!(
            error_for(Operation::Update, 409, None, b"stale"),
            Error::Conflict(_)
        ));
    }

    #[test]
    fn create_with_resource_version_is_a_server_error_without_reason() {
        let body = br#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"resourceVersion should not be set on objects to be created","code":500}"#;
        match error_for(Operation::Create, 500, None, body) {
            Error::Server(s) => {
                assert_eq!(s.reason, "");
                assert_eq!(
                    s.message,
                    "resourceVersion should not be set on objects to be created"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn apf_429_is_plain_text_with_retry_after() {
        let e = error_for(
            Operation::Get,
            429,
            Some("4"),
            b"Too many requests, please try again later.\n",
        );
        match e {
            Error::TooManyRequests(s) => {
                assert_eq!(s.retry_after_seconds, Some(4));
                assert_eq!(s.message, "Too many requests, please try again later.\n");
            }
            other => panic!("{other:?}"),
        }
    }
}
