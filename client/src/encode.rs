//! Lease and DeleteOptions request bodies, byte-compatible with the Go original's
//! `json.Marshal` of its Lease struct, extended with the fields it does not model.
//!
//! Field order: `apiVersion, kind, metadata{name, namespace, uid, resourceVersion, labels,
//! annotations}, spec{holderIdentity, leaseDurationSeconds, acquireTime, renewTime,
//! leaseTransitions, strategy, preferredHolder}`. `holderIdentity`, `acquireTime` and
//! `renewTime` are written as `null` when absent (the Go original has no `omitempty` there, and
//! an update that clears a holder must send nulls); everything else is omitted when absent.
//! `creationTimestamp` is never written: the server owns it.

use crate::prelude::*;

use crate::error::Error;
use crate::go_json::{self, quoted};
use crate::lease::{DeleteOptions, Entry, Lease, Preconditions};

/// The JSON body of a create or update of `lease`.
///
/// # Errors
/// `InvalidArgument` when a time is outside the years 0000-9999 or a map repeats a key.
pub fn lease_body(lease: &Lease) -> Result<Vec<u8>, Error> {
    unique_keys("labels", &lease.labels)?;
    unique_keys("annotations", &lease.annotations)?;
    for (field, time) in [
        ("spec.acquireTime", lease.spec.acquire_time),
        ("spec.renewTime", lease.spec.renew_time),
    ] {
        if let Some(Err(e)) = time.map(|t| t.to_rfc3339_micros()) {
            return Err(Error::InvalidArgument(format!("{field}: {e}")));
        }
    }
    written(go_json::to_vec(lease))
}

/// The DeleteOptions body carrying `preconditions` (omitted when both are absent).
///
/// # Errors
/// None in practice: DeleteOptions holds only strings.
pub fn delete_options_body(preconditions: &Preconditions) -> Result<Vec<u8>, Error> {
    written(go_json::to_vec(&DeleteOptions::with(preconditions)))
}

fn written(json: Result<Vec<u8>, serde_json::Error>) -> Result<Vec<u8>, Error> {
    json.map_err(|e| Error::InvalidArgument(format!("cannot write the request body: {e}")))
}

/// A map written as JSON must not repeat a key (Go's map cannot).
fn unique_keys(key: &str, entries: &[Entry]) -> Result<(), Error> {
    let mut keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort_unstable();
    match keys.windows(2).find(|p| p[0] == p[1]) {
        Some(pair) => Err(Error::InvalidArgument(format!(
            "metadata.{key} has the key {} twice",
            quoted(pair[0])
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lease::LeaseSpec;
    use crate::micro_time::MicroTime;

    fn at(text: &str) -> Option<MicroTime> {
        Some(MicroTime::parse(text).unwrap())
    }

    fn text(lease: &Lease) -> String {
        String::from_utf8(lease_body(lease).unwrap()).unwrap()
    }

    /// What the Go original's ACME locker creates for `example.com`, held by `proxy-0`.
    fn go_create() -> Lease {
        Lease {
            name: "cert-lock-a379a6f6eeafb9a5".into(),
            namespace: Some("netbird".into()),
            annotations: vec![("netbird.io/domain".into(), "example.com".into())],
            spec: LeaseSpec {
                holder_identity: Some("proxy-0".into()),
                lease_duration_seconds: Some(300),
                acquire_time: at("2026-11-28T10:00:00.123456Z"),
                renew_time: at("2026-11-28T10:00:00.123456Z"),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    // The Go fixtures below were checked against go1.19.8: `json.Marshal` of the Go original's
    // Lease struct (as its doc gives it) with its MicroTime `MarshalJSON`, byte for byte.

    #[test]
    fn create_matches_go_bytes() {
        // json.Marshal of the Go original's Lease for the same create.
        let go = r#"{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"cert-lock-a379a6f6eeafb9a5","namespace":"netbird","annotations":{"netbird.io/domain":"example.com"}},"spec":{"holderIdentity":"proxy-0","leaseDurationSeconds":300,"acquireTime":"2026-11-28T10:00:00.123456Z","renewTime":"2026-11-28T10:00:00.123456Z"}}"#;
        assert_eq!(text(&go_create()), go);
    }

    #[test]
    fn takeover_update_matches_go_bytes() {
        let mut lease = go_create();
        lease.resource_version = Some("4711".into());
        lease.spec.holder_identity = Some("proxy-1".into());
        lease.spec.acquire_time = at("2026-11-28T10:05:01Z");
        lease.spec.renew_time = at("2026-11-28T10:05:01Z");
        let go = r#"{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"cert-lock-a379a6f6eeafb9a5","namespace":"netbird","resourceVersion":"4711","annotations":{"netbird.io/domain":"example.com"}},"spec":{"holderIdentity":"proxy-1","leaseDurationSeconds":300,"acquireTime":"2026-11-28T10:05:01.000000Z","renewTime":"2026-11-28T10:05:01.000000Z"}}"#;
        assert_eq!(text(&lease), go);
    }

    #[test]
    fn release_sends_empty_holder_and_null_times() {
        let mut lease = go_create();
        lease.resource_version = Some("4712".into());
        lease.spec.holder_identity = Some(String::new());
        lease.spec.acquire_time = None;
        lease.spec.renew_time = None;
        let go = r#"{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"cert-lock-a379a6f6eeafb9a5","namespace":"netbird","resourceVersion":"4712","annotations":{"netbird.io/domain":"example.com"}},"spec":{"holderIdentity":"","leaseDurationSeconds":300,"acquireTime":null,"renewTime":null}}"#;
        assert_eq!(text(&lease), go);
    }

    #[test]
    fn empty_lease_writes_nulls_and_omits_the_rest() {
        let lease = Lease {
            name: "x".into(),
            ..Default::default()
        };
        assert_eq!(
            text(&lease),
            r#"{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"x"},"spec":{"holderIdentity":null,"acquireTime":null,"renewTime":null}}"#
        );
    }

    #[test]
    fn fields_go_does_not_model_follow_kubernetes_order() {
        let lease = Lease {
            name: "x".into(),
            namespace: Some("ns".into()),
            uid: Some("u-1".into()),
            resource_version: Some("7".into()),
            creation_timestamp: at("2026-01-01T00:00:00Z"),
            labels: vec![("b".into(), "2".into()), ("a".into(), "1".into())],
            annotations: vec![("z".into(), "<&>".into())],
            spec: LeaseSpec {
                holder_identity: Some("h".into()),
                lease_duration_seconds: Some(15),
                lease_transitions: Some(3),
                strategy: Some("OldestEmulationVersion".into()),
                preferred_holder: Some("p".into()),
                ..Default::default()
            },
        };
        assert_eq!(
            text(&lease),
            r#"{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"x","namespace":"ns","uid":"u-1","resourceVersion":"7","labels":{"a":"1","b":"2"},"annotations":{"z":"\u003c\u0026\u003e"}},"spec":{"holderIdentity":"h","leaseDurationSeconds":15,"acquireTime":null,"renewTime":null,"leaseTransitions":3,"strategy":"OldestEmulationVersion","preferredHolder":"p"}}"#
        );
    }

    #[test]
    fn duplicate_map_keys_are_refused() {
        let lease = Lease {
            name: "x".into(),
            labels: vec![("a".into(), "1".into()), ("a".into(), "2".into())],
            ..Default::default()
        };
        let err = lease_body(&lease).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidArgument(m) if m.contains("labels") && m.contains("\"a\"")),
            "{err}"
        );
    }

    #[test]
    fn unwritable_times_are_refused() {
        let mut lease = Lease {
            name: "x".into(),
            ..Default::default()
        };
        lease.spec.renew_time = Some(MicroTime::from_unix_micros(i64::MAX));
        let err = lease_body(&lease).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidArgument(m) if m.starts_with("spec.renewTime")),
            "{err}"
        );
    }

    #[test]
    fn delete_options_carry_preconditions() {
        assert_eq!(
            delete_options_body(&Preconditions::default()).unwrap(),
            br#"{"kind":"DeleteOptions","apiVersion":"v1"}"#
        );
        let both = Preconditions {
            resource_version: Some("5".into()),
            uid: Some("u".into()),
        };
        assert_eq!(
            delete_options_body(&both).unwrap(),
            br#"{"kind":"DeleteOptions","apiVersion":"v1","preconditions":{"uid":"u","resourceVersion":"5"}}"#
        );
        let rv = Preconditions {
            resource_version: Some("5".into()),
            uid: None,
        };
        assert_eq!(
            delete_options_body(&rv).unwrap(),
            br#"{"kind":"DeleteOptions","apiVersion":"v1","preconditions":{"resourceVersion":"5"}}"#
        );
    }
}
