//! Fixtures for the fault tests: rules that fire once, what the request log and the write
//! history say about one lease, and a client with a short request timeout.

use host_test::apiserver::{Fault, FaultRule, RequestRecord, Verb, WriteRecord};
use host_test::cluster::Cluster;
use host_test::host::{ClientHandle, Config, Replica};

use crate::support::*;

/// The lease the fault tests use.
pub const LEASE: &str = "lock-f";

/// `fault` on the next request of `verb` to [`LEASE`] (a create's name is in its body, which
/// rules do not read: any create, and the tests create only [`LEASE`]).
pub fn once(fault: Fault, verb: &str) -> FaultRule {
    times(1, fault, verb)
}

/// `fault` on the next `n` requests of `verb` to [`LEASE`], as [`once`].
pub fn times(n: usize, fault: Fault, verb: &str) -> FaultRule {
    let rule = FaultRule::next(n, fault).on_verb(verb);
    if verb == "create" {
        rule
    } else {
        rule.on_name(LEASE)
    }
}

/// A 429 advising `seconds`, in the plain-text APF form or as a Status.
pub fn throttled(seconds: u32, plain_text: bool) -> Fault {
    Fault::TooManyRequests {
        retry_after_s: seconds,
        plain_text,
    }
}

/// The requests with `method` for [`LEASE`] (a POST to the collection counts), in order.
fn requests(cluster: &Cluster, method: &str) -> Vec<RequestRecord> {
    let item = format!("/leases/{LEASE}");
    cluster
        .api
        .requests()
        .into_iter()
        .filter(|r| r.method == method)
        .filter(|r| {
            r.path_and_query.ends_with(&item)
                || (method == "POST" && r.path_and_query.ends_with("/leases"))
        })
        .collect()
}

/// The response statuses of those requests (0: no reply).
pub fn statuses(cluster: &Cluster, method: &str) -> Vec<u16> {
    requests(cluster, method).iter().map(|r| r.status).collect()
}

/// The faults that hit those requests.
pub fn faults_of(cluster: &Cluster, method: &str) -> Vec<Option<&'static str>> {
    requests(cluster, method).iter().map(|r| r.fault).collect()
}

/// The applied writes of `verb` to [`LEASE`], in order.
pub fn history_of(cluster: &Cluster, verb: Verb) -> Vec<WriteRecord> {
    cluster
        .api
        .history()
        .into_iter()
        .filter(|w| w.verb == verb && w.name == LEASE)
        .collect()
}

/// How many writes of `verb` to [`LEASE`] were applied.
pub fn writes(cluster: &Cluster, verb: Verb) -> usize {
    history_of(cluster, verb).len()
}

/// A pod's replica for a fresh account `name` whose client (HTTPS, its token) gives every
/// request `timeout_ms`.
pub async fn short_timeout_client(
    cluster: &Cluster,
    name: &str,
    timeout_ms: u32,
) -> (Replica, ClientHandle) {
    let account = cluster.account(name).unwrap();
    // The pod's sandbox; its in-cluster client goes unused.
    let (mut replica, _) = cluster.replica(&account).await.unwrap();
    let config = Config {
        base_url: cluster.api.url(),
        namespace: NS.into(),
        token_file: Some("/var/run/secrets/kubernetes.io/serviceaccount/token".into()),
        timeout_ms: Some(timeout_ms),
        allow_token_over_http: false,
    };
    let client = ok(replica.client_with_config(&config).await);
    (replica, client)
}
