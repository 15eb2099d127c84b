//! kube-lease: Kubernetes `coordination.k8s.io/v1` Leases for WASI 0.2 components.
//!
//! The crate is a pure core — types, JSON, MicroTime, names, requests, error mapping,
//! validation — that needs no WASI call and is tested natively, under a thin shell
//! (`shell`, `bindings`; wasm32 only) that reads the service account and environment and
//! does the `wasi:http` round trip.

#![cfg_attr(all(target_arch = "wasm32", feature = "component"), no_std)]

extern crate alloc;

/// What std's prelude would give every module, from `alloc` (the component has no std).
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
pub mod go_json;
pub mod lease;
pub mod lock;
pub mod micro_time;
pub mod names;
pub mod pem;
pub mod request;
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

// The component build (feature `component`, on by default): the WIT exports and what std
// would provide a wasm32 binary. Without the feature, another wasm32 crate links kube-lease as
// a library and brings its own allocator and panic handler.
#[cfg(all(target_arch = "wasm32", feature = "component"))]
mod bindings;
#[cfg(all(target_arch = "wasm32", feature = "component"))]
mod convert;
#[cfg(all(target_arch = "wasm32", feature = "component"))]
mod runtime;
#[cfg(target_arch = "wasm32")]
pub mod shell;
