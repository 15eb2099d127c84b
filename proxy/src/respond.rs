//! The service's answers: kube-lease errors as HTTP statuses with `{"error", "message"}`
//! bodies, holds and leases as JSON. Pure, so every mapping is tested natively.

use kube_lease_client::lock::Hold;
use kube_lease_client::{Error, Lease, StatusKind, encode};
use serde_json::{Value, json};

/// A response: its status and JSON body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The HTTP status code.
    pub status: u16,
    /// The JSON body.
    pub body: Vec<u8>,
}

impl Reply {
    /// `value` as the JSON body of a `status` response.
    pub fn json(status: u16, value: &Value) -> Self {
        Self {
            status,
            body: value.to_string().into_bytes(),
        }
    }

    /// The body parsed back (for tests and logs).
    pub fn value(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// A failure of the service itself: `{"error": kind, "message": message}`.
pub fn error(status: u16, kind: &str, message: &str) -> Reply {
    Reply::json(status, &json!({ "error": kind, "message": message }))
}

/// The HTTP status a kube-lease error maps to.
pub fn status_for(e: &Error) -> u16 {
    match e {
        Error::Api(s) => match s.kind {
            StatusKind::NotFound => 404,
            StatusKind::AlreadyExists | StatusKind::Conflict => 409,
            StatusKind::Invalid | StatusKind::BadRequest => 400,
            StatusKind::TooManyRequests => 429,
            // The service's own apiserver credentials or the apiserver failed: the caller
            // did nothing wrong, so a gateway error, not a 401/403 it would blame on itself.
            StatusKind::Unauthorized
            | StatusKind::Forbidden
            | StatusKind::Server
            | StatusKind::OtherStatus => 502,
        },
        Error::Transport(_) | Error::Decode(_) => 502,
        Error::Timeout(_) => 504,
        Error::InvalidArgument(_) => 400,
        Error::Lost(_) => 409,
        Error::Config(_) => 500,
    }
}

/// `e` as a reply, every secret in `secrets` (the front token, …) scrubbed from the message.
pub fn from_error(e: Error, secrets: &[&str]) -> Reply {
    let e = secrets.iter().fold(e, |e, secret| e.redact(secret));
    error(status_for(&e), e.kind(), &e.to_string())
}

/// 409: another live holder has lease `name`.
pub fn held_by(name: &str, holder: &str) -> Reply {
    Reply::json(
        409,
        &json!({
            "error": "held",
            "message": format!("lease {name:?} is held by {holder:?}"),
            "holder": holder,
        }),
    )
}

/// 200 with `hold`; `fencingToken` only when known (a stateless renewal cannot know it).
pub fn hold(hold: &Hold, with_fencing_token: bool) -> Reply {
    let mut value = json!({
        "name": hold.name,
        "identity": hold.identity,
        "resourceVersion": hold.resource_version,
        "acquireTimeUnixMicros": hold.acquire_time.unix_micros,
        "validUntilUnixMicros": hold.valid_until.unix_micros,
    });
    if with_fencing_token {
        value["fencingToken"] = json!(hold.fencing_token);
    }
    Reply::json(200, &value)
}

/// 200 with `lease` as the apiserver writes it.
pub fn lease(lease: &Lease) -> Reply {
    match encode::lease_body(lease) {
        Ok(body) => Reply { status: 200, body },
        Err(e) => from_error(e, &[]),
    }
}

/// 404: lease `name` does not exist.
pub fn lease_not_found(name: &str) -> Reply {
    error(404, "not-found", &format!("lease {name:?} does not exist"))
}

/// 200: the lease name of `domain`.
pub fn domain_lease_name(domain: &str, name: &str) -> Reply {
    Reply::json(200, &json!({ "domain": domain, "name": name }))
}

/// 204-like success without a body worth having: `{"released": name}`.
pub fn released(name: &str) -> Reply {
    Reply::json(200, &json!({ "released": name }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube_lease_client::{ApiStatus, MicroTime};

    fn api(kind: StatusKind, code: u16) -> Error {
        Error::Api(ApiStatus {
            kind,
            code,
            message: "m".into(),
            ..ApiStatus::default()
        })
    }

    #[test]
    fn api_kinds_map_to_fitting_statuses() {
        let cases = [
            (StatusKind::NotFound, 404, 404),
            (StatusKind::AlreadyExists, 409, 409),
            (StatusKind::Conflict, 409, 409),
            (StatusKind::Invalid, 422, 400),
            (StatusKind::BadRequest, 400, 400),
            (StatusKind::TooManyRequests, 429, 429),
            (StatusKind::Unauthorized, 401, 502),
            (StatusKind::Forbidden, 403, 502),
            (StatusKind::Server, 500, 502),
            (StatusKind::OtherStatus, 418, 502),
        ];
        for (kind, code, want) in cases {
            let reply = from_error(api(kind, code), &[]);
            assert_eq!(reply.status, want, "{kind:?}");
            assert_eq!(reply.value()["error"], kind.name());
        }
    }

    #[test]
    fn other_errors_map_to_gateway_and_client_statuses() {
        let cases = [
            (Error::Transport("refused".into()), 502, "transport"),
            (Error::Decode("junk".into()), 502, "decode"),
            (Error::Timeout("slow".into()), 504, "timeout"),
            (
                Error::InvalidArgument("bad".into()),
                400,
                "invalid-argument",
            ),
            (Error::Lost("gone".into()), 409, "lost"),
            (Error::Config("no url".into()), 500, "config"),
        ];
        for (e, want, kind) in cases {
            let message = e.to_string();
            let reply = from_error(e, &[]);
            assert_eq!(reply.status, want, "{kind}");
            assert_eq!(reply.value()["error"], kind);
            assert_eq!(reply.value()["message"], message.as_str());
        }
    }

    #[test]
    fn secrets_never_reach_the_body() {
        let e = Error::Transport("echoed front-s3cret and api-s3cret".into());
        let reply = from_error(e, &["front-s3cret", "api-s3cret"]);
        let body = String::from_utf8(reply.body).unwrap();
        assert!(!body.contains("s3cret"), "{body}");
        assert!(body.contains("echoed"), "{body}");
    }

    #[test]
    fn held_names_the_current_holder() {
        let reply = held_by("cert-lock-a", "pod-1");
        assert_eq!(reply.status, 409);
        assert_eq!(reply.value()["error"], "held");
        assert_eq!(reply.value()["holder"], "pod-1");
    }

    fn a_hold() -> Hold {
        Hold {
            name: "cert-lock-a".into(),
            identity: "pod-1".into(),
            resource_version: "42".into(),
            acquire_time: MicroTime::from_unix_micros(1_000),
            valid_until: MicroTime::from_unix_micros(2_000),
            valid_until_monotonic_ns: 7,
            fencing_token: 41,
        }
    }

    #[test]
    fn a_hold_carries_its_fencing_token_when_known() {
        let v = hold(&a_hold(), true).value();
        assert_eq!(v["fencingToken"], 41);
        assert_eq!(v["identity"], "pod-1");
        assert_eq!(v["resourceVersion"], "42");
        assert_eq!(v["acquireTimeUnixMicros"], 1_000);
        assert_eq!(v["validUntilUnixMicros"], 2_000);
        assert!(hold(&a_hold(), false).value().get("fencingToken").is_none());
    }

    #[test]
    fn a_lease_is_written_as_the_apiserver_does() {
        let mut l = Lease {
            name: "cert-lock-a".into(),
            ..Lease::default()
        };
        l.spec.holder_identity = Some("pod-1".into());
        let v = lease(&l).value();
        assert_eq!(v["metadata"]["name"], "cert-lock-a");
        assert_eq!(v["spec"]["holderIdentity"], "pod-1");
        assert_eq!(lease_not_found("x").status, 404);
    }
}
