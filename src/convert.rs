//! Conversions between the WIT types and the core's types: field for field, nothing lost.
#![allow(missing_docs)]

use crate::bindings::exports::kube::lease::leases as wit_leases;
use crate::bindings::exports::kube::lease::locks as wit_locks;
use crate::bindings::exports::kube::lease::types as wit;
use kube_lease_client::lock::{self, options};
use kube_lease_client::{config, error, lease, micro_time};

impl From<wit::MicroTime> for micro_time::MicroTime {
    fn from(t: wit::MicroTime) -> Self {
        Self::from_unix_micros(t.unix_micros)
    }
}

impl From<micro_time::MicroTime> for wit::MicroTime {
    fn from(t: micro_time::MicroTime) -> Self {
        Self {
            unix_micros: t.unix_micros,
        }
    }
}

impl From<wit::Lease> for lease::Lease {
    fn from(l: wit::Lease) -> Self {
        let s = l.spec;
        Self {
            name: l.name,
            namespace: l.namespace,
            resource_version: l.resource_version,
            uid: l.uid,
            creation_timestamp: l.creation_timestamp.map(Into::into),
            labels: l.labels,
            annotations: l.annotations,
            spec: lease::LeaseSpec {
                holder_identity: s.holder_identity,
                lease_duration_seconds: s.lease_duration_seconds,
                acquire_time: s.acquire_time.map(Into::into),
                renew_time: s.renew_time.map(Into::into),
                lease_transitions: s.lease_transitions,
                strategy: s.strategy,
                preferred_holder: s.preferred_holder,
            },
        }
    }
}

impl From<lease::Lease> for wit::Lease {
    fn from(l: lease::Lease) -> Self {
        let s = l.spec;
        Self {
            name: l.name,
            namespace: l.namespace,
            resource_version: l.resource_version,
            uid: l.uid,
            creation_timestamp: l.creation_timestamp.map(Into::into),
            labels: l.labels,
            annotations: l.annotations,
            spec: wit::LeaseSpec {
                holder_identity: s.holder_identity,
                lease_duration_seconds: s.lease_duration_seconds,
                acquire_time: s.acquire_time.map(Into::into),
                renew_time: s.renew_time.map(Into::into),
                lease_transitions: s.lease_transitions,
                strategy: s.strategy,
                preferred_holder: s.preferred_holder,
            },
        }
    }
}

impl From<lease::LeaseList> for wit::LeaseList {
    fn from(l: lease::LeaseList) -> Self {
        Self {
            resource_version: l.resource_version,
            items: l.items.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<wit::Preconditions> for lease::Preconditions {
    fn from(p: wit::Preconditions) -> Self {
        Self {
            resource_version: p.resource_version,
            uid: p.uid,
        }
    }
}

impl From<wit_leases::Config> for config::ExplicitConfig {
    fn from(c: wit_leases::Config) -> Self {
        Self {
            base_url: c.base_url,
            namespace: c.namespace,
            token_file: c.token_file,
            timeout_ms: c.timeout_ms,
            allow_token_over_http: c.allow_token_over_http,
        }
    }
}

impl From<error::StatusKind> for wit::StatusKind {
    fn from(k: error::StatusKind) -> Self {
        use error::StatusKind as K;
        match k {
            K::NotFound => Self::NotFound,
            K::AlreadyExists => Self::AlreadyExists,
            K::Conflict => Self::Conflict,
            K::Invalid => Self::Invalid,
            K::BadRequest => Self::BadRequest,
            K::Unauthorized => Self::Unauthorized,
            K::Forbidden => Self::Forbidden,
            K::TooManyRequests => Self::TooManyRequests,
            K::Server => Self::Server,
            K::OtherStatus => Self::OtherStatus,
        }
    }
}

impl From<error::Error> for wit::Error {
    fn from(e: error::Error) -> Self {
        use error::Error as E;
        match e {
            E::Api(s) => Self::Api(wit::ApiStatus {
                kind: s.kind.into(),
                code: s.code,
                reason: s.reason,
                message: s.message,
                causes: s
                    .causes
                    .into_iter()
                    .map(|c| wit::StatusCause {
                        reason: c.reason,
                        message: c.message,
                        field: c.field,
                    })
                    .collect(),
                retry_after_seconds: s.retry_after_seconds,
            }),
            E::Transport(m) => Self::Transport(m),
            E::Timeout(m) => Self::Timeout(m),
            E::Config(m) => Self::Config(m),
            E::Decode(m) => Self::Decode(m),
            E::InvalidArgument(m) => Self::InvalidArgument(m),
            E::Lost(m) => Self::Lost(m),
        }
    }
}

impl From<wit_locks::LockerOptions> for options::LockerOptions {
    fn from(o: wit_locks::LockerOptions) -> Self {
        Self {
            identity: o.identity,
            lease_duration_seconds: o.lease_duration_seconds,
            renew_deadline_ms: o.renew_deadline_ms,
            backoff: o.backoff.map(|b| options::Backoff {
                initial_ms: b.initial_ms,
                max_ms: b.max_ms,
                jitter_percent: b.jitter_percent,
            }),
            expiry: o.expiry.map(|e| match e {
                wit_locks::ExpiryRule::ObservedTime => options::ExpiryRule::ObservedTime,
                wit_locks::ExpiryRule::WallClock => options::ExpiryRule::WallClock,
            }),
            max_clock_skew_ms: o.max_clock_skew_ms,
        }
    }
}

impl From<lock::Hold> for wit_locks::Hold {
    fn from(h: lock::Hold) -> Self {
        Self {
            name: h.name,
            identity: h.identity,
            resource_version: h.resource_version,
            acquire_time: h.acquire_time.into(),
            valid_until: h.valid_until.into(),
            valid_until_monotonic_ns: h.valid_until_monotonic_ns,
            fencing_token: h.fencing_token,
        }
    }
}

impl From<wit_locks::Hold> for lock::Hold {
    fn from(h: wit_locks::Hold) -> Self {
        Self {
            name: h.name,
            identity: h.identity,
            resource_version: h.resource_version,
            acquire_time: h.acquire_time.into(),
            valid_until: h.valid_until.into(),
            valid_until_monotonic_ns: h.valid_until_monotonic_ns,
            fencing_token: h.fencing_token,
        }
    }
}

impl From<lock::Election> for wit_locks::Election {
    fn from(e: lock::Election) -> Self {
        Self {
            role: match e.role {
                lock::Role::Leading => wit_locks::Role::Leading,
                lock::Role::Following => wit_locks::Role::Following,
                lock::Role::Lost => wit_locks::Role::Lost,
            },
            holder: e.holder,
            hold: e.hold.map(Into::into),
            next_tick_ms: e.next_tick_ms,
        }
    }
}
