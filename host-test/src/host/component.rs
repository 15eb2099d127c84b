//! Where `build.rs` put the guests it built for `wasm32-wasip2`: the kube-lease component and
//! the HTTP lock service.

include!(concat!(env!("OUT_DIR"), "/component.rs"));
