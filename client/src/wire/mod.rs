//! The JSON shapes of a Lease and a LeaseList: serde impls for the core's flat types.
//!
//! Written in the Go original's field order: `apiVersion, kind, metadata{name, namespace, uid,
//! resourceVersion, labels, annotations}, spec{…}` (the spec's order and nulls are
//! [`LeaseSpec`]'s); empty metadata strings and maps are omitted, map keys sorted bytewise as
//! Go sorts them, and `creationTimestamp` is never written: the server owns it. Read leniently:
//! unknown fields are ignored, absent and `null` are "not set", and a field of the wrong type
//! is an error naming the field.

use crate::prelude::*;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::lease::{Entry, Lease, LeaseList, LeaseSpec};
use crate::micro_time::MicroTime;
use fields::{Expecting, ObjectOnly};

pub mod fields;

/// `apiVersion` of a Lease.
pub const LEASE_API_VERSION: &str = "coordination.k8s.io/v1";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LeaseOut<'a> {
    api_version: &'static str,
    kind: &'static str,
    metadata: MetaOut<'a>,
    spec: &'a LeaseSpec,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MetaOut<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "fields::omit_string")]
    namespace: Option<&'a str>,
    #[serde(skip_serializing_if = "fields::omit_string")]
    uid: Option<&'a str>,
    #[serde(skip_serializing_if = "fields::omit_string")]
    resource_version: Option<&'a str>,
    #[serde(skip_serializing_if = "no_entries", serialize_with = "sorted_map")]
    labels: &'a [Entry],
    #[serde(skip_serializing_if = "no_entries", serialize_with = "sorted_map")]
    annotations: &'a [Entry],
}

fn no_entries(entries: &&[Entry]) -> bool {
    entries.is_empty()
}

/// A `map[string]string`, keys in Go's order (bytewise).
fn sorted_map<S: Serializer>(entries: &&[Entry], s: S) -> Result<S::Ok, S::Error> {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    s.collect_map(sorted.into_iter().map(|(k, v)| (k, v)))
}

impl Serialize for Lease {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        LeaseOut {
            api_version: LEASE_API_VERSION,
            kind: "Lease",
            metadata: MetaOut {
                name: &self.name,
                namespace: self.namespace.as_deref(),
                uid: self.uid.as_deref(),
                resource_version: self.resource_version.as_deref(),
                labels: &self.labels,
                annotations: &self.annotations,
            },
            spec: &self.spec,
        }
        .serialize(s)
    }
}

#[derive(Deserialize)]
struct LeaseIn {
    #[serde(default, deserialize_with = "fields::kind")]
    kind: Option<String>,
    #[serde(default)]
    metadata: Option<ObjectOnly<MetaIn>>,
    #[serde(default)]
    spec: Option<ObjectOnly<LeaseSpec>>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetaIn {
    #[serde(default, deserialize_with = "fields::name")]
    name: Option<String>,
    #[serde(default, deserialize_with = "fields::namespace")]
    namespace: Option<String>,
    #[serde(default, deserialize_with = "fields::uid")]
    uid: Option<String>,
    #[serde(default, deserialize_with = "fields::resource_version")]
    resource_version: Option<String>,
    #[serde(default, deserialize_with = "fields::creation_timestamp")]
    creation_timestamp: Option<MicroTime>,
    #[serde(default, deserialize_with = "fields::labels")]
    labels: Vec<Entry>,
    #[serde(default, deserialize_with = "fields::annotations")]
    annotations: Vec<Entry>,
}

/// Refuses a body whose `kind` names another type (an empty or absent kind is accepted).
fn expect_kind<E: serde::de::Error>(kind: Option<&str>, expected: &str) -> Result<(), E> {
    match kind {
        None | Some("") => Ok(()),
        Some(k) if k == expected => Ok(()),
        Some(k) => Err(E::custom(format_args!(
            "expected a {expected}, the server sent a {k}"
        ))),
    }
}

impl<'de> Deserialize<'de> for Lease {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = ObjectOnly::<LeaseIn>::deserialize(d)?.0;
        expect_kind(raw.kind.as_deref(), "Lease")?;
        let meta = raw.metadata.map(|m| m.0).unwrap_or_default();
        let name = meta
            .name
            .filter(|n| !n.is_empty())
            .ok_or_else(|| D::Error::custom("the server sent a Lease without metadata.name"))?;
        Ok(Lease {
            name,
            namespace: meta.namespace,
            resource_version: meta.resource_version,
            uid: meta.uid,
            creation_timestamp: meta.creation_timestamp,
            labels: meta.labels,
            annotations: meta.annotations,
            spec: raw.spec.map(|s| s.0).unwrap_or_default(),
        })
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LeaseListOut<'a> {
    api_version: &'static str,
    kind: &'static str,
    metadata: ListMetaOut<'a>,
    items: &'a [Lease],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListMetaOut<'a> {
    resource_version: &'a str,
}

impl Serialize for LeaseList {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        LeaseListOut {
            api_version: LEASE_API_VERSION,
            kind: "LeaseList",
            metadata: ListMetaOut {
                resource_version: &self.resource_version,
            },
            items: &self.items,
        }
        .serialize(s)
    }
}

#[derive(Deserialize)]
struct LeaseListIn {
    #[serde(default, deserialize_with = "fields::kind")]
    kind: Option<String>,
    #[serde(default)]
    metadata: Option<ObjectOnly<ListMetaIn>>,
    #[serde(default, deserialize_with = "fields::items")]
    items: Option<Vec<Lease>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListMetaIn {
    #[serde(default, deserialize_with = "fields::resource_version")]
    resource_version: Option<String>,
}

impl Expecting for LeaseIn {
    const EXPECTING: &'static str = "a Lease object";
}

impl Expecting for MetaIn {
    const EXPECTING: &'static str = "metadata to be an object";
}

impl Expecting for LeaseSpec {
    const EXPECTING: &'static str = "spec to be an object";
}

impl Expecting for LeaseListIn {
    const EXPECTING: &'static str = "a LeaseList object";
}

impl Expecting for ListMetaIn {
    const EXPECTING: &'static str = "metadata to be an object";
}

impl<'de> Deserialize<'de> for LeaseList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = ObjectOnly::<LeaseListIn>::deserialize(d)?.0;
        expect_kind(raw.kind.as_deref(), "LeaseList")?;
        Ok(LeaseList {
            resource_version: raw
                .metadata
                .and_then(|m| m.0.resource_version)
                .unwrap_or_default(),
            items: raw.items.unwrap_or_default(),
        })
    }
}
