//! kube-lease as an HTTP lock service: a `wasi:http/proxy` component (what `wasmtime serve`
//! and Spin's HTTP trigger run) serving leases and locks over REST.
//!
//! The request parsing (`routes`) and the answers (`respond`) are pure and tested natively;
//! `handler` (wasm32 only) is the `wasi:http/incoming-handler` glue around them.

pub mod respond;
pub mod routes;

// The export macro's glue is `unsafe extern "C"`.
#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
mod handler;
#[cfg(target_arch = "wasm32")]
mod service;
