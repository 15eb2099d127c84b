//! The emulator's `kubectl proxy`-like listener end to end: the real component over plain http
//! with no token (CRUD, and a lock handed over by watch), the real `kubectl` through it, the
//! same answers as a real `kubectl proxy` in front of the TLS endpoint, and a stopped listener.

use std::net::SocketAddr;
use std::time::Duration;

use host_test::apiserver::Verb;
use host_test::cluster::Cluster;
use host_test::host::{ClientHandle, ExpiryRule, LeaseError, Replica};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::kubectl_proxy::Proxy;
use crate::lock_support::{Contender, await_watch_requests, options};
use crate::support::*;

/// Who the proxy listener acts as.
const PROXY_USER: &str = "system:serviceaccount:netbird:lease-proxy";

/// Generous bound for a request or a kubectl run: proves "never hangs", times nothing.
const NEVER_HANGS: Duration = Duration::from_secs(60);

/// Starts the cluster's proxy listener; its address.
async fn start_proxy(cluster: &Cluster) -> SocketAddr {
    let url = cluster.api.start_proxy_listener(PROXY_USER).await.unwrap();
    let addr = cluster.api.proxy_addr().unwrap();
    assert_eq!(url, format!("http://{addr}"));
    addr
}

/// A component instance whose client reaches the proxy listener at `addr` with no token.
async fn proxied_client(cluster: &Cluster, addr: SocketAddr) -> (Replica, ClientHandle) {
    plain_http_client(cluster, addr, 10_000, None).await
}

#[tokio::test]
async fn the_component_reads_and_writes_through_the_proxy_listener_with_no_token() {
    let cluster = cluster().await;
    let addr = start_proxy(&cluster).await;
    let (mut replica, client) = proxied_client(&cluster, addr).await;

    let created = ok(replica.create(&client, &held("a", "proxy-1", T0)).await);
    assert_eq!(ok(replica.get(&client, "a").await), Some(created.clone()));
    let mut next = created.clone();
    next.spec.holder_identity = Some("proxy-2".into());
    let updated = ok(replica.update(&client, &next).await);
    assert_eq!(updated.spec.holder_identity.as_deref(), Some("proxy-2"));
    let list = ok(replica.list(&client).await);
    assert_eq!(list.items, [updated]);
    ok(replica.delete(&client, "a", &NO_PRECONDITIONS).await);
    assert_eq!(ok(replica.get(&client, "a").await), None);

    let history = cluster.api.history();
    let writes: Vec<_> = history.iter().map(|w| (w.verb, w.user.as_str())).collect();
    assert_eq!(
        writes,
        [
            (Verb::Create, PROXY_USER),
            (Verb::Update, PROXY_USER),
            (Verb::Delete, PROXY_USER)
        ]
    );
    let requests = cluster.api.requests();
    assert_eq!(requests.len(), 6, "{requests:?}");
    for r in &requests {
        assert!(!r.has_authorization, "no token sent: {r:?}");
        assert_eq!(r.user.as_deref(), Some(PROXY_USER), "{r:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_is_handed_over_by_watch_through_the_proxy_listener() {
    let cluster = cluster().await;
    let addr = start_proxy(&cluster).await;
    let mut contenders = Vec::new();
    for id in ["proxy-0", "proxy-1"] {
        let (mut replica, client) = proxied_client(&cluster, addr).await;
        let options = options(id, 30, ExpiryRule::ObservedTime);
        let locker = ok(replica.locker_create(&client, &options).await);
        contenders.push(Contender { replica, locker });
    }
    let mut waiter = contenders.pop().unwrap();
    let mut holder = contenders.pop().unwrap();
    let first = holder.take("lock-a").await;
    let waiting = tokio::spawn(async move { waiter.acquire("lock-a", 30_000).await });
    await_watch_requests(&cluster, "lock-a", 1).await;
    holder.release(&first).await;
    let second = tokio::time::timeout(NEVER_HANGS, waiting)
        .await
        .expect("the waiter gets the lease")
        .unwrap();
    assert_eq!(second.hold.identity, "proxy-1");
    assert!(second.hold.fencing_token > first.hold.fencing_token);

    let watches: Vec<_> = cluster
        .api
        .requests()
        .into_iter()
        .filter(|r| r.path_and_query.contains("watch=true"))
        .collect();
    assert!(!watches.is_empty());
    for w in &watches {
        assert_eq!((w.status, w.has_authorization), (200, false), "{w:?}");
        assert_eq!(w.user.as_deref(), Some(PROXY_USER), "{w:?}");
    }
    assert!(cluster.api.history().iter().all(|w| w.user == PROXY_USER));
}

#[tokio::test]
async fn kubectl_lists_leases_through_the_proxy_listener_without_credentials() {
    let cluster = cluster().await;
    let addr = start_proxy(&cluster).await;
    let (mut replica, client) = proxied_client(&cluster, addr).await;
    ok(replica.create(&client, &held("a", "proxy-7", T0)).await);
    // No kubeconfig to fall back on: an empty file.
    let empty = cluster.path("empty-kubeconfig");
    std::fs::write(&empty, "").unwrap();
    let server = format!("http://{addr}");
    let (stdout, _) = kubectl([
        "--kubeconfig",
        empty.to_str().unwrap(),
        "--server",
        &server,
        "get",
        "leases",
        "-n",
        NS,
    ])
    .await;
    let rows: Vec<Vec<_>> = stdout
        .lines()
        .map(|l| l.split_whitespace().take(2).collect())
        .collect();
    assert_eq!(rows, [["NAME", "HOLDER"], ["a", "proxy-7"]], "{stdout}");
    let lists: Vec<_> = cluster
        .api
        .requests()
        .into_iter()
        .filter(|r| {
            r.user_agent
                .as_deref()
                .is_some_and(|a| a.starts_with("kubectl"))
        })
        .collect();
    assert!(!lists.is_empty());
    assert!(
        lists
            .iter()
            .all(|r| !r.has_authorization && r.user.as_deref() == Some(PROXY_USER)),
        "{lists:?}"
    );
}

#[tokio::test]
async fn a_stopped_proxy_listener_refuses_connections() {
    let cluster = cluster().await;
    let addr = start_proxy(&cluster).await;
    let (mut replica, client) = proxied_client(&cluster, addr).await;
    assert_eq!(ok(replica.get(&client, "a").await), None);
    cluster.api.stop_proxy_listener().await;
    let refused = TcpStream::connect(addr).await.expect_err("port closed");
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    match err(replica.get(&client, "a").await) {
        LeaseError::Transport(m) => assert!(m.contains(&format!("http://{addr}")), "{m}"),
        other => panic!("{other:?}"),
    }
}

/// One request on a fresh connection, read to its end: status code and body.
async fn raw_get(addr: SocketAddr, host: &str, authorization: Option<&str>) -> (u16, String) {
    let exchange = async {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        let auth = authorization
            .map(|a| format!("Authorization: {a}\r\n"))
            .unwrap_or_default();
        let request = format!(
            "GET /apis/coordination.k8s.io/v1/namespaces/{NS}/leases HTTP/1.1\r\n\
             Host: {host}\r\n{auth}Connection: close\r\n\r\n"
        );
        tcp.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        tcp.read_to_string(&mut response).await.unwrap();
        response
    };
    let response = tokio::time::timeout(NEVER_HANGS, exchange)
        .await
        .expect("answered");
    let (head, body) = response.split_once("\r\n\r\n").expect("a head");
    let code = head.split(' ').nth(1).and_then(|c| c.parse().ok());
    (code.expect("a status line"), body.to_owned())
}

#[tokio::test]
async fn it_answers_as_a_real_kubectl_proxy_does() {
    let cluster = cluster().await;
    let ours = start_proxy(&cluster).await;
    let account = cluster.account("lease-proxy").unwrap();
    let proxy = Proxy::start(&cluster, &account).await;
    let real = proxy.addr();
    let (mut replica, client) = proxied_client(&cluster, ours).await;
    ok(replica.create(&client, &held("a", "proxy-1", T0)).await);

    let bogus = Some("Bearer not-a-token");
    let other = format!("Bearer {}", cluster.account("other").unwrap().token);
    for (host, authorization) in [
        ("localhost", None),
        ("127.0.0.1:8001", None),
        ("[::1]", None),
        ("[::1]:8001", None),
        ("Localhost", None),
        ("evil.example:8001", None),
        ("", None),
        ("localhost", bogus),
        ("localhost", Some(other.as_str())),
    ] {
        let want = raw_get(real, host, authorization).await;
        let got = raw_get(ours, host, authorization).await;
        // Lists differ in nothing but who served them.
        assert_eq!(got, want, "Host {host:?}, Authorization {authorization:?}");
    }
    proxy.stop().await;
}
