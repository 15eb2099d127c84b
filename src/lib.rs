//! kube-lease: Kubernetes `coordination.k8s.io/v1` Leases and locks as a WASI 0.2 component.
//!
//! This crate is only the component's glue: the bindings of `wit/world.wit` (`bindings`), the
//! conversions between its types and the client's (`convert`), and on wasm32 what std would
//! provide a binary (`runtime`). Everything else — the pure core and the `wasi:http` shell — is
//! the `kube-lease-client` library (`client/`), which the HTTP lock service (`proxy/`) links too.

#![cfg_attr(target_arch = "wasm32", no_std)]

#[cfg(target_arch = "wasm32")]
extern crate alloc;

#[cfg(target_arch = "wasm32")]
mod bindings;
#[cfg(target_arch = "wasm32")]
mod convert;
#[cfg(target_arch = "wasm32")]
mod runtime;
