//! Failures below HTTP: untrusted certificates, dropped connections, silence, oversized
//! bodies, refused destinations, and the token staying secret through all of them.

use std::time::{Duration, Instant};

use host_test::apiserver::{ApiServer, Options};
use host_test::host::{Config, LeaseError, StatusKind};

use crate::fake::{Behaviour, serve};
use crate::support::*;

#[tokio::test]
async fn a_server_certificate_from_another_ca_is_a_transport_error() {
    let cluster = cluster().await;
    let impostor = ApiServer::start(Options::default()).await.unwrap();
    let account = cluster.account("a").unwrap();
    impostor.add_token(&account.token, "x", None);
    let addr = impostor.addr();
    let mut sandbox = cluster.sandbox(&account);
    sandbox.env = vec![
        ("KUBERNETES_SERVICE_HOST".into(), addr.ip().to_string()),
        ("KUBERNETES_SERVICE_PORT".into(), addr.port().to_string()),
    ];
    sandbox.allowed_origins = vec![impostor.url()];
    let mut replica = cluster.host.instantiate(sandbox).await.unwrap();
    let client = ok(replica.client_in_cluster().await);
    match err(replica.get(&client, "x").await) {
        LeaseError::Transport(m) => assert!(m.contains("TLS") || m.contains("Tls"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(
        impostor.requests().is_empty(),
        "no request got through the handshake"
    );
}

#[tokio::test]
async fn a_closed_connection_is_a_transport_error() {
    let cluster = cluster().await;
    let (mut replica, client) =
        plain_http_client(&cluster, serve(Behaviour::Close).await, 5000, None).await;
    match err(replica.get(&client, "x").await) {
        LeaseError::Transport(m) => assert!(m.contains("http://127.0.0.1:"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_silent_server_times_out_within_the_configured_time() {
    let cluster = cluster().await;
    let (mut replica, client) =
        plain_http_client(&cluster, serve(Behaviour::Hang).await, 300, None).await;
    let started = Instant::now();
    match err(replica.get(&client, "x").await) {
        LeaseError::Timeout(m) => assert!(m.contains("300 ms"), "{m}"),
        other => panic!("{other:?}"),
    }
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(290) && took < Duration::from_secs(5),
        "{took:?}"
    );
}

#[tokio::test]
async fn an_oversized_body_is_refused() {
    let cluster = cluster().await;
    let (mut replica, client) =
        plain_http_client(&cluster, serve(Behaviour::Huge(2 << 20)).await, 5000, None).await;
    match err(replica.list(&client).await) {
        LeaseError::Decode(m) => assert!(m.contains("larger than 1048576 bytes"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_plain_text_429_keeps_its_body_and_retry_after() {
    let cluster = cluster().await;
    let apf = Behaviour::Reply(429, "3", "Too many requests, please try again later.\n");
    let (mut replica, client) = plain_http_client(&cluster, serve(apf).await, 5000, None).await;
    match err(replica.get(&client, "x").await) {
        LeaseError::Api(s) => {
            assert_eq!(
                (s.kind, s.code, s.reason.as_str()),
                (StatusKind::TooManyRequests, 429, "")
            );
            assert_eq!(s.message, "Too many requests, please try again later.\n");
            assert_eq!(s.retry_after_seconds, Some(3));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_server_timeout_status_is_a_server_error_with_retry_after() {
    let cluster = cluster().await;
    let body = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"The get operation against leases.coordination.k8s.io could not be completed at this time, please try again.","reason":"ServerTimeout","details":{"name":"x","group":"coordination.k8s.io","kind":"leases","retryAfterSeconds":2},"code":500}"#;
    let (mut replica, client) = plain_http_client(
        &cluster,
        serve(Behaviour::Reply(500, "", body)).await,
        5000,
        None,
    )
    .await;
    match err(replica.get(&client, "x").await) {
        LeaseError::Api(s) => {
            assert_eq!(
                (s.kind, s.code, s.reason.as_str()),
                (StatusKind::Server, 500, "ServerTimeout")
            );
            assert_eq!(s.retry_after_seconds, Some(2));
            assert!(s.message.starts_with("The get operation"), "{}", s.message);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_success_that_is_not_a_lease_is_a_decode_error() {
    let cluster = cluster().await;
    let (mut replica, client) = plain_http_client(
        &cluster,
        serve(Behaviour::Reply(200, "", "<html>proxy login</html>")).await,
        5000,
        None,
    )
    .await;
    match err(replica.get(&client, "x").await) {
        LeaseError::Decode(m) => assert!(m.starts_with("response is not a Lease"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_destination_other_than_the_apiserver_is_refused_by_the_host() {
    let (cluster, account, _replica, _client) = connected().await;
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
        timeout_ms: None,
        allow_token_over_http: false,
    };
    let client = ok(replica.client_with_config(&config).await);
    match err(replica.get(&client, "x").await) {
        LeaseError::Transport(m) => assert!(m.contains("denied"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn nothing_listening_is_a_transport_error() {
    let cluster = cluster().await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let (mut replica, client) = plain_http_client(&cluster, closed, 5000, None).await;
    match err(replica.get(&client, "x").await) {
        LeaseError::Transport(m) => assert!(m.contains("refused"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_token_never_appears_in_an_error() {
    let cluster = cluster().await;
    let account = cluster.account("secretive").unwrap();
    let echo = serve(Behaviour::EchoAuthorization).await;
    let (mut replica, client) = plain_http_client(&cluster, echo, 10_000, Some(&account.dir)).await;
    let echoed = err(replica.get(&client, "x").await);
    match &echoed {
        LeaseError::Api(s) if s.kind == StatusKind::Server => {
            assert!(s.message.contains("Bearer <redacted>"), "{}", s.message)
        }
        other => panic!("{other:?}"),
    }
    // And across the in-cluster failure modes.
    let (mut replica, client) = cluster.replica(&account).await.unwrap();
    let mut errors = vec![echoed];
    errors.push(err(replica.update(&client, &held("x", "a", T0)).await));
    let mut lease = ok(replica.create(&client, &held("x", "a", T0)).await);
    lease.resource_version = Some("12345".into());
    errors.push(err(replica.update(&client, &lease).await));
    cluster.api.remove_token(&account.token);
    errors.push(err(replica.get(&client, "x").await));
    std::fs::write(
        account.dir.join("token"),
        format!("{} extra", account.token),
    )
    .unwrap();
    errors.push(err(replica.get(&client, "x").await));
    for e in &errors {
        let shown = text(e);
        assert!(!shown.contains(&account.token), "token leaked: {shown}");
    }
    assert!(!replica.stderr().contains(&account.token));
}
