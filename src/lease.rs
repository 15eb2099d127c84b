//! The Lease object as kube-lease models it: the metadata that matters and the whole v1 spec.

use crate::prelude::*;

use crate::micro_time::MicroTime;

/// One `key: value` of a label or annotation map.
pub type Entry = (String, String);

/// The `spec` of a `coordination.k8s.io/v1` Lease; every field is optional, as on the wire.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeaseSpec {
    /// Who holds the lease; `None` or `""` means nobody.
    pub holder_identity: Option<String>,
    /// How long a holder may go without renewing before others may take over.
    pub lease_duration_seconds: Option<i32>,
    /// When the current holder acquired the lease.
    pub acquire_time: Option<MicroTime>,
    /// When the current holder last renewed the lease.
    pub renew_time: Option<MicroTime>,
    /// How many times the lease has changed holders.
    pub lease_transitions: Option<i32>,
    /// Coordinated leader election strategy (dropped by servers without the feature gate).
    pub strategy: Option<String>,
    /// Coordinated leader election preferred holder (dropped by servers without the gate).
    pub preferred_holder: Option<String>,
}

/// A `coordination.k8s.io/v1` Lease.
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

/// Conditions a delete must meet on the server.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Preconditions {
    /// Delete only if the stored lease has this resourceVersion.
    pub resource_version: Option<String>,
    /// Delete only if the stored lease has this uid.
    pub uid: Option<String>,
}
