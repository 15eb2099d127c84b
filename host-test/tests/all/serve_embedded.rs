//! The HTTP lock service served by the wasmtime embedding (`ProxyServer`, and `host-test
//! serve` as a subprocess): the real kube-lease-proxy component, a fresh instance per request,
//! against the emulator over real TLS trusting only the cluster CA.

use std::ffi::OsString;
use std::time::Duration;

use host_test::cluster::Cluster;
use host_test::host::{ProxyServer, ServeOptions};
use serde_json::Value;
use tokio::io::{AsyncWriteExt as _, BufReader, Lines};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStdout, Command};

use crate::cli::{RUN_DEADLINE, first_line, in_cluster};
use crate::front::{Answer, Front};
use crate::kubectl_proxy::Proxy;
use crate::support::*;

/// The token callers present.
const FRONT: &str = "front-s3cret";
/// Generous bound for one call or condition: proves nothing hangs.
const DEADLINE: Duration = Duration::from_secs(60);

/// A component that traps in `handle` (`unreachable`), importing only the two resource types.
pub const TRAPPING: &str = r#"(component
  (import "wasi:http/types@0.2.12" (instance $types
    (export "incoming-request" (type (sub resource)))
    (export "response-outparam" (type (sub resource)))))
  (alias export $types "incoming-request" (type $request))
  (alias export $types "response-outparam" (type $outparam))
  (core module $m (func (export "handle") (param i32 i32) unreachable))
  (core instance $i (instantiate $m))
  (func $handle (param "request" (own $request)) (param "response-out" (own $outparam))
    (canon lift (core func $i "handle")))
  (instance $handler (export "handle" (func $handle)))
  (export "wasi:http/incoming-handler@0.2.12" (instance $handler)))"#;

/// `method base/path` with the front `token` (if any) and a JSON `body`.
async fn call(base: &str, method: &str, path: &str, token: Option<&str>, body: &str) -> Answer {
    Front::new(base)
        .call(method, path, token, body)
        .await
        .expect("the server answers within the deadline")
}

/// `POST /v1/locks/{name}` for `identity`.
async fn lock(base: &str, name: &str, identity: &str) -> Answer {
    let body = format!(r#"{{"identity": "{identity}", "leaseDurationSeconds": 30}}"#);
    call(
        base,
        "POST",
        &format!("/v1/locks/{name}"),
        Some(FRONT),
        &body,
    )
    .await
}

/// `DELETE /v1/locks/{name}?identity=…`.
async fn release(base: &str, name: &str, identity: &str) -> Answer {
    let path = format!("/v1/locks/{name}?identity={identity}");
    call(base, "DELETE", &path, Some(FRONT), "").await
}

/// Waits (up to [`DEADLINE`]) until `condition` holds.
async fn eventually(what: &str, condition: impl Fn() -> bool) {
    let waited = tokio::time::timeout(DEADLINE, async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    waited.await.unwrap_or_else(|_| panic!("{what}"));
}

/// A cluster and the lock service serving as its pod would: service account, CA, token.
async fn serving() -> (Cluster, ProxyServer) {
    let cluster = cluster().await;
    let account = cluster.account("lock-service").unwrap();
    let mut sandbox = cluster.sandbox(&account);
    sandbox
        .env
        .push(("KUBE_LEASE_FRONT_TOKEN".into(), FRONT.into()));
    let options = ServeOptions {
        sandbox,
        ..ServeOptions::default()
    };
    (cluster, ProxyServer::start(options).await.unwrap())
}

/// The holder the emulator stores for lease `name`.
fn stored_holder(cluster: &Cluster, name: &str) -> Value {
    let stored: Value = serde_json::from_str(&cluster.api.stored(NS, name).unwrap()).unwrap();
    stored["spec"]["holderIdentity"].clone()
}

#[tokio::test]
async fn callers_contend_for_a_lock_and_only_the_holder_releases_it() {
    let (cluster, server) = serving().await;
    let url = server.url();
    let first = lock(&url, "cert-lock-a", "alice").await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["identity"], "alice");
    let alices_token = first.body["fencingToken"]
        .as_u64()
        .expect("a fencing token");
    assert_eq!(stored_holder(&cluster, "cert-lock-a"), "alice");

    let refused = lock(&url, "cert-lock-a", "bob").await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert_eq!(refused.body["error"], "held");
    assert_eq!(refused.body["holder"], "alice");

    let not_holder = release(&url, "cert-lock-a", "bob").await;
    assert_eq!(not_holder.status, 409, "{}", not_holder.body);
    assert_eq!(stored_holder(&cluster, "cert-lock-a"), "alice");
    let released = release(&url, "cert-lock-a", "alice").await;
    assert_eq!(released.status, 200, "{}", released.body);
    assert_eq!(released.body["released"], "cert-lock-a");

    let second = lock(&url, "cert-lock-a", "bob").await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert!(second.body["fencingToken"].as_u64().unwrap() > alices_token);
    assert_eq!(stored_holder(&cluster, "cert-lock-a"), "bob");
    eventually("every instance is dropped once answered", || {
        server.live_instances() == 0
    })
    .await;
}

#[tokio::test]
async fn guard_rails_answer_without_reaching_the_apiserver() {
    let (cluster, server) = serving().await;
    let url = server.url();
    let before = cluster.api.requests().len();
    let body = r#"{"identity": "mallory"}"#;
    for token in [None, Some("wrong")] {
        let answer = call(&url, "POST", "/v1/locks/cert-lock-a", token, body).await;
        assert_eq!(answer.status, 401, "{}", answer.body);
        assert_eq!(answer.body["error"], "unauthorized");
    }
    let outside = call(&url, "POST", "/v1/locks/other-a", Some(FRONT), body).await;
    assert_eq!(outside.status, 403, "{}", outside.body);
    assert_eq!(outside.body["error"], "forbidden");
    let malformed = call(
        &url,
        "POST",
        "/v1/locks/cert-lock-a",
        Some(FRONT),
        "{identity",
    )
    .await;
    assert_eq!(malformed.status, 400, "{}", malformed.body);
    let message = malformed.body["message"].as_str().unwrap();
    assert!(message.starts_with("invalid JSON body: "), "{message}");
    let health = call(&url, "GET", "/healthz", None, "").await;
    assert_eq!((health.status, &health.body["status"]), (200, &"ok".into()));
    assert_eq!(
        cluster.api.requests().len(),
        before,
        "nothing reached the apiserver"
    );
}

#[tokio::test]
async fn a_caller_giving_up_on_a_wait_ends_its_instance_and_watch() {
    let (cluster, server) = serving().await;
    assert_eq!(
        lock(&server.url(), "cert-lock-w", "alice").await.status,
        200
    );
    let body = r#"{"identity": "bob", "waitSeconds": 120}"#;
    let mut caller = TcpStream::connect(server.addr()).await.unwrap();
    let head = format!(
        "POST /v1/locks/cert-lock-w HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {FRONT}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        server.addr(),
        body.len()
    );
    caller.write_all(head.as_bytes()).await.unwrap();
    eventually("the waiting lock watches the lease", || {
        cluster.api.open_watches() == 1
    })
    .await;
    assert_eq!(server.live_instances(), 1);
    drop(caller);
    eventually("the instance and its watch end with the caller", || {
        server.live_instances() == 0 && cluster.api.open_watches() == 0
    })
    .await;
    assert_eq!(stored_holder(&cluster, "cert-lock-w"), "alice");
}

#[tokio::test]
async fn a_guest_trap_answers_500_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trapping.wasm");
    std::fs::write(&path, wat::parse_str(TRAPPING).unwrap()).unwrap();
    let server = ProxyServer::start(ServeOptions {
        component: Some(path),
        ..ServeOptions::default()
    })
    .await
    .unwrap();
    for _ in 0..2 {
        let answer = call(&server.url(), "GET", "/healthz", None, "").await;
        assert_eq!(answer.status, 500, "{}", answer.body);
        assert_eq!(answer.body["error"], "trap");
        let message = answer.body["message"].as_str().unwrap();
        assert!(message.contains("unreachable"), "{message}");
    }
    eventually("the trapped instances are dropped", || {
        server.live_instances() == 0
    })
    .await;
}

/// Starts `host-test serve ARGS --listen 127.0.0.1:0`, with `KUBE_LEASE_FRONT_TOKEN` set to
/// `front_token` (else unset); the process, its stdout and the URL it printed.
async fn start_serve(
    args: Vec<OsString>,
    front_token: Option<&str>,
) -> (Child, Lines<BufReader<ChildStdout>>, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_host-test"));
    command
        .arg("serve")
        .args(args)
        .args(["--listen", "127.0.0.1:0"])
        .env_remove("KUBE_LEASE_FRONT_TOKEN");
    if let Some(token) = front_token {
        command.env("KUBE_LEASE_FRONT_TOKEN", token);
    }
    let (child, stdout, first) = first_line(&mut command, RUN_DEADLINE, "serve").await;
    let first = first.expect("host-test serve prints where it serves");
    let url = first
        .strip_prefix("serving the lock service on ")
        .filter(|url| url.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("{first}"));
    (child, stdout, url.to_owned())
}

#[tokio::test]
async fn the_serve_subcommand_takes_a_lock_with_the_token_from_a_file() {
    let cluster = cluster().await;
    let account = cluster.account("served").unwrap();
    let token_file = cluster.path("front-token");
    std::fs::write(&token_file, format!("{FRONT}\n")).unwrap();
    let mut args = in_cluster(&cluster, &account.dir, &["--front-token-file"]);
    args.push(token_file.into());
    let (mut child, _stdout, url) = start_serve(args, None).await;
    let held = lock(&url, "cert-lock-cli", "cli-caller").await;
    assert_eq!(held.status, 200, "{}", held.body);
    assert!(
        held.body["fencingToken"].as_u64().is_some(),
        "{}",
        held.body
    );
    assert_eq!(stored_holder(&cluster, "cert-lock-cli"), "cli-caller");
    let wrong = call(&url, "GET", "/v1/leases/cert-lock-cli", Some("wrong"), "").await;
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    child.kill().await.unwrap();
}

#[tokio::test]
async fn the_serve_subcommand_reaches_the_apiserver_through_a_kubectl_proxy() {
    let cluster = cluster().await;
    let account = cluster.account("proxied").unwrap();
    let proxy = Proxy::start(&cluster, &account).await;
    let args = ["--server", &proxy.url, "--namespace", NS].map(OsString::from);
    let (mut child, _stdout, url) = start_serve(args.to_vec(), Some(FRONT)).await;
    let held = lock(&url, "cert-lock-proxied", "proxied-caller").await;
    assert_eq!(held.status, 200, "{}", held.body);
    assert_eq!(
        stored_holder(&cluster, "cert-lock-proxied"),
        "proxied-caller"
    );
    let got = call(&url, "GET", "/v1/leases/cert-lock-proxied", Some(FRONT), "").await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.body["metadata"]["namespace"], NS);
    child.kill().await.unwrap();
    proxy.stop().await;
}
