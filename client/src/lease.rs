//! The Lease object as kube-lease models it: the metadata that matters and the whole v1 spec.

use crate::prelude::*;

use serde::{Deserialize, Serialize};

use crate::micro_time::MicroTime;
use crate::wire::fields;

/// One `key: value` of a label or annotation map.
pub type Entry = (String, String);

/// The `spec` of a `coordination.k8s.io/v1` Lease; every field is optional, as on the wire.
///
/// Written as the Go original writes it: `holderIdentity`, `acquireTime` and `renewTime` as
/// `null` when absent (it has no `omitempty` there, and an update that clears a holder must
/// send nulls), the rest omitted when absent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaseSpec {
    /// Who holds the lease; `None` or `""` means nobody.
    #[serde(default, deserialize_with = "fields::holder_identity")]
    pub holder_identity: Option<String>,
    /// How long a holder may go without renewing before others may take over.
    #[serde(
        default,
        deserialize_with = "fields::lease_duration_seconds",
        skip_serializing_if = "Option::is_none"
    )]
    pub lease_duration_seconds: Option<i32>,
    /// When the current holder acquired the lease.
    #[serde(default, deserialize_with = "fields::acquire_time")]
    pub acquire_time: Option<MicroTime>,
    /// When the current holder last renewed the lease.
    #[serde(default, deserialize_with = "fields::renew_time")]
    pub renew_time: Option<MicroTime>,
    /// How many times the lease has changed holders.
    #[serde(
        default,
        deserialize_with = "fields::lease_transitions",
        skip_serializing_if = "Option::is_none"
    )]
    pub lease_transitions: Option<i32>,
    /// Coordinated leader election strategy (dropped by servers without the feature gate).
    #[serde(
        default,
        deserialize_with = "fields::strategy",
        skip_serializing_if = "fields::omit_string"
    )]
    pub strategy: Option<String>,
    /// Coordinated leader election preferred holder (dropped by servers without the gate).
    #[serde(
        default,
        deserialize_with = "fields::preferred_holder",
        skip_serializing_if = "fields::omit_string"
    )]
    pub preferred_holder: Option<String>,
}

/// A `coordination.k8s.io/v1` Lease. Its JSON form (`crate::wire`) nests the metadata.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lease {
    /// `metadata.name`: a DNS-1123 subdomain.
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: Option<String>,
    /// `metadata.resourceVersion`: opaque, set by the server.
    pub resource_version: Option<String>,
    /// `metadata.uid`: set by the server on create.
    pub uid: Option<String>,
    /// `metadata.creationTimestamp`: set by the server on create.
    pub creation_timestamp: Option<MicroTime>,
    /// `metadata.labels`, sorted by key when read from a server.
    pub labels: Vec<Entry>,
    /// `metadata.annotations`, sorted by key when read from a server.
    pub annotations: Vec<Entry>,
    /// The spec.
    pub spec: LeaseSpec,
}

/// A list of leases and the store revision it was read at.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeaseList {
    /// `metadata.resourceVersion` of the list.
    pub resource_version: String,
    /// The leases, in the server's order.
    pub items: Vec<Lease>,
}

/// Conditions a delete must meet on the server (empty strings are not sent).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Preconditions {
    /// Delete only if the stored lease has this uid.
    #[serde(default, skip_serializing_if = "fields::omit_string")]
    pub uid: Option<String>,
    /// Delete only if the stored lease has this resourceVersion.
    #[serde(default, skip_serializing_if = "fields::omit_string")]
    pub resource_version: Option<String>,
}

/// `DeleteOptions`: what a DELETE carries in its body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteOptions {
    /// `DeleteOptions`.
    pub kind: String,
    /// `v1`.
    pub api_version: String,
    /// Conditions the delete must meet; omitted when none is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preconditions: Option<Preconditions>,
}

impl DeleteOptions {
    /// Options carrying `preconditions`, or none when neither is set.
    pub fn with(preconditions: &Preconditions) -> Self {
        let any = preconditions.uid.is_some() || preconditions.resource_version.is_some();
        Self {
            kind: "DeleteOptions".into(),
            api_version: "v1".into(),
            preconditions: any.then(|| preconditions.clone()),
        }
    }
}
