//! Clients that stall: an unauthenticated client with an endless body gets its 401 at once,
//! and a client that stalls the TLS handshake or dribbles its headers is disconnected after
//! the configured timeout. Deadlines here are generous: they only prove "never hangs".

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use super::stream::tls;
use super::*;

/// Far longer than any timeout the tests set; reaching it means the server held on.
const NEVER_HANGS: Duration = Duration::from_secs(30);

/// A server that gives up on a client after `timeout` (TLS handshake and headers).
async fn impatient(timeout: Duration) -> (ApiServer, Client) {
    let limits = Limits {
        header_read_timeout: timeout,
        tls_accept_timeout: timeout,
        ..Limits::default()
    };
    server_with(Options::default(), limits).await
}

/// Reads until the server closes the connection (end of stream or a reset).
async fn read_until_closed(mut io: impl AsyncRead + Unpin) {
    let mut buf = [0u8; 1024];
    while let Ok(n) = io.read(&mut buf).await {
        if n == 0 {
            break;
        }
    }
}

#[tokio::test]
async fn an_unauthenticated_request_gets_401_without_its_body_being_read() {
    let (server, _c) = server(Options::default()).await;
    let mut io = tls(&server).await;
    // 100 MiB announced, a few bytes sent, and the rest never comes.
    let head = format!(
        "POST {LEASES} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer wrong-token\r\n\
         Content-Type: application/json\r\nContent-Length: 104857600\r\n\r\n{{\"kind\":",
        server.addr()
    );
    io.write_all(head.as_bytes()).await.unwrap();
    io.flush().await.unwrap();
    let reply = tokio::time::timeout(NEVER_HANGS, async {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&got).contains(r#""code":401}"#) {
            match io.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        String::from_utf8_lossy(&got).into_owned()
    })
    .await
    .expect("the 401 does not wait for the body");
    assert!(reply.starts_with("HTTP/1.1 401 "), "{reply}");
    assert!(
        reply.ends_with(
            "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"Unauthorized\",\"reason\":\"Unauthorized\",\"code\":401}\n"
        ),
        "{reply}"
    );
    let last = server.requests().pop().expect("recorded");
    assert_eq!((last.status, last.body.len()), (401, 0));
}

#[tokio::test]
async fn a_client_that_sends_nothing_is_disconnected() {
    let (server, c) = impatient(Duration::from_millis(300)).await;
    let tcp = TcpStream::connect(server.addr()).await.unwrap();
    tokio::time::timeout(NEVER_HANGS, read_until_closed(tcp))
        .await
        .expect("the TLS-accept timeout closes a silent connection");
    assert_eq!(c.get(LEASES).await.code, 200, "a prompt client is served");
}

#[tokio::test]
async fn a_client_that_sends_half_a_tls_hello_is_disconnected() {
    let (server, _c) = impatient(Duration::from_millis(300)).await;
    let mut tcp = TcpStream::connect(server.addr()).await.unwrap();
    // A handshake record announcing a 512-byte ClientHello, cut short.
    tcp.write_all(&[
        0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
    ])
    .await
    .unwrap();
    tokio::time::timeout(NEVER_HANGS, read_until_closed(tcp))
        .await
        .expect("the TLS-accept timeout closes a stalled handshake");
}

#[tokio::test]
async fn a_client_that_dribbles_its_headers_is_disconnected() {
    let (server, c) = impatient(Duration::from_millis(300)).await;
    let io = tls(&server).await;
    let (reader, mut writer) = tokio::io::split(io);
    let dribble = async move {
        let head = format!("GET {LEASES} HTTP/1.1\r\nHost: x\r\nX-Slow: ");
        let mut sent = writer.write_all(head.as_bytes()).await;
        // One byte every 50 ms: each arrives well within the timeout, the headers never do.
        while sent.is_ok() {
            sent = writer.write_all(b"a").await.and(writer.flush().await);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    // Either the read sees the close or a write fails on the closed connection.
    tokio::time::timeout(NEVER_HANGS, async {
        tokio::select! {
            () = read_until_closed(reader) => {}
            () = dribble => {}
        }
    })
    .await
    .expect("the header-read timeout closes a dribbling connection");
    assert_eq!(c.get(LEASES).await.code, 200, "a prompt client is served");
}
