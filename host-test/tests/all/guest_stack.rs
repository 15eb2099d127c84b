//! The guests are linked with a 64 KiB stack (`.cargo/config.toml`) instead of Rust's 1 MiB,
//! most of an idle instance's memory. Parsing is where a hostile server could drive a parser
//! deep: JSON nested far past any limit must be answered, never trap the guest.

use crate::fake::{Behaviour, serve};
use crate::support::*;

/// A Lease whose metadata carries an unknown field nested `depth` arrays deep.
fn lease_nested(depth: usize) -> &'static str {
    let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let body = format!(
        r#"{{"kind":"Lease","apiVersion":"coordination.k8s.io/v1","metadata":{{"name":"x","extra":{nested}}},"spec":{{"holderIdentity":"a"}}}}"#
    );
    Box::leak(body.into_boxed_str())
}

#[tokio::test]
async fn json_nested_100_000_deep_is_read_without_a_trap() {
    let cluster = cluster().await;
    let deep = serve(Behaviour::Reply(200, "", lease_nested(100_000))).await;
    let (mut replica, client) = plain_http_client(&cluster, deep, 10_000, None).await;
    let lease = ok(replica.get(&client, "x").await).expect("the lease");
    assert_eq!(lease.spec.holder_identity.as_deref(), Some("a"));
}
