//! The host's origin allow-list, seen by the guest: a request to an origin the sandbox does not
//! list, or to a listed host and port over the other scheme, or from a sandbox listing no
//! origin at all, fails with `HTTP-request-denied` and never reaches the network.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use host_test::cluster::Cluster;
use host_test::host::{Config, LeaseError, Sandbox};

use crate::fake::counting_listener;
use crate::support::*;

/// A `with-config` client of an instance in `sandbox`, aimed at `base_url`, tries a get: it
/// must be denied by the host.
async fn assert_denied(cluster: &Cluster, sandbox: Sandbox, base_url: String) {
    let mut replica = cluster.host.instantiate(sandbox).await.unwrap();
    let config = Config {
        base_url: base_url.clone(),
        namespace: NS.into(),
        token_file: None,
        timeout_ms: Some(5000),
        allow_token_over_http: false,
    };
    let client = ok(replica.client_with_config(&config).await);
    match err(replica.get(&client, "x").await) {
        LeaseError::Transport(m) => assert!(m.contains("HTTP-request-denied"), "{base_url}: {m}"),
        other => panic!("{base_url}: {other:?}"),
    }
}

/// `scheme://addr`.
fn url(scheme: &str, addr: SocketAddr) -> String {
    format!("{scheme}://{addr}")
}

#[tokio::test]
async fn an_unlisted_origin_is_denied_and_never_dialled() {
    let cluster = cluster().await;
    let (addr, accepted) = counting_listener().await;
    let elsewhere = counting_listener().await.0;
    for scheme in ["http", "https"] {
        let sandbox = Sandbox {
            allowed_origins: vec![url("http", elsewhere), url("https", elsewhere)],
            ..Sandbox::default()
        };
        assert_denied(&cluster, sandbox, url(scheme, addr)).await;
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn the_listed_host_and_port_over_the_other_scheme_is_denied() {
    let cluster = cluster().await;
    let (addr, accepted) = counting_listener().await;
    // An apiserver origin must not be reachable in clear text (the token would travel in it) ...
    let https_only = Sandbox {
        allowed_origins: vec![url("https", addr)],
        ..Sandbox::default()
    };
    assert_denied(&cluster, https_only, url("http", addr)).await;
    // ... and a plain-http origin (a kubectl proxy) is not an https one either.
    let http_only = Sandbox {
        allowed_origins: vec![url("http", addr)],
        ..Sandbox::default()
    };
    assert_denied(&cluster, http_only, url("https", addr)).await;
    assert_eq!(accepted.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_sandbox_without_origins_has_no_network() {
    let cluster = cluster().await;
    let (addr, accepted) = counting_listener().await;
    for scheme in ["http", "https"] {
        assert_denied(&cluster, Sandbox::default(), url(scheme, addr)).await;
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn the_apiserver_is_denied_to_a_sandbox_not_listing_it() {
    let cluster = cluster().await;
    let account = cluster.account("a").unwrap();
    let sandbox = Sandbox {
        allowed_origins: Vec::new(),
        ..cluster.sandbox(&account)
    };
    let mut replica = cluster.host.instantiate(sandbox).await.unwrap();
    let client = ok(replica.client_in_cluster().await);
    match err(replica.get(&client, "x").await) {
        LeaseError::Transport(m) => assert!(m.contains("HTTP-request-denied"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(
        cluster.api.requests().is_empty(),
        "no request reached the apiserver"
    );
}
