//! Conversions between the WIT types and the core's types: field for field, nothing lost.
#![allow(missing_docs)]

use crate::bindings::exports::kube::lease::leases as wit_leases;
use crate::bindings::exports::kube::lease::types as wit;
use crate::{config, error, lease, micro_time};

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

/// The WIT status of an API error.
fn status(kind: wit::StatusKind, s: error::ApiStatus) -> wit::Error {
    wit::Error::Api(wit::ApiStatus {
        kind,
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
    })
}

impl From<error::Error> for wit::Error {
    fn from(e: error::Error) -> Self {
        use error::Error as E;
        use wit::StatusKind as K;
        match e {
            E::NotFound(s) => status(K::NotFound, s),
            E::AlreadyExists(s) => status(K::AlreadyExists, s),
            E::Conflict(s) => status(K::Conflict, s),
            E::Invalid(s) => status(K::Invalid, s),
            E::BadRequest(s) => status(K::BadRequest, s),
            E::Unauthorized(s) => status(K::Unauthorized, s),
            E::Forbidden(s) => status(K::Forbidden, s),
            E::TooManyRequests(s) => status(K::TooManyRequests, s),
            E::Server(s) => status(K::Server, s),
            E::OtherStatus(s) => status(K::OtherStatus, s),
            E::Transport(m) => Self::Transport(m),
            E::Timeout(m) => Self::Timeout(m),
            E::Config(m) => Self::Config(m),
            E::Decode(m) => Self::Decode(m),
            E::InvalidArgument(m) => Self::InvalidArgument(m),
        }
    }
}
