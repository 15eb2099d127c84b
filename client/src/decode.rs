//! Reading what a server sends on success: Lease and LeaseList bodies, with serde_json over the
//! `crate::wire` shapes. Unknown fields are ignored; anything that does not fit is a `Decode`
//! error naming the field. (Failure bodies, `Status`, are read by `crate::status`.)

use crate::prelude::*;

use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::lease::{Lease, LeaseList};

/// A Lease from a GET, create or update response.
///
/// # Errors
/// `Decode` when the body is not JSON, not a Lease, or a field does not fit its type.
pub fn lease(body: &[u8]) -> Result<Lease, Error> {
    read(body, "Lease")
}

/// A LeaseList from a list response.
///
/// # Errors
/// `Decode` when the body is not a LeaseList or an item is not a Lease.
pub fn lease_list(body: &[u8]) -> Result<LeaseList, Error> {
    read(body, "LeaseList")
}

fn read<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<T, Error> {
    serde_json::from_slice(body)
        .map_err(|e| Error::Decode(format!("response is not a {what}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lease::LeaseSpec;
    use crate::micro_time::MicroTime;

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
            (
                b"[]",
                "not a Lease: invalid type: sequence, expected a Lease object",
            ),
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
                "invalid value: integer `3000000000`, expected spec.leaseDurationSeconds to be a 32-bit integer",
            ),
            (
                br#"{"metadata":{"name":"x"},"spec":{"leaseDurationSeconds":1.5}}"#,
                "invalid type: floating point `1.5`, expected spec.leaseDurationSeconds to be a 32-bit integer",
            ),
            (
                br#"{"metadata":{"name":"x"},"spec":{"holderIdentity":7}}"#,
                "invalid type: integer `7`, expected spec.holderIdentity to be a string",
            ),
            (
                br#"{"metadata":{"name":"x","labels":{"a":1}}}"#,
                "invalid type: integer `1`, expected metadata.labels[\"a\"] to be a string",
            ),
            (
                br#"{"metadata":[],"spec":{}}"#,
                "invalid type: sequence, expected metadata to be an object",
            ),
            (
                br#"{"metadata":{"name":"x"},"spec":["h",5]}"#,
                "invalid type: sequence, expected spec to be an object",
            ),
            (
                br#"{"metadata":{"name":"x","annotations":[]}}"#,
                "invalid type: sequence, expected metadata.annotations to be an object of strings",
            ),
            (
                br#"{"metadata":{"name":"x"},"spec":{"holderIdentity":"a"}"#,
                "EOF while parsing an object at line 1 column 54",
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
    fn null_map_values_read_as_empty_strings_and_the_last_repeat_wins() {
        let l = lease(br#"{"metadata":{"name":"x","labels":{"b":null,"a":"1","b":"2"},"annotations":{"z":null}}}"#).unwrap();
        assert_eq!(
            l.labels,
            vec![("a".into(), "1".into()), ("b".into(), "2".into())]
        );
        assert_eq!(l.annotations, vec![("z".into(), String::new())]);
        let l = lease(br#"{"metadata":{"name":"x","labels":null,"annotations":{}}}"#).unwrap();
        assert!(l.labels.is_empty() && l.annotations.is_empty());
    }

    #[test]
    fn a_lease_survives_writing_and_reading() {
        let mut l = lease(SERVER_LEASE.as_bytes()).unwrap();
        l.creation_timestamp = None; // the server's, never written
        l.spec.strategy = Some("OldestEmulationVersion".into());
        let written = crate::encode::lease_body(&l).unwrap();
        assert_eq!(lease(&written).unwrap(), l);
    }

    #[test]
    fn a_lease_list_survives_writing_and_reading() {
        let mut item = lease(SERVER_LEASE.as_bytes()).unwrap();
        item.creation_timestamp = None;
        let list = LeaseList {
            resource_version: "4800".into(),
            items: vec![item],
        };
        let written = crate::go_json::to_vec(&list).unwrap();
        assert!(written.starts_with(br#"{"apiVersion":"coordination.k8s.io/v1","kind":"LeaseList","metadata":{"resourceVersion":"4800"},"items":[{"apiVersion""#));
        assert_eq!(lease_list(&written).unwrap(), list);
    }
}
