//! The `kubectl proxy`-like listener: the TLS endpoint's pipeline over plain http without a
//! token, kubectl proxy's Host filter and Authorization pass-through, and stopping it.

use std::io::ErrorKind;

use super::stream::{RawWatch, head_header};
use super::*;

/// Who the proxy listener acts as.
const PROXY_USER: &str = "system:serviceaccount:default:lease-proxy";

/// A server with the TLS test client, a proxy listener as [`PROXY_USER`], and a tokenless
/// client of it.
async fn proxied() -> (ApiServer, Client, Client) {
    let (server, tls) = server(Options::default()).await;
    let url = server
        .start_proxy_listener(PROXY_USER)
        .await
        .expect("starts");
    let addr = server.proxy_addr().expect("running");
    assert_eq!(url, format!("http://{addr}"));
    assert_eq!(server.proxy_url().as_deref(), Some(url.as_str()));
    assert!(addr.ip().is_loopback() && addr.port() != server.addr().port());
    let proxied = Client::proxied(&server, None);
    (server, tls, proxied)
}

#[tokio::test]
async fn crud_and_a_watch_without_a_token_are_served_as_the_proxy_user() {
    let (server, tls, c) = proxied().await;
    let (mut watch, head) = RawWatch::open_proxied(&server, &format!("{LEASES}?watch=1")).await;
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert_eq!(head_header(&head, "transfer-encoding"), ["chunked"]);

    let created = create(&c, "a").await;
    let line = watch.next_line().await.expect("ADDED");
    assert_eq!(events(&line), ["ADDED a"]);
    let got = c.get(&format!("{LEASES}/a")).await;
    assert_eq!((got.code, got.json()), (200, created.clone()));
    let mut next = created.clone();
    next["spec"]["holderIdentity"] = "b".into();
    let put = c.put(&format!("{LEASES}/a"), &next.to_string()).await;
    assert_eq!(put.code, 200, "{}", put.body);
    let line = watch.next_line().await.expect("MODIFIED");
    assert_eq!(events(&line), ["MODIFIED a"]);
    assert_eq!(
        line.trim_end(),
        format!(
            r#"{{"type":"MODIFIED","object":{}}}"#,
            server.stored(NS, "a").unwrap()
        )
    );
    assert_eq!(c.delete(&format!("{LEASES}/a"), "").await.code, 200);
    assert_eq!(events(&watch.next_line().await.unwrap()), ["DELETED a"]);

    // A Status body is the TLS endpoint's, byte for byte.
    let absent = c.get(&format!("{LEASES}/a")).await;
    assert_eq!(absent.code, 404);
    assert_eq!(absent.body, tls.get(&format!("{LEASES}/a")).await.body);

    let writers: Vec<_> = server.history().into_iter().map(|w| w.user).collect();
    assert_eq!(writers, [PROXY_USER; 3]);
    let requests = server.requests();
    let through_proxy: Vec<_> = requests.iter().filter(|r| !r.has_authorization).collect();
    assert_eq!(
        through_proxy.len(),
        6,
        "the watch and five calls: {requests:?}"
    );
    assert!(
        through_proxy
            .iter()
            .all(|r| r.user.as_deref() == Some(PROXY_USER)),
        "{through_proxy:?}"
    );
    let last = requests.last().unwrap();
    assert_eq!(
        (last.user.as_deref(), last.has_authorization),
        (Some(USER), true),
        "the TLS request is the token's"
    );
}

#[tokio::test]
async fn a_host_kubectl_proxy_would_not_accept_is_forbidden_before_the_server() {
    let (server, _tls, c) = proxied().await;
    let port = server.proxy_addr().unwrap().port();
    // What kubectl proxy's default --accept-hosts lets through, the port split off as Go's
    // net.SplitHostPort does (which unbrackets [::1]:port, so that one is refused).
    let cases = [
        (format!("127.0.0.1:{port}"), 200),
        ("127.0.0.1".to_owned(), 200),
        (format!("localhost:{port}"), 200),
        ("localhost".to_owned(), 200),
        ("[::1]".to_owned(), 200),
        (format!("[::1]:{port}"), 403),
        (format!("LOCALHOST:{port}"), 403),
        (format!("kubernetes.default.svc:{port}"), 403),
        (format!("127.0.0.1.nip.io:{port}"), 403),
        ("evil.example".to_owned(), 403),
        (String::new(), 403),
    ];
    for (host, want) in &cases {
        let before = server.requests().len();
        let r = c
            .send(Method::GET, LEASES, &[("host", host.as_str())], "")
            .await
            .expect("answered");
        assert_eq!(r.code, *want, "Host {host:?}: {}", r.body);
        if *want == 403 {
            assert_eq!(r.body, "Forbidden\n");
            assert_eq!(r.headers["content-type"], "text/plain; charset=utf-8");
            assert_eq!(r.headers["x-content-type-options"], "nosniff");
            assert!(!r.headers.contains_key("audit-id"), "not the apiserver's");
            assert_eq!(server.requests().len(), before, "never reached the server");
        }
    }
    let write = c
        .send(
            Method::POST,
            LEASES,
            &[
                ("host", "evil.example"),
                ("content-type", "application/json"),
            ],
            &lease_body("x", SPEC),
        )
        .await
        .expect("answered");
    assert_eq!(write.code, 403);
    assert!(server.history().is_empty(), "nothing written");
}

#[tokio::test]
async fn an_authorization_header_is_passed_on_as_kubectl_proxy_does() {
    let (server, _tls, _) = proxied().await;
    let bogus = Client::proxied(&server, Some("bogus")).get(LEASES).await;
    assert_eq!(bogus.code, 401, "{}", bogus.body);
    assert_eq!(server.requests().last().unwrap().user, None);

    let token = Client::proxied(&server, Some(TOKEN)).get(LEASES).await;
    assert_eq!(token.code, 200, "{}", token.body);
    assert_eq!(
        server.requests().last().unwrap().user.as_deref(),
        Some(USER)
    );

    narrow_client(&server);
    let narrow = Client::proxied(&server, Some("narrow")).get(LEASES).await;
    assert_eq!(narrow.code, 403);
    assert!(
        narrow
            .body
            .contains(r#"User \"system:serviceaccount:ns:sa\""#),
        "{}",
        narrow.body
    );
}

#[tokio::test]
async fn stopping_refuses_connections_cuts_watches_and_leaves_tls_serving() {
    let (server, tls, c) = proxied().await;
    let addr = server.proxy_addr().unwrap();
    let again = server.start_proxy_listener("someone-else").await;
    let message = again.expect_err("one at a time").to_string();
    assert_eq!(
        message,
        format!("a proxy listener is already running at http://{addr}")
    );
    let (mut watch, _) = RawWatch::open_proxied(&server, &format!("{LEASES}?watch=1")).await;

    server.stop_proxy_listener().await;
    assert_eq!(server.proxy_addr(), None);
    let refused = TcpStream::connect(addr).await.expect_err("port closed");
    assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);
    assert_eq!(watch.next_line().await, None, "the open watch is cut");
    assert!(!watch.ended, "cut, not ended with the last chunk");
    assert!(c.send(Method::GET, LEASES, &[], "").await.is_err());
    assert_eq!(tls.get(LEASES).await.code, 200);
    server.stop_proxy_listener().await;

    // Back at the same port, as a restarted sidecar.
    let url = server
        .start_proxy_listener_at(PROXY_USER, addr.port())
        .await
        .expect("restarts");
    assert_eq!(url, format!("http://{addr}"));
    assert_eq!(c.get(LEASES).await.code, 200);

    server.shutdown().await;
    let refused = TcpStream::connect(addr).await.expect_err("shut down");
    assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);
}
