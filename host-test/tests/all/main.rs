//! End-to-end tests: the real component `.wasm` in the wasmtime host, over real TLS, against the
//! emulated apiserver (or small misbehaving servers).

mod artifact;
mod auth;
mod chaos;
mod cli;
mod cli_lock;
mod construction;
mod crud;
mod demo;
mod fake;
mod fault_deadlines;
mod fault_support;
mod faults;
mod front;
mod guest_stack;
mod herd;
mod host_calls;
mod hostile;
mod kubectl_proxy;
mod limits;
mod lock_api;
mod lock_support;
mod locking;
mod locks;
mod origins;
mod pooling;
mod proxy_artifact;
mod proxy_listener;
mod secrets;
mod serve_embedded;
mod standalone;
mod support;
mod transport;
mod under_wasmtime_serve;
mod wasmtime_serve;
mod wire;
