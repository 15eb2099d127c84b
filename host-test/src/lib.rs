//! host-test: a wasmtime 48 host for the kube-lease component, an emulated kube-apiserver for
//! Leases, the demo that puts them together, and the CLI's `lease` and `serve` commands.

pub mod apiserver;
pub mod bench;
pub mod chaos;
pub mod cluster;
pub mod demo;
pub mod history;
pub mod host;
pub mod lease_cli;
pub mod serve_cli;

/// `build.rs`'s check for the guest target, compiled here only to run its unit tests.
#[cfg(test)]
#[path = "../build/wasm_target.rs"]
mod wasm_target;
