//! The component's leases as Kubernetes JSON, as `kubectl get -o json` shows them: `apiVersion`,
//! `kind`, `metadata` and `spec` with RFC 3339 times (micro times with six fractional digits).

use kube_lease_client::micro_time::TimeError;
use serde_json::{Map, Value, json};

use crate::host::{Lease, LeaseList, MicroTime};

/// The Lease API's group and version.
const API_VERSION: &str = "coordination.k8s.io/v1";

/// A Lease object; absent fields and empty maps are left out.
pub fn lease(lease: &Lease) -> Value {
    let mut metadata = Map::new();
    metadata.insert("name".into(), lease.name.clone().into());
    put(&mut metadata, "namespace", lease.namespace.clone());
    put(&mut metadata, "uid", lease.uid.clone());
    put(
        &mut metadata,
        "resourceVersion",
        lease.resource_version.clone(),
    );
    put(
        &mut metadata,
        "creationTimestamp",
        lease
            .creation_timestamp
            .map(|t| text(core(t).to_rfc3339_seconds())),
    );
    put(&mut metadata, "labels", string_map(&lease.labels));
    put(&mut metadata, "annotations", string_map(&lease.annotations));
    let spec = &lease.spec;
    let mut body = Map::new();
    put(&mut body, "holderIdentity", spec.holder_identity.clone());
    put(
        &mut body,
        "leaseDurationSeconds",
        spec.lease_duration_seconds,
    );
    put(&mut body, "acquireTime", spec.acquire_time.map(micro_time));
    put(&mut body, "renewTime", spec.renew_time.map(micro_time));
    put(&mut body, "leaseTransitions", spec.lease_transitions);
    put(&mut body, "strategy", spec.strategy.clone());
    put(&mut body, "preferredHolder", spec.preferred_holder.clone());
    json!({
        "apiVersion": API_VERSION,
        "kind": "Lease",
        "metadata": metadata,
        "spec": body,
    })
}

/// A LeaseList object; every item carries its `apiVersion` and `kind` so that it can be
/// applied on its own.
pub fn lease_list(list: &LeaseList) -> Value {
    json!({
        "apiVersion": API_VERSION,
        "kind": "LeaseList",
        "metadata": { "resourceVersion": list.resource_version },
        "items": list.items.iter().map(lease).collect::<Vec<_>>(),
    })
}

/// A `MicroTime` as RFC 3339 with six fractional digits (`null` outside the years 0000-9999).
pub fn micro_time(t: MicroTime) -> Value {
    text(core(t).to_rfc3339_micros())
}

/// Inserts `value` under `key` when it is present.
fn put(map: &mut Map<String, Value>, key: &str, value: Option<impl Into<Value>>) {
    if let Some(value) = value {
        map.insert(key.into(), value.into());
    }
}

/// A label or annotation map; `None` when empty.
fn string_map(entries: &[(String, String)]) -> Option<Map<String, Value>> {
    (!entries.is_empty()).then(|| {
        entries
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect()
    })
}

/// The component's time as kube-lease's, which writes the wire forms.
fn core(t: MicroTime) -> kube_lease_client::MicroTime {
    kube_lease_client::MicroTime::from_unix_micros(t.unix_micros)
}

/// The written time; `null` outside the years 0000-9999 that RFC 3339 can write (the
/// component reads nothing else from a server).
fn text(written: Result<String, TimeError>) -> Value {
    written.map_or(Value::Null, Value::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::LeaseSpec;

    /// 2026-11-28T10:00:00.123456Z
    const T0: i64 = 1_795_860_000_123_456;

    fn sample() -> Lease {
        Lease {
            name: "cert-lock-a379a6f6eeafb9a5".into(),
            namespace: Some("netbird".into()),
            resource_version: Some("42".into()),
            uid: Some("7f0c-uid".into()),
            creation_timestamp: Some(MicroTime {
                unix_micros: T0 - 123_456,
            }),
            labels: vec![("app".into(), "proxy".into())],
            annotations: vec![("netbird.io/domain".into(), "example.com".into())],
            spec: LeaseSpec {
                holder_identity: Some("proxy-0".into()),
                lease_duration_seconds: Some(300),
                acquire_time: Some(MicroTime { unix_micros: T0 }),
                renew_time: Some(MicroTime {
                    unix_micros: T0 + 1,
                }),
                lease_transitions: Some(3),
                strategy: None,
                preferred_holder: None,
            },
        }
    }

    #[test]
    fn a_lease_has_the_kubernetes_shape_and_field_order() {
        let text = serde_json::to_string(&lease(&sample())).unwrap();
        assert_eq!(
            text,
            r#"{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"cert-lock-a379a6f6eeafb9a5","namespace":"netbird","uid":"7f0c-uid","resourceVersion":"42","creationTimestamp":"2026-11-28T10:00:00Z","labels":{"app":"proxy"},"annotations":{"netbird.io/domain":"example.com"}},"spec":{"holderIdentity":"proxy-0","leaseDurationSeconds":300,"acquireTime":"2026-11-28T10:00:00.123456Z","renewTime":"2026-11-28T10:00:00.123457Z","leaseTransitions":3}}"#
        );
    }

    #[test]
    fn absent_fields_are_left_out() {
        let mut bare = sample();
        bare.name = "x".into();
        (bare.namespace, bare.resource_version, bare.uid) = (None, None, None);
        bare.creation_timestamp = None;
        bare.labels.clear();
        bare.annotations.clear();
        let spec = &mut bare.spec;
        (spec.holder_identity, spec.lease_duration_seconds) = (None, None);
        (spec.renew_time, spec.lease_transitions) = (None, None);
        spec.acquire_time = Some(MicroTime { unix_micros: -1 });
        spec.strategy = Some("OldestEmulationVersion".into());
        spec.preferred_holder = Some("b".into());
        assert_eq!(
            serde_json::to_string(&lease(&bare)).unwrap(),
            r#"{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"x"},"spec":{"acquireTime":"1969-12-31T23:59:59.999999Z","strategy":"OldestEmulationVersion","preferredHolder":"b"}}"#
        );
    }

    #[test]
    fn a_list_carries_its_revision_and_self_describing_items() {
        let list = LeaseList {
            resource_version: "77".into(),
            items: vec![sample()],
        };
        let value = lease_list(&list);
        assert_eq!(value["kind"], "LeaseList");
        assert_eq!(value["metadata"]["resourceVersion"], "77");
        assert_eq!(value["items"][0], lease(&sample()));
        assert_eq!(value["items"][0]["kind"], "Lease");
    }

    #[test]
    fn a_time_rfc_3339_cannot_write_is_null() {
        let far = MicroTime {
            unix_micros: i64::MAX,
        };
        assert_eq!(micro_time(far), Value::Null);
    }
}
