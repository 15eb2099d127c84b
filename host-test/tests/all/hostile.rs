//! The component's shell against servers that misbehave on purpose: long echoed tokens, huge
//! failure pages, bodies nobody reads, and the wire details strict proxies check.

use std::time::{Duration, Instant};

use host_test::apiserver::{ApiServer, Options};
use host_test::host::{Config, LeaseError, LockerOptions, StatusKind};

use crate::fake::{Behaviour, header, serve, serve_recording};
use crate::support::*;

/// A bound-service-account-sized token (they run to ~1.2 KB): visible ASCII, no repeats
/// long enough to be found by accident.
fn long_token() -> String {
    (0..1300u32)
        .map(|i| char::from(b'A' + u8::try_from((i * 7 + i / 26) % 26).unwrap()))
        .collect()
}

#[tokio::test]
async fn a_long_echoed_token_is_scrubbed_before_the_message_is_cut() {
    let cluster = cluster().await;
    let token = long_token();
    let creds = tempfile::tempdir().unwrap();
    std::fs::write(creds.path().join("token"), &token).unwrap();
    let echo = serve(Behaviour::EchoAuthorization).await;
    let (mut replica, client) = plain_http_client(&cluster, echo, 10_000, Some(creds.path())).await;
    match err(replica.get(&client, "x").await) {
        LeaseError::Api(s) => {
            assert_eq!((s.kind, s.code), (StatusKind::Server, 500));
            assert_eq!(s.message, "upstream rejected credentials Bearer <redacted>");
        }
        other => panic!("{other:?}"),
    }
    // No 16-byte piece of the token anywhere in what the guest printed either.
    let printed = replica.stderr();
    for piece in token.as_bytes().windows(16) {
        let piece = std::str::from_utf8(piece).unwrap();
        assert!(!printed.contains(piece), "{printed}");
    }
}

#[tokio::test]
async fn a_huge_failure_page_keeps_its_status_and_retry_after() {
    let cluster = cluster().await;
    let page = serve(Behaviour::Page(503, "7", 2 << 20)).await;
    let (mut replica, client) = plain_http_client(&cluster, page, 10_000, None).await;
    for result in [
        replica.get(&client, "x").await.map(|r| r.map(|_| ())),
        replica.list(&client).await.map(|r| r.map(|_| ())),
    ] {
        match err(result) {
            LeaseError::Api(s) => {
                assert_eq!((s.kind, s.code), (StatusKind::Server, 503));
                assert_eq!(s.retry_after_seconds, Some(7));
                assert!(s.message.starts_with("<html><body>xxx"), "{}", s.message);
                assert_eq!(s.message.len(), 1024);
            }
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn a_request_body_nobody_reads_times_out_within_the_deadline() {
    let cluster = cluster().await;
    let (mut replica, client) =
        plain_http_client(&cluster, serve(Behaviour::Hang).await, 500, None).await;
    // 24 MiB: more than loopback socket buffers and the host's body channel hold.
    let mut lease = held("x", "a", T0);
    lease.annotations = vec![("big".into(), "x".repeat(24 << 20))];
    let started = Instant::now();
    match err(replica.create(&client, &lease).await) {
        LeaseError::Timeout(m) => assert!(m.contains("500 ms"), "{m}"),
        other => panic!("{other:?}"),
    }
    // Bounded by the request timeout, not by the server: a generous "never hangs" bound.
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[tokio::test]
async fn a_write_refused_by_the_host_reports_why() {
    let cluster = cluster().await;
    let account = cluster.account("a").unwrap();
    // A destination the sandbox does not list: the host denies it, body and all.
    let other = serve(Behaviour::Huge(10)).await;
    let mut replica = cluster
        .host
        .instantiate(cluster.sandbox(&account))
        .await
        .unwrap();
    let config = Config {
        base_url: format!("http://{other}"),
        namespace: NS.into(),
        token_file: None,
        timeout_ms: Some(5_000),
        allow_token_over_http: false,
    };
    let client = ok(replica.client_with_config(&config).await);
    match err(replica.create(&client, &held("x", "a", T0)).await) {
        LeaseError::Transport(m) => assert!(m.contains("HTTP-request-denied"), "{m}"),
        other => panic!("{other:?}"),
    }
    // An apiserver whose certificate the sandbox does not trust: the TLS failure, by name.
    let impostor = ApiServer::start(Options::default()).await.unwrap();
    let mut sandbox = cluster.sandbox(&account);
    let addr = impostor.addr();
    sandbox.env = vec![
        ("KUBERNETES_SERVICE_HOST".into(), addr.ip().to_string()),
        ("KUBERNETES_SERVICE_PORT".into(), addr.port().to_string()),
    ];
    sandbox.allowed_origins = vec![format!("https://{addr}")];
    let mut replica = cluster.host.instantiate(sandbox).await.unwrap();
    let client = ok(replica.client_in_cluster().await);
    match err(replica.create(&client, &held("x", "a", T0)).await) {
        LeaseError::Transport(m) => assert!(m.contains("TLS"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(impostor.requests().is_empty());
}

#[tokio::test]
async fn requests_with_a_body_carry_its_length() {
    let cluster = cluster().await;
    let stored = r#"{"kind":"Lease","metadata":{"name":"x","resourceVersion":"1"}}"#;
    let (addr, seen) = serve_recording(Behaviour::Reply(201, "", stored)).await;
    let (mut replica, client) = plain_http_client(&cluster, addr, 10_000, None).await;
    ok(replica.create(&client, &held("x", "a", T0)).await);
    ok(replica.delete(&client, "x", &NO_PRECONDITIONS).await);
    let _ = replica.get(&client, "x").await;
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "{seen:?}");
    for request in &seen[..2] {
        let length = header(&request.head, "content-length").expect("Content-Length");
        assert_eq!(length, request.body.len().to_string(), "{}", request.head);
        assert!(request.body.starts_with(b"{\"") && request.body.ends_with(b"}"));
    }
    assert!(seen[2].head.starts_with("GET "), "{}", seen[2].head);
    assert_eq!(header(&seen[2].head, "content-length"), None);
}

#[tokio::test]
async fn null_label_values_and_zero_retry_advice_read_as_go_reads_them() {
    let cluster = cluster().await;
    let body = r#"{"kind":"Lease","metadata":{"name":"x","labels":{"a":null,"b":"2"},"annotations":{"netbird.io/domain":null}}}"#;
    let (mut replica, client) = plain_http_client(
        &cluster,
        serve(Behaviour::Reply(200, "", body)).await,
        10_000,
        None,
    )
    .await;
    let lease = ok(replica.get(&client, "x").await).expect("the lease");
    assert_eq!(
        lease.labels,
        vec![("a".into(), String::new()), ("b".into(), "2".into())]
    );
    assert_eq!(
        lease.annotations,
        vec![("netbird.io/domain".into(), String::new())]
    );

    let zero = Behaviour::Reply(429, "0", "Too many requests, please try again later.\n");
    let (mut replica, client) = plain_http_client(&cluster, serve(zero).await, 10_000, None).await;
    match err(replica.get(&client, "x").await) {
        LeaseError::Api(s) => {
            assert_eq!(s.kind, StatusKind::TooManyRequests);
            assert_eq!(s.retry_after_seconds, None);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_lock_in_a_namespace_that_does_not_exist_fails_instead_of_spinning() {
    let cluster = cluster().await;
    // Every request answers 404, as a real apiserver does for a missing namespace: the lease
    // reads as absent and its create is refused.
    let missing = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"namespaces \"netbird\" not found","reason":"NotFound","details":{"name":"netbird","kind":"namespaces"},"code":404}"#;
    let (addr, seen) = serve_recording(Behaviour::Reply(404, "", missing)).await;
    let (mut replica, client) = plain_http_client(&cluster, addr, 10_000, None).await;
    let options = LockerOptions {
        identity: Some("a".into()),
        lease_duration_seconds: None,
        renew_deadline_ms: None,
        backoff: None,
        expiry: None,
        max_clock_skew_ms: None,
    };
    let locker = ok(replica.locker_create(&client, &options).await);
    match err(replica.acquire(&locker, "x", &[], 5_000).await) {
        LeaseError::Api(s) => {
            assert_eq!((s.kind, s.code), (StatusKind::NotFound, 404));
            assert!(s.message.contains("namespaces"), "{}", s.message);
        }
        other => panic!("{other:?}"),
    }
    // One read and one create: no loop.
    assert_eq!(seen.lock().unwrap().len(), 2);
}
