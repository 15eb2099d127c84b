//! Where `build.rs` put the kube-lease component it built for `wasm32-wasip2`.

include!(concat!(env!("OUT_DIR"), "/component.rs"));
