//! Shared fixtures: a cluster per test, leases, and unwrapping the two layers of results.

use std::ffi::OsStr;
use std::fmt::Debug;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use host_test::apiserver::Options;
use host_test::cluster::{Account, Cluster};
use host_test::host::{
    CallResult, ClientHandle, Config, Lease, LeaseError, LeaseSpec, MicroTime, Preconditions,
    Replica, Sandbox,
};

/// The namespace every test cluster uses.
pub const NS: &str = "netbird";

/// A fresh emulated apiserver and compiled component.
pub async fn cluster() -> Cluster {
    cluster_with(Options::default()).await
}

/// A fresh cluster with apiserver options.
pub async fn cluster_with(options: Options) -> Cluster {
    Cluster::start(NS, options).await.expect("cluster starts")
}

/// A cluster, one account, its replica and in-cluster client.
pub async fn connected() -> (Cluster, Account, Replica, ClientHandle) {
    let cluster = cluster().await;
    let account = cluster.account("replica-0").unwrap();
    let (replica, client) = cluster.replica(&account).await.unwrap();
    (cluster, account, replica, client)
}

/// A replica whose only allowed origin is the plain-http `addr`, and its explicit-config
/// client for it; with `creds`, that directory is mounted at `/creds` and its `token` is sent
/// (over http, as a test of what a server does with it).
pub async fn plain_http_client(
    cluster: &Cluster,
    addr: SocketAddr,
    timeout_ms: u32,
    creds: Option<&Path>,
) -> (Replica, ClientHandle) {
    let sandbox = Sandbox {
        allowed_origins: vec![format!("http://{addr}")],
        extra_dirs: creds
            .map(|dir| vec![(dir.to_path_buf(), "/creds".into())])
            .unwrap_or_default(),
        ..Sandbox::default()
    };
    let mut replica = cluster.host.instantiate(sandbox).await.unwrap();
    let config = Config {
        base_url: format!("http://{addr}"),
        namespace: NS.into(),
        token_file: creds.map(|_| "/creds/token".into()),
        timeout_ms: Some(timeout_ms),
        allow_token_over_http: creds.is_some(),
    };
    let client = ok(replica.client_with_config(&config).await);
    (replica, client)
}

/// The value of a call that must succeed.
pub fn ok<T>(r: CallResult<T>) -> T {
    match r.expect("the component trapped") {
        Ok(v) => v,
        Err(e) => panic!("expected success, got {e:?}"),
    }
}

/// The error of a call that must fail (not trap).
pub fn err<T: Debug>(r: CallResult<T>) -> LeaseError {
    match r.expect("the component trapped") {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e,
    }
}

/// A lease named `name` held by `holder` for 300 s from `at`.
pub fn held(name: &str, holder: &str, at: i64) -> Lease {
    Lease {
        name: name.into(),
        namespace: None,
        resource_version: None,
        uid: None,
        creation_timestamp: None,
        labels: Vec::new(),
        annotations: Vec::new(),
        spec: LeaseSpec {
            holder_identity: Some(holder.into()),
            lease_duration_seconds: Some(300),
            acquire_time: Some(MicroTime { unix_micros: at }),
            renew_time: Some(MicroTime { unix_micros: at }),
            lease_transitions: None,
            strategy: None,
            preferred_holder: None,
        },
    }
}

/// Delete unconditionally.
pub const NO_PRECONDITIONS: Preconditions = Preconditions {
    resource_version: None,
    uid: None,
};

/// 2026-11-28T10:00:00.123456Z
pub const T0: i64 = 1_795_860_000_123_456;

/// The error's text as a user would see it (Debug of the WIT value).
pub fn text(e: &LeaseError) -> String {
    format!("{e:?}")
}

/// Runs the real `kubectl` with `args`, which must succeed (within a generous deadline that
/// only proves it never hangs); its stdout and stderr.
pub async fn kubectl<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>) -> (String, String) {
    let run = tokio::process::Command::new("kubectl")
        .args(args)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("kubectl finishes")
        .expect("kubectl is installed (Debian package kubernetes-client)");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "kubectl failed: {stderr}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}
