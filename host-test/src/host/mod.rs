//! The wasmtime 48 embedding of the kube-lease component.
