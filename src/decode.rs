//! Reading what a server sends: Lease, LeaseList and Status bodies. Unknown fields are
//! ignored; anything that does not fit is a `Decode` error naming the field.

use crate::prelude::*;

use crate::error::{ApiStatus, Error, StatusCause};
use crate::go_json::quoted;
use crate::json::{self, Value};
use crate::lease::{Entry, Lease, LeaseList, LeaseSpec};
use crate::micro_time::MicroTime;

/// How much of a non-Status body an error keeps.
pub const BODY_EXCERPT_BYTES: usize = 1024;

/// A Lease from a GET, create or update response.
///
/// # Errors
/// `Decode` when the body is not JSON, not a Lease, or a field does not fit its type.
pub fn lease(body: &[u8]) -> Result<Lease, Error> {
    let doc = document(body, "Lease")?;
    expect_kind(&doc, "Lease")?;
    convert(&doc)
}

/// A LeaseList from a list response.
///
/// # Errors
/// `Decode` when the body is not a LeaseList or an item is not a Lease.
pub fn lease_list(body: &[u8]) -> Result<LeaseList, Error> {
    let doc = document(body, "LeaseList")?;
    expect_kind(&doc, "LeaseList")?;
    let meta = object(&doc, "", "metadata")?;
    let items = match doc.get("items") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(convert).collect::<Result<_, _>>()?,
        Some(other) => return Err(mistyped("items", other, "an array")),
    };
    Ok(LeaseList {
        resource_version: string(meta, "metadata.resourceVersion")?.unwrap_or_default(),
        items,
    })
}

/// The API status of a failed response: its Status body when it has one, else the first
/// [`BODY_EXCERPT_BYTES`] of the body as the message. `retry_after` is the `Retry-After`
/// header, which wins over `details.retryAfterSeconds`.
pub fn api_status(code: u16, retry_after: Option<&str>, body: &[u8]) -> ApiStatus {
    let header_retry = retry_after.and_then(|v| v.trim().parse::<u32>().ok());
    let status = json::parse(body)
        .ok()
        .filter(|doc| matches!(doc.get("kind"), Some(Value::String(k)) if k == "Status"));
    let Some(doc) = status else {
        return ApiStatus {
            code,
            message: excerpt(body),
            retry_after_seconds: header_retry,
            ..ApiStatus::default()
        };
    };
    let text = |v: Option<&Value>| match v {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    };
    let details = doc.get("details");
    let causes = match details.and_then(|d| d.get("causes")) {
        Some(Value::Array(causes)) => causes
            .iter()
            .map(|c| StatusCause {
                reason: text(c.get("reason")),
                message: text(c.get("message")),
                field: text(c.get("field")),
            })
            .collect(),
        _ => Vec::new(),
    };
    let detail_retry = match details.and_then(|d| d.get("retryAfterSeconds")) {
        Some(Value::Number(n)) => n.parse::<u32>().ok().filter(|n| *n > 0),
        _ => None,
    };
    ApiStatus {
        code,
        reason: text(doc.get("reason")),
        message: text(doc.get("message")),
        causes,
        retry_after_seconds: header_retry.or(detail_retry),
    }
}

/// The first [`BODY_EXCERPT_BYTES`] of a body as text, never ending in half a character.
fn excerpt(body: &[u8]) -> String {
    let mut end = body.len().min(BODY_EXCERPT_BYTES);
    while end > 0 && end < body.len() && body[end] & 0xC0 == 0x80 {
        end -= 1;
    }
    String::from_utf8_lossy(&body[..end]).into_owned()
}

fn document(body: &[u8], what: &str) -> Result<Value, Error> {
    match json::parse(body) {
        Ok(doc @ Value::Object(_)) => Ok(doc),
        Ok(other) => Err(Error::Decode(format!(
            "response is not a {what}: it is {}",
            other.kind()
        ))),
        Err(e) => Err(Error::Decode(format!("response is not a {what}: {e}"))),
    }
}

fn expect_kind(doc: &Value, expected: &str) -> Result<(), Error> {
    match string(doc, "kind")?.as_deref() {
        None | Some("") => Ok(()),
        Some(k) if k == expected => Ok(()),
        Some(k) => Err(Error::Decode(format!(
            "expected a {expected}, the server sent a {k}"
        ))),
    }
}

fn mistyped(path: &str, value: &Value, want: &str) -> Error {
    Error::Decode(format!("{path} is {}, not {want}", value.kind()))
}

/// The last segment of a dotted path.
fn key(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

/// `parent.key` as an object; absent or null is an empty object.
fn object<'a>(parent: &'a Value, parent_path: &str, name: &str) -> Result<&'a Value, Error> {
    static EMPTY: Value = Value::Object(Vec::new());
    match parent.get(name) {
        None | Some(Value::Null) => Ok(&EMPTY),
        Some(v @ Value::Object(_)) => Ok(v),
        Some(other) => Err(mistyped(
            &format!("{parent_path}{name}"),
            other,
            "an object",
        )),
    }
}

/// A string field (`path` is its full dotted path); absent or null is `None`.
fn string(parent: &Value, path: &str) -> Result<Option<String>, Error> {
    match parent.get(key(path)) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(mistyped(path, other, "a string")),
    }
}

/// An int32 field, as Go decodes one: an integer literal in range.
fn int32(parent: &Value, path: &str) -> Result<Option<i32>, Error> {
    match parent.get(key(path)) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .parse::<i32>()
            .map(Some)
            .map_err(|_| Error::Decode(format!("{path} {n} is not a 32-bit integer"))),
        Some(other) => Err(mistyped(path, other, "a number")),
    }
}

/// A `map[string]string` field, sorted by key.
fn string_map(parent: &Value, path: &str) -> Result<Vec<Entry>, Error> {
    match parent.get(key(path)) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(members)) => {
            let mut map = alloc::collections::BTreeMap::new();
            for (k, v) in members {
                match v {
                    Value::String(s) => map.insert(k.clone(), s.clone()),
                    other => {
                        return Err(mistyped(
                            &format!("{path}[{}]", quoted(k)),
                            other,
                            "a string",
                        ));
                    }
                };
            }
            Ok(map.into_iter().collect())
        }
        Some(other) => Err(mistyped(path, other, "an object")),
    }
}

/// A time field: absent, `null` and `""` (Go's zero time) are all "not set".
fn time(parent: &Value, path: &str) -> Result<Option<MicroTime>, Error> {
    match string(parent, path)?.as_deref() {
        None | Some("") => Ok(None),
        Some(t) => MicroTime::parse(t)
            .map(Some)
            .map_err(|e| Error::Decode(format!("{path}: {e}"))),
    }
}

fn convert(doc: &Value) -> Result<Lease, Error> {
    if !matches!(doc, Value::Object(_)) {
        return Err(mistyped("items[]", doc, "a Lease object"));
    }
    let meta = object(doc, "", "metadata")?;
    let spec = object(doc, "", "spec")?;
    let name = string(meta, "metadata.name")?.filter(|n| !n.is_empty());
    let name =
        name.ok_or_else(|| Error::Decode("the server sent a Lease without metadata.name".into()))?;
    Ok(Lease {
        name,
        namespace: string(meta, "metadata.namespace")?,
        resource_version: string(meta, "metadata.resourceVersion")?,
        uid: string(meta, "metadata.uid")?,
        creation_timestamp: time(meta, "metadata.creationTimestamp")?,
        labels: string_map(meta, "metadata.labels")?,
        annotations: string_map(meta, "metadata.annotations")?,
        spec: LeaseSpec {
            holder_identity: string(spec, "spec.holderIdentity")?,
            lease_duration_seconds: int32(spec, "spec.leaseDurationSeconds")?,
            acquire_time: time(spec, "spec.acquireTime")?,
            renew_time: time(spec, "spec.renewTime")?,
            lease_transitions: int32(spec, "spec.leaseTransitions")?,
            strategy: string(spec, "spec.strategy")?,
            preferred_holder: string(spec, "spec.preferredHolder")?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Lease as kube-apiserver 1.34 returns it (managedFields and all).
    const SERVER_LEASE: &str = r#"{"kind":"Lease","apiVersion":"coordination.k8s.io/v1","metadata":{"name":"cert-lock-a379a6f6eeafb9a5","namespace":"netbird","uid":"0b6a1b9e-3f5d-4c1e-9a39-2f6c1f3f9d11","resourceVersion":"4711","creationTimestamp":"2026-11-28T10:00:00Z","labels":{"b":"2","a":"1"},"annotations":{"netbird.io/domain":"example.com"},"managedFields":[{"manager":"Go-http-client","operation":"Update","apiVersion":"coordination.k8s.io/v1","time":"2026-11-28T10:00:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:holderIdentity":{}}}}]},"spec":{"holderIdentity":"proxy-0","leaseDurationSeconds":300,"acquireTime":"2026-11-28T10:00:00.123456Z","renewTime":"2026-11-28T10:00:01.000000Z","leaseTransitions":2}}"#;

    #[test]
    fn reads_a_server_lease_and_ignores_unknown_fields() {
        let l = lease(SERVER_LEASE.as_bytes()).unwrap();
        assert_eq!(l.name, "cert-lock-a379a6f6eeafb9a5");
        assert_eq!(l.namespace.as_deref(), Some("netbird"));
        assert_eq!(
            l.uid.as_deref(),
            Some("0b6a1b9e-3f5d-4c1e-9a39-2f6c1f3f9d11")
        );
        assert_eq!(l.resource_version.as_deref(), Some("4711"));
        assert_eq!(
            l.creation_timestamp,
            Some(MicroTime::parse("2026-11-28T10:00:00Z").unwrap())
        );
        assert_eq!(
            l.labels,
            vec![("a".into(), "1".into()), ("b".into(), "2".into())]
        );
        assert_eq!(
            l.annotations,
            vec![("netbird.io/domain".into(), "example.com".into())]
        );
        assert_eq!(l.spec.holder_identity.as_deref(), Some("proxy-0"));
        assert_eq!(l.spec.lease_duration_seconds, Some(300));
        assert_eq!(
            l.spec.acquire_time.unwrap().to_rfc3339_micros().unwrap(),
            "2026-11-28T10:00:00.123456Z"
        );
        assert_eq!(l.spec.lease_transitions, Some(2));
        assert_eq!(l.spec.strategy, None);
    }

    #[test]
    fn a_server_lease_reencodes_to_go_bytes_for_go_fields() {
        let mut l = lease(SERVER_LEASE.as_bytes()).unwrap();
        // What the Go original re-sends after reading this lease: only the fields it models.
        l.uid = None;
        l.labels.clear();
        l.spec.lease_transitions = None;
        let go = r#"{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"cert-lock-a379a6f6eeafb9a5","namespace":"netbird","resourceVersion":"4711","annotations":{"netbird.io/domain":"example.com"}},"spec":{"holderIdentity":"proxy-0","leaseDurationSeconds":300,"acquireTime":"2026-11-28T10:00:00.123456Z","renewTime":"2026-11-28T10:00:01.000000Z"}}"#;
        assert_eq!(
            String::from_utf8(crate::encode::lease_body(&l).unwrap()).unwrap(),
            go
        );
    }

    #[test]
    fn null_and_empty_times_are_unset() {
        let l = lease(br#"{"metadata":{"name":"x"},"spec":{"holderIdentity":null,"acquireTime":null,"renewTime":""}}"#).unwrap();
        assert_eq!(l.spec, LeaseSpec::default());
        let l = lease(br#"{"metadata":{"name":"x"}}"#).unwrap();
        assert_eq!(l.spec, LeaseSpec::default());
    }

    #[test]
    fn bad_bodies_are_decode_errors_naming_the_cause() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "not a Lease"),
            (b"<html>", "not a Lease"),
            (b"[]", "not a Lease"),
            (
                br#"{"kind":"Status","metadata":{"name":"x"}}"#,
                "sent a Status",
            ),
            (br#"{"metadata":{}}"#, "without metadata.name"),
            (
                br#"{"metadata":{"name":"x"},"spec":{"renewTime":"yesterday"}}"#,
                "spec.renewTime",
            ),
            (
                br#"{"metadata":{"name":"x"},"spec":{"leaseDurationSeconds":3000000000}}"#,
                "spec.leaseDurationSeconds 3000000000 is not a 32-bit integer",
            ),
            (
                br#"{"metadata":{"name":"x"},"spec":{"leaseDurationSeconds":1.5}}"#,
                "not a 32-bit integer",
            ),
            (
                br#"{"metadata":{"name":"x"},"spec":{"holderIdentity":7}}"#,
                "spec.holderIdentity is a number, not a string",
            ),
            (
                br#"{"metadata":{"name":"x","labels":{"a":1}}}"#,
                "metadata.labels[\"a\"] is a number",
            ),
            (
                br#"{"metadata":[],"spec":{}}"#,
                "metadata is an array, not an object",
            ),
            (
                br#"{"metadata":{"name":"x"},"spec":{"holderIdentity":"a"}"#,
                "at byte",
            ),
        ];
        for (body, want) in cases {
            match lease(body) {
                Err(Error::Decode(m)) => assert!(m.contains(want), "{m}"),
                other => panic!("{:?}: {other:?}", String::from_utf8_lossy(body)),
            }
        }
    }

    #[test]
    fn reads_a_lease_list() {
        let body = format!(
            r#"{{"kind":"LeaseList","apiVersion":"coordination.k8s.io/v1","metadata":{{"resourceVersion":"4800"}},"items":[{},{{"metadata":{{"name":"b"}},"spec":{{}}}}]}}"#,
            SERVER_LEASE
        );
        let list = lease_list(body.as_bytes()).unwrap();
        assert_eq!(list.resource_version, "4800");
        assert_eq!(list.items.len(), 2);
        assert_eq!(list.items[1].name, "b");
        let empty =
            lease_list(br#"{"kind":"LeaseList","metadata":{"resourceVersion":"1"},"items":[]}"#)
                .unwrap();
        assert!(empty.items.is_empty());
        assert!(matches!(
            lease_list(br#"{"kind":"Lease"}"#),
            Err(Error::Decode(_))
        ));
    }

    #[test]
    fn status_bodies_give_code_reason_message_and_causes() {
        let body = br#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Lease.coordination.k8s.io \"x\" is invalid: spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0","reason":"Invalid","details":{"name":"x","group":"coordination.k8s.io","kind":"Lease","causes":[{"reason":"FieldValueInvalid","message":"Invalid value: 0: must be greater than 0","field":"spec.leaseDurationSeconds"}]},"code":422}"#;
        let s = api_status(422, None, body);
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
        assert_eq!(api_status(429, None, body).retry_after_seconds, Some(3));
        assert_eq!(
            api_status(429, Some(" 7 "), body).retry_after_seconds,
            Some(7)
        );
        assert_eq!(
            api_status(429, Some("Wed, 21 Oct 2026 07:28:00 GMT"), body).retry_after_seconds,
            Some(3)
        );
    }

    #[test]
    fn plain_text_bodies_keep_their_first_kilobyte() {
        let s = api_status(
            429,
            Some("1"),
            b"Too many requests, please try again later.\n",
        );
        assert_eq!(s.reason, "");
        assert_eq!(s.message, "Too many requests, please try again later.\n");
        assert_eq!(s.retry_after_seconds, Some(1));

        let long = format!("a{}", "é".repeat(1000)); // byte 1024 falls inside a character
        let s = api_status(503, None, long.as_bytes());
        assert_eq!(s.message, format!("a{}", "é".repeat(511)));
        let s = api_status(502, None, &[b'x'; 5000]);
        assert_eq!(s.message.len(), 1024);
        // JSON that is not a Status is kept as text too.
        let s = api_status(500, None, br#"{"kind":"Lease"}"#);
        assert_eq!(s.message, r#"{"kind":"Lease"}"#);
    }
}
