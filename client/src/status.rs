//! Failure responses: the Kubernetes `Status` body, and which error a failed response is —
//! by HTTP code, and for 409 by the Status reason (or, without one, by the operation).

use crate::prelude::*;

use serde::{Deserialize, Serialize};

use crate::error::{ApiStatus, Error, StatusCause, StatusKind};

/// How much of a non-Status body an error keeps.
pub const BODY_EXCERPT_BYTES: usize = 1024;

/// A `meta/v1` Status, as the apiserver sends it with a failure (fields it may omit default).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Status {
    /// `Status`.
    pub kind: String,
    /// `v1`.
    pub api_version: String,
    /// `Success` or `Failure`.
    pub status: String,
    /// What went wrong, for humans.
    pub message: String,
    /// Why, for machines (`NotFound`, `Conflict`, …); empty when unknown.
    pub reason: String,
    /// More about the object and the failure.
    pub details: Option<StatusDetails>,
    /// The HTTP status code.
    pub code: i32,
}

/// `Status.details`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct StatusDetails {
    /// The object's name.
    pub name: String,
    /// The object's API group.
    pub group: String,
    /// The object's kind (or resource).
    pub kind: String,
    /// The object's uid.
    pub uid: String,
    /// The field errors of an `Invalid` status.
    pub causes: Option<Vec<StatusCause>>,
    /// Seconds to wait before retrying; 0 means no advice.
    pub retry_after_seconds: i32,
}

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

impl StatusKind {
    /// The kind of a failure `code` (with the Status `reason`, if any) answering `op`.
    pub fn of(op: Operation, code: u16, reason: &str) -> Self {
        match code {
            400 => Self::BadRequest,
            401 => Self::Unauthorized,
            403 => Self::Forbidden,
            404 => Self::NotFound,
            409 => match (reason, op) {
                ("AlreadyExists", _) | ("", Operation::Create) => Self::AlreadyExists,
                _ => Self::Conflict,
            },
            422 => Self::Invalid,
            429 => Self::TooManyRequests,
            500..=599 => Self::Server,
            _ => Self::OtherStatus,
        }
    }
}

/// The typed error for a non-success response: its Status body when it has one, else the
/// first [`BODY_EXCERPT_BYTES`] of the body as the message. `retry_after` is the `Retry-After`
/// header (delay-seconds), which wins over `details.retryAfterSeconds`; zero is no advice.
pub fn error_for(op: Operation, code: u16, retry_after: Option<&str>, body: &[u8]) -> Error {
    let header_retry = retry_after
        .and_then(|v| v.trim().parse::<u32>().ok())
        .filter(|n| *n > 0);
    let status = serde_json::from_slice::<Status>(body)
        .ok()
        .filter(|s| s.kind == "Status");
    let status = match status {
        Some(s) => {
            let details = s.details.unwrap_or_default();
            ApiStatus {
                kind: StatusKind::of(op, code, &s.reason),
                code,
                reason: s.reason,
                message: s.message,
                causes: details.causes.unwrap_or_default(),
                retry_after_seconds: header_retry.or(u32::try_from(details.retry_after_seconds)
                    .ok()
                    .filter(|n| *n > 0)),
            }
        }
        None => ApiStatus {
            kind: StatusKind::of(op, code, ""),
            code,
            message: excerpt(body),
            retry_after_seconds: header_retry,
            ..ApiStatus::default()
        },
    };
    Error::Api(status)
}

/// The first [`BODY_EXCERPT_BYTES`] of a body as text, never ending in half a character.
fn excerpt(body: &[u8]) -> String {
    let mut end = body.len().min(BODY_EXCERPT_BYTES);
    while end > 0 && end < body.len() && body[end] & 0xC0 == 0x80 {
        end -= 1;
    }
    String::from_utf8_lossy(&body[..end]).into_owned()
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
            Error::Api(ApiStatus {
                kind: StatusKind::AlreadyExists,
                ..
            })
        ));
        assert!(matches!(
            error_for(Operation::Update, 409, None, conflict.as_bytes()),
            Error::Api(ApiStatus {
                kind: StatusKind::Conflict,
                ..
            })
        ));
        assert!(matches!(
            error_for(Operation::Delete, 409, None, conflict.as_bytes()),
            Error::Api(ApiStatus {
                kind: StatusKind::Conflict,
                ..
            })
        ));
        // Reason wins over operation; without a reason the operation decides.
        assert!(matches!(
            error_for(Operation::Create, 409, None, conflict.as_bytes()),
            Error::Api(ApiStatus {
                kind: StatusKind::Conflict,
                ..
            })
        ));
        assert!(matches!(
            error_for(Operation::Create, 409, None, b"taken"),
            Error::Api(ApiStatus {
                kind: StatusKind::AlreadyExists,
                ..
            })
        ));
        assert!(matches!(
            error_for(Operation::Update, 409, None, b"stale"),
            Error::Api(ApiStatus {
                kind: StatusKind::Conflict,
                ..
            })
        ));
    }

    #[test]
    fn create_with_resource_version_is_a_server_error_without_reason() {
        let body = br#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"resourceVersion should not be set on objects to be created","code":500}"#;
        match error_for(Operation::Create, 500, None, body) {
            Error::Api(s) if s.kind == StatusKind::Server => {
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
            Error::Api(s) if s.kind == StatusKind::TooManyRequests => {
                assert_eq!(s.retry_after_seconds, Some(4));
                assert_eq!(s.message, "Too many requests, please try again later.\n");
            }
            other => panic!("{other:?}"),
        }
    }

    fn api_status(op: Operation, code: u16, retry_after: Option<&str>, body: &[u8]) -> ApiStatus {
        match error_for(op, code, retry_after, body) {
            Error::Api(s) => s,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn status_bodies_give_code_reason_message_and_causes() {
        let body = br#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Lease.coordination.k8s.io \"x\" is invalid: spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0","reason":"Invalid","details":{"name":"x","group":"coordination.k8s.io","kind":"Lease","causes":[{"reason":"FieldValueInvalid","message":"Invalid value: 0: must be greater than 0","field":"spec.leaseDurationSeconds"}]},"code":422}"#;
        let s = api_status(Operation::Get, 422, None, body);
        assert_eq!(s.code, 422);
        assert_eq!(s.reason, "Invalid");
        assert!(s.message.ends_with("must be greater than 0"));
        assert_eq!(
            s.causes,
            vec![StatusCause {
                reason: "FieldValueInvalid".into(),
                message: "Invalid value: 0: must be greater than 0".into(),
                field: "spec.leaseDurationSeconds".into()
            }]
        );
        assert_eq!(s.retry_after_seconds, None);
    }

    #[test]
    fn retry_after_comes_from_the_header_then_the_details() {
        let body = br#"{"kind":"Status","status":"Failure","message":"slow down","reason":"TooManyRequests","details":{"retryAfterSeconds":3},"code":429}"#;
        assert_eq!(
            api_status(Operation::Get, 429, None, body).retry_after_seconds,
            Some(3)
        );
        assert_eq!(
            api_status(Operation::Get, 429, Some(" 7 "), body).retry_after_seconds,
            Some(7)
        );
        assert_eq!(
            api_status(
                Operation::Get,
                429,
                Some("Wed, 21 Oct 2026 07:28:00 GMT"),
                body
            )
            .retry_after_seconds,
            Some(3)
        );
    }

    #[test]
    fn plain_text_bodies_keep_their_first_kilobyte() {
        let s = api_status(
            Operation::Get,
            429,
            Some("1"),
            b"Too many requests, please try again later.\n",
        );
        assert_eq!(s.reason, "");
        assert_eq!(s.message, "Too many requests, please try again later.\n");
        assert_eq!(s.retry_after_seconds, Some(1));

        let long = format!("a{}", "é".repeat(1000)); // byte 1024 falls inside a character
        let s = api_status(Operation::Get, 503, None, long.as_bytes());
        assert_eq!(s.message, format!("a{}", "é".repeat(511)));
        let s = api_status(Operation::Get, 502, None, &[b'x'; 5000]);
        assert_eq!(s.message.len(), 1024);
        // JSON that is not a Status is kept as text too.
        let s = api_status(Operation::Get, 500, None, br#"{"kind":"Lease"}"#);
        assert_eq!(s.message, r#"{"kind":"Lease"}"#);
    }

    #[test]
    fn a_zero_retry_after_is_no_advice_in_the_header_and_the_status() {
        let status = br#"{"kind":"Status","status":"Failure","message":"m","reason":"TooManyRequests","details":{"retryAfterSeconds":0},"code":429}"#;
        assert_eq!(
            api_status(Operation::Get, 429, Some("0"), status).retry_after_seconds,
            None
        );
        assert_eq!(
            api_status(Operation::Get, 429, None, status).retry_after_seconds,
            None
        );
        assert_eq!(
            api_status(Operation::Get, 429, Some("0"), b"slow down").retry_after_seconds,
            None
        );
        // A zero header leaves the Status's own advice standing.
        let five = br#"{"kind":"Status","details":{"retryAfterSeconds":5},"code":429}"#;
        assert_eq!(
            api_status(Operation::Get, 429, Some("0"), five).retry_after_seconds,
            Some(5)
        );
    }
}
