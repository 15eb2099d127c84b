//! Tests of the outgoing-HTTP sender on its own (no component): TLS trusting only the given CA,
//! the origin allow-list, the three timeouts, the errors, and connection pooling.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Empty};
use tokio::net::TcpListener;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

use super::client_config_trusting;
use super::hooks::TlsSender;
use super::network::{DEFAULT_IDLE_TIMEOUT, Networks};
use super::policy::Policy;
use super::test_support::{Behaviour, counting_server, mint, server};

/// A bodiless GET of `uri`.
fn get(uri: &str) -> Request<WasiBody> {
    Request::get(uri)
        .body(Empty::<Bytes>::new().map_err(|e| match e {}).boxed_unsync())
        .unwrap()
}

/// Short timeouts so failing tests fail fast.
fn options(first_byte: Duration) -> Option<RequestOptions> {
    Some(RequestOptions {
        connect_timeout: Some(Duration::from_secs(5)),
        first_byte_timeout: Some(first_byte),
        between_bytes_timeout: Some(Duration::from_secs(5)),
    })
}

/// A sender of `networks` allowed to reach `origin` only, trusting `ca_pem`; `fresh` opens a
/// connection per request.
fn sender_of(networks: &Networks, origin: &str, ca_pem: Option<&str>, fresh: bool) -> TlsSender {
    let policy = Policy::parse(&[origin.to_owned()]).unwrap();
    networks
        .sender(policy, ca_pem.map(str::as_bytes), fresh)
        .unwrap()
}

/// A sender allowed to reach `origin` only, trusting `ca_pem`, opening a connection per request.
fn sender(origin: &str, ca_pem: Option<&str>) -> TlsSender {
    sender_of(&Networks::new(DEFAULT_IDLE_TIMEOUT), origin, ca_pem, true)
}

/// The error `sender` fails a GET of `uri` with.
async fn fails(sender: &TlsSender, uri: &str, options: Option<RequestOptions>) -> Error {
    sender.send(get(uri), options).await.unwrap_err()
}

/// The error a GET of `https://{addr}/` fails with, trusting `ca_pem`.
async fn https_fails(addr: SocketAddr, ca_pem: Option<&str>) -> Error {
    let uri = format!("https://{addr}/");
    fails(
        &sender(&https(addr), ca_pem),
        &uri,
        options(Duration::from_secs(5)),
    )
    .await
}

/// `https://{addr}`.
fn https(addr: SocketAddr) -> String {
    format!("https://{addr}")
}

#[tokio::test]
async fn trusted_ca_gets_200_and_body() {
    let pki = mint(&["127.0.0.1", "localhost"]);
    let addr = server(Some(&pki), Behaviour::Answer).await;
    let uri = format!("https://{addr}/apis/x?limit=1");
    let response = sender(&https(addr), Some(&pki.ca_pem))
        .send(get(&uri), options(Duration::from_secs(5)))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    // The server saw origin-form, not the absolute URI.
    assert_eq!(body, "hello /apis/x?limit=1");
}

#[tokio::test]
async fn certificate_from_another_ca_is_a_certificate_error() {
    let server_pki = mint(&["127.0.0.1"]);
    let other = mint(&["127.0.0.1"]);
    let addr = server(Some(&server_pki), Behaviour::Answer).await;
    let err = https_fails(addr, Some(&other.ca_pem)).await;
    assert!(matches!(err, Error::TlsCertificateError), "{err:?}");
}

#[tokio::test]
async fn certificate_for_another_name_is_a_certificate_error() {
    let pki = mint(&["localhost"]);
    let addr = server(Some(&pki), Behaviour::Answer).await;
    let err = https_fails(addr, Some(&pki.ca_pem)).await;
    assert!(matches!(err, Error::TlsCertificateError), "{err:?}");
}

#[tokio::test]
async fn https_without_a_trusted_ca_fails() {
    let pki = mint(&["127.0.0.1"]);
    let addr = server(Some(&pki), Behaviour::Answer).await;
    let err = https_fails(addr, None).await;
    assert!(matches!(err, Error::TlsCertificateError), "{err:?}");
}

#[tokio::test]
async fn another_origin_is_denied_without_a_connection() {
    let pki = mint(&["127.0.0.1", "localhost"]);
    let (addr, connections) = counting_server(Some(&pki), Behaviour::Answer).await;
    let allowed = sender(&https(addr), Some(&pki.ca_pem));
    for uri in [
        format!("https://localhost:{}/", addr.port()),
        format!("http://{addr}/"),
        "https://127.0.0.1/".to_owned(),
        format!("https://user@{addr}/"),
    ] {
        let err = fails(&allowed, &uri, options(Duration::from_secs(5))).await;
        assert!(matches!(err, Error::HttpRequestDenied), "{uri}: {err:?}");
    }
    assert_eq!(connections.accepted(), 0);
    // The listed origin itself goes through.
    get_many(&allowed, addr, 1).await;
    assert_eq!(connections.accepted(), 1);
}

#[tokio::test]
async fn no_origin_is_no_network() {
    let (addr, connections) = counting_server(None, Behaviour::Answer).await;
    let none = Networks::new(DEFAULT_IDLE_TIMEOUT)
        .sender(Policy::default(), None, false)
        .unwrap();
    let uri = format!("http://{addr}/");
    let err = fails(&none, &uri, options(Duration::from_secs(5))).await;
    assert!(matches!(err, Error::HttpRequestDenied), "{err:?}");
    assert_eq!(connections.accepted(), 0);
}

#[tokio::test]
async fn plain_http_to_an_allowed_http_origin_works() {
    let addr = server(None, Behaviour::Answer).await;
    let response = sender(&format!("http://{addr}"), None)
        .send(
            get(&format!("http://{addr}/healthz")),
            options(Duration::from_secs(5)),
        )
        .await
        .unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "hello /healthz");
}

#[tokio::test]
async fn closed_port_is_connection_refused() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let pki = mint(&["127.0.0.1"]);
    let err = https_fails(addr, Some(&pki.ca_pem)).await;
    assert!(matches!(err, Error::ConnectionRefused), "{err:?}");
}

#[tokio::test]
async fn silent_server_is_a_read_timeout_within_the_first_byte_timeout() {
    let pki = mint(&["127.0.0.1"]);
    let addr = server(Some(&pki), Behaviour::Silent).await;
    let started = Instant::now();
    let err = fails(
        &sender(&https(addr), Some(&pki.ca_pem)),
        &format!("https://{addr}/"),
        options(Duration::from_millis(300)),
    )
    .await;
    let elapsed = started.elapsed();
    assert!(matches!(err, Error::ConnectionReadTimeout), "{err:?}");
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
}

#[tokio::test]
async fn unresponsive_tls_handshake_is_a_connect_timeout() {
    // Accepts TCP but never speaks TLS.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let pki = mint(&["127.0.0.1"]);
    let mut options = options(Duration::from_secs(5)).unwrap();
    options.connect_timeout = Some(Duration::from_millis(300));
    let uri = format!("https://{addr}/");
    let err = fails(
        &sender(&https(addr), Some(&pki.ca_pem)),
        &uri,
        Some(options),
    )
    .await;
    assert!(matches!(err, Error::ConnectionTimeout), "{err:?}");
    drop(listener);
}

/// Sends `count` GETs one after the other, reading each body; returns the bodies.
async fn get_many(sender: &TlsSender, addr: SocketAddr, count: usize) -> Vec<Bytes> {
    let mut bodies = Vec::new();
    for i in 0..count {
        let uri = format!("https://{addr}/{i}");
        let response = sender
            .send(get(&uri), options(Duration::from_secs(5)))
            .await
            .unwrap();
        bodies.push(response.into_body().collect().await.unwrap().to_bytes());
    }
    bodies
}

#[tokio::test]
async fn pooled_sender_reuses_one_connection() {
    let pki = mint(&["127.0.0.1"]);
    let (addr, connections) = counting_server(Some(&pki), Behaviour::Answer).await;
    let networks = Networks::new(DEFAULT_IDLE_TIMEOUT);
    let pooled = sender_of(&networks, &https(addr), Some(&pki.ca_pem), false);
    let bodies = get_many(&pooled, addr, 3).await;
    assert_eq!(bodies, ["hello /0", "hello /1", "hello /2"]);
    assert_eq!(connections.accepted(), 1);
    // Another sender for the same origins and CA shares the pool ...
    let shared = sender_of(&networks, &https(addr), Some(&pki.ca_pem), false);
    get_many(&shared, addr, 1).await;
    assert_eq!(connections.accepted(), 1);
    // ... but not one trusting another CA (that CA never verified the pooled connection) ...
    let other_ca = mint(&["127.0.0.1"]).ca_pem + &pki.ca_pem;
    let other = sender_of(&networks, &https(addr), Some(&other_ca), false);
    get_many(&other, addr, 1).await;
    assert_eq!(connections.accepted(), 2);
    // ... nor one that wants fresh connections.
    let fresh = sender_of(&networks, &https(addr), Some(&pki.ca_pem), true);
    get_many(&fresh, addr, 2).await;
    assert_eq!(connections.accepted(), 4);
}

#[tokio::test]
async fn unpooled_sender_connects_per_request() {
    let pki = mint(&["127.0.0.1"]);
    let (addr, connections) = counting_server(Some(&pki), Behaviour::Answer).await;
    get_many(&sender(&https(addr), Some(&pki.ca_pem)), addr, 3).await;
    assert_eq!(connections.accepted(), 3);
}

#[tokio::test]
async fn pooled_sender_survives_the_server_closing_connections() {
    let pki = mint(&["127.0.0.1"]);
    let (addr, connections) = counting_server(Some(&pki), Behaviour::AnswerThenClose).await;
    let networks = Networks::new(DEFAULT_IDLE_TIMEOUT);
    let pooled = sender_of(&networks, &https(addr), Some(&pki.ca_pem), false);
    let bodies = get_many(&pooled, addr, 3).await;
    assert_eq!(bodies, ["hello /0", "hello /1", "hello /2"]);
    assert_eq!(connections.accepted(), 3);
}

#[tokio::test]
async fn stalled_body_is_a_read_timeout_within_the_between_bytes_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // Plain HTTP: answers the head and 3 of 10 body bytes, then stalls.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 1024];
        let _ = tcp.read(&mut buf).await;
        let head = "HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc";
        tcp.write_all(head.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_secs(3600)).await;
    });
    let mut options = options(Duration::from_secs(5)).unwrap();
    options.between_bytes_timeout = Some(Duration::from_millis(300));
    let response = sender(&format!("http://{addr}"), None)
        .send(get(&format!("http://{addr}/")), Some(options))
        .await
        .unwrap();
    let started = Instant::now();
    let err = response.into_body().collect().await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(matches!(err, Error::ConnectionReadTimeout), "{err:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
}

#[test]
fn pem_without_certificates_is_rejected() {
    assert!(client_config_trusting(b"not a pem").is_err());
}
