//! `host-test lease`: the real binary as a subprocess, running the component against the
//! emulator in this process, directly over TLS and through a real `kubectl proxy`.

use std::ffi::OsString;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use host_test::cluster::{Account, Cluster};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt as _, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use crate::kubectl_proxy::Proxy;
use crate::support::*;

/// Generous bound for one CLI run (it compiles the component first): proves it never hangs.
pub(crate) const RUN_DEADLINE: Duration = Duration::from_secs(180);

/// Spawns `command` (stdout piped, killed when dropped) and reads its first stdout line
/// within `deadline`: `None` when it closed stdout first.
pub(crate) async fn first_line(
    command: &mut Command,
    deadline: Duration,
    what: &str,
) -> (Child, Lines<BufReader<ChildStdout>>, Option<String>) {
    let mut child = command
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{what} runs: {e}"));
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(deadline, lines.next_line())
        .await
        .unwrap_or_else(|_| panic!("{what} prints a line within {deadline:?}"))
        .unwrap();
    (child, lines, first)
}

/// What one run of the CLI printed.
pub(crate) struct Run {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// The JSON a successful run printed.
    pub(crate) fn json(&self) -> Value {
        assert!(self.status.success(), "{}: {}", self.status, self.stderr);
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }

    /// The one `error: ` line of a failed run (exit status 1, nothing on stdout).
    pub(crate) fn error_line(&self) -> &str {
        assert_eq!(self.status.code(), Some(1), "{}", self.stderr);
        assert_eq!(self.stdout, "");
        let lines: Vec<_> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{}", self.stderr);
        assert!(lines[0].starts_with("error: "), "{}", self.stderr);
        lines[0]
    }
}

/// Runs `host-test lease ARGS`.
pub(crate) async fn lease(args: impl IntoIterator<Item = impl Into<OsString>>) -> Run {
    let run = Command::new(env!("CARGO_BIN_EXE_host-test"))
        .arg("lease")
        .args(args.into_iter().map(Into::into))
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(RUN_DEADLINE, run)
        .await
        .expect("host-test lease finishes")
        .expect("host-test runs");
    Run {
        status: out.status,
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// `--server https://… --sa-dir DIR` and the operation.
pub(crate) fn in_cluster(cluster: &Cluster, dir: &Path, operation: &[&str]) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![
        "--server".into(),
        cluster.api.url().into(),
        "--sa-dir".into(),
        dir.into(),
    ];
    args.extend(operation.iter().map(OsString::from));
    args
}

/// A cluster, an account and two leases created through the component.
async fn two_leases() -> (Cluster, Account) {
    let (cluster, account, mut replica, client) = connected().await;
    let mut first = held("alpha", "proxy-0", T0);
    first.labels = vec![("app".into(), "netbird".into())];
    first.annotations = vec![("netbird.io/domain".into(), "example.com".into())];
    first.spec.lease_transitions = Some(2);
    ok(replica.create(&client, &first).await);
    ok(replica
        .create(&client, &held("beta", "proxy-1", T0 + 1))
        .await);
    (cluster, account)
}

/// Checks that `printed` shows the lease the emulator stores: every field of its metadata and
/// spec that the component knows, as the server writes them.
fn assert_shows_stored(cluster: &Cluster, printed: &Value) {
    let name = printed["metadata"]["name"].as_str().unwrap();
    let stored: Value = serde_json::from_str(&cluster.api.stored(NS, name).unwrap()).unwrap();
    assert_eq!(printed["apiVersion"], "coordination.k8s.io/v1");
    assert_eq!(printed["kind"], "Lease");
    for key in [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
        "labels",
        "annotations",
    ] {
        assert_eq!(printed["metadata"][key], stored["metadata"][key], "{key}");
    }
    assert_eq!(printed["spec"], stored["spec"]);
}

#[tokio::test]
async fn get_prints_the_stored_lease_as_kubernetes_json() {
    let (cluster, account) = two_leases().await;
    let printed = lease(in_cluster(&cluster, &account.dir, &["get", "alpha"]))
        .await
        .json();
    assert_eq!(printed["metadata"]["name"], "alpha");
    assert_eq!(printed["metadata"]["namespace"], NS);
    assert_eq!(printed["spec"]["holderIdentity"], "proxy-0");
    assert_eq!(printed["spec"]["renewTime"], "2026-11-28T10:00:00.123456Z");
    assert_eq!(printed["metadata"]["labels"]["app"], "netbird");
    assert_shows_stored(&cluster, &printed);
}

#[tokio::test]
async fn list_prints_a_lease_list_at_the_store_revision() {
    let (cluster, account) = two_leases().await;
    let printed = lease(in_cluster(&cluster, &account.dir, &["list"]))
        .await
        .json();
    assert_eq!(printed["kind"], "LeaseList");
    assert_eq!(
        printed["metadata"]["resourceVersion"],
        cluster.api.revision().to_string()
    );
    let items = printed["items"].as_array().unwrap();
    let names: Vec<_> = items.iter().map(|i| &i["metadata"]["name"]).collect();
    assert_eq!(names, ["alpha", "beta"]);
    for item in items {
        assert_shows_stored(&cluster, item);
    }
}

#[tokio::test]
async fn delete_removes_the_lease_and_a_get_then_fails_with_not_found() {
    let (cluster, account) = two_leases().await;
    let deleted = lease(in_cluster(&cluster, &account.dir, &["delete", "alpha"])).await;
    assert!(deleted.status.success(), "{}", deleted.stderr);
    assert_eq!(deleted.stdout, "");
    assert!(
        deleted.stderr.contains(r#""alpha" deleted"#),
        "{}",
        deleted.stderr
    );
    assert_eq!(cluster.api.stored(NS, "alpha"), None);
    assert!(cluster.api.stored(NS, "beta").is_some());

    let get = lease(in_cluster(&cluster, &account.dir, &["get", "alpha"])).await;
    assert_eq!(
        get.error_line(),
        r#"error: api not-found 404: lease "alpha" not found in namespace "netbird""#
    );
    let again = lease(in_cluster(&cluster, &account.dir, &["delete", "alpha"])).await;
    assert!(
        again.error_line().starts_with("error: api not-found 404: "),
        "{}",
        again.stderr
    );
}

#[tokio::test]
async fn a_revoked_token_is_one_unauthorized_line_without_the_token() {
    let (cluster, account) = two_leases().await;
    cluster.api.remove_token(&account.token);
    for operation in [&["get", "alpha"][..], &["list"], &["delete", "beta"]] {
        let run = lease(in_cluster(&cluster, &account.dir, operation)).await;
        let line = run.error_line();
        assert!(line.starts_with("error: api unauthorized 401: "), "{line}");
        assert!(!run.stderr.contains(&account.token), "{}", run.stderr);
        assert!(!run.stdout.contains(&account.token));
    }
    assert!(cluster.api.stored(NS, "beta").is_some());
}

#[tokio::test]
async fn a_ca_that_did_not_sign_the_server_is_a_tls_transport_error() {
    let (cluster, account) = two_leases().await;
    let stranger = host_test::apiserver::ApiServer::start(Default::default())
        .await
        .unwrap();
    std::fs::write(account.dir.join("ca.crt"), stranger.ca_pem()).unwrap();
    let before = cluster.api.requests().len();
    let run = lease(in_cluster(&cluster, &account.dir, &["get", "alpha"])).await;
    let line = run.error_line();
    assert!(line.starts_with("error: transport: "), "{line}");
    assert!(line.contains("TLS"), "{line}");
    assert_eq!(
        cluster.api.requests().len(),
        before,
        "no request passed the handshake"
    );
}

#[tokio::test]
async fn through_kubectl_proxy_over_http_with_no_token() {
    let (cluster, account) = two_leases().await;
    let proxy = Proxy::start(&cluster, &account).await;
    let before = cluster.api.requests().len();

    let url = proxy.url.as_str();

    // The namespace from the directory's `namespace` file; the token file stays unread.
    let sa_dir = account.dir.as_os_str();
    let printed = lease([
        "--server".as_ref(),
        url.as_ref(),
        "--sa-dir".as_ref(),
        sa_dir,
        "get".as_ref(),
        "alpha".as_ref(),
    ])
    .await
    .json();
    assert_shows_stored(&cluster, &printed);

    // The namespace given.
    let list = lease(["--server", url, "--namespace", NS, "list"])
        .await
        .json();
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    // Without either, `default`: nothing there.
    let absent = lease(["--server", url, "get", "alpha"]).await;
    assert_eq!(
        absent.error_line(),
        r#"error: api not-found 404: lease "alpha" not found in namespace "default""#
    );
    let through_proxy = cluster.api.requests()[before..].to_vec();
    proxy.stop().await;

    let gets: Vec<_> = through_proxy
        .iter()
        .filter(|r| r.path_and_query.contains("/leases"))
        .map(|r| r.path_and_query.as_str())
        .collect();
    assert_eq!(
        gets,
        [
            "/apis/coordination.k8s.io/v1/namespaces/netbird/leases/alpha",
            "/apis/coordination.k8s.io/v1/namespaces/netbird/leases",
            "/apis/coordination.k8s.io/v1/namespaces/default/leases/alpha",
        ]
    );
}

#[tokio::test]
async fn a_bad_command_line_is_one_usage_line() {
    let run = lease(["--server", "https://127.0.0.1:1", "list"]).await;
    assert_eq!(
        run.error_line(),
        "error: usage: an https:// server needs --sa-dir DIR (see host-test --help)"
    );
}
