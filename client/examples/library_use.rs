//! kube-lease-client as a plain library: what another crate (e.g. a wasm32 component with its
//! own world, as `proxy/`) uses, without the kube-lease component's exports and runtime.
//!
//! `cargo run -p kube-lease-client --example library_use`, or for wasm32:
//! `cargo build --target wasm32-wasip2 -p kube-lease-client --example library_use`.

use kube_lease_client::{Lease, decode, encode, lease_name_for_domain};

fn main() {
    let name = lease_name_for_domain("example.com");
    let stored = format!(
        r#"{{"kind":"Lease","metadata":{{"name":"{name}","resourceVersion":"7"}},"spec":{{"holderIdentity":"proxy-0","leaseDurationSeconds":300}}}}"#
    );
    let lease: Lease = decode::lease(stored.as_bytes()).expect("a Lease");
    let body = encode::lease_body(&lease).expect("writable");
    println!("{name} held by {:?}", lease.spec.holder_identity);
    println!("{}", String::from_utf8_lossy(&body));
}
