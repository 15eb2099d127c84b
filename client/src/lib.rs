//! kube-lease-client: the Kubernetes `coordination.k8s.io/v1` Lease and lock client that the
//! kube-lease component (the workspace root) exports and the HTTP lock service (`proxy/`) serves.
//!
//! It is a pure core — types, JSON, MicroTime, names, requests, error mapping, validation, lock
//! rules — that needs no WASI call and is tested natively, under a thin shell (`shell`, wasm32
//! only) that reads the service account and environment and does the `wasi:http` round trip.
//! On wasm32 it is `no_std` (with `alloc`), so both a `no_std` component and a std program link it.

#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

/// What std's prelude would give every module, from `alloc` (the crate is `no_std` on wasm32).
#[allow(unused_imports)]
mod prelude {
    pub use alloc::borrow::ToOwned;
    pub use alloc::format;
    pub use alloc::string::{String, ToString};
    pub use alloc::vec::Vec;
}

pub mod config;
pub mod decode;
pub mod encode;
pub mod error;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod go_json;
pub mod lease;
pub mod lock;
pub mod micro_time;
pub mod names;
pub mod pem;
#[cfg(test)]
mod properties;
pub mod request;
pub mod retry;
pub mod status;
pub mod token;
pub mod watch;
pub mod wire;

pub use config::{ClientConfig, ExplicitConfig};
pub use error::{ApiStatus, Error, StatusCause, StatusKind};
pub use lease::{DeleteOptions, Lease, LeaseList, LeaseSpec, Preconditions};
pub use micro_time::MicroTime;
pub use names::lease_name_for_domain;
pub use status::Status;

#[cfg(target_arch = "wasm32")]
pub mod shell;
