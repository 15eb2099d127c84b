//! kube-lease-manager itself (crates.io, unpatched) against the emulator over TLS: a kube
//! client trusting only the emulator's CA, with a bearer token; one manager acquires, a second
//! waits and takes over once the first releases.

use std::time::Duration;

use kube_lease_manager::LeaseManagerBuilder;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use super::*;

/// Generous: a handover waits for the holder's lease to run out (3 s) at most.
const DEADLINE: Duration = Duration::from_secs(60);

/// A kube client for `server`, as `token`.
fn kube_client(server: &ApiServer, token: &str) -> kube::Client {
    let url = server.url().parse().expect("url");
    let mut config = kube::Config::new(url);
    let ca: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(server.ca_pem().as_bytes())
        .map(|c| c.expect("ca pem").to_vec())
        .collect();
    config.root_cert = Some(ca);
    config.auth_info.token = Some(secrecy::SecretString::from(token));
    kube::Client::try_from(config).expect("kube client")
}

async fn manager(server: &ApiServer, identity: &str) -> kube_lease_manager::LeaseManager {
    LeaseManagerBuilder::new(kube_client(server, TOKEN), "lm")
        .with_namespace(NS)
        .with_identity(identity)
        .with_duration(3)
        .with_grace(1)
        .build()
        .await
        .expect("build lease manager")
}

#[tokio::test]
async fn kube_lease_manager_acquires_hands_over_and_releases() {
    let (server, _c) = server(Options::default()).await;
    let a = manager(&server, "a").await;
    let b = manager(&server, "b").await;

    let acquired = tokio::time::timeout(DEADLINE, a.changed()).await;
    assert!(acquired.expect("a never acquired").expect("a"));
    let stored: Value = serde_json::from_str(&server.stored(NS, "lm").unwrap()).unwrap();
    assert_eq!(stored["spec"]["holderIdentity"], "a");

    let waiting = tokio::spawn(async move {
        let got = b.changed().await;
        (b, got)
    });
    a.release().await.expect("a releases");
    let (b, got) = tokio::time::timeout(DEADLINE, waiting)
        .await
        .expect("b never took over")
        .expect("b's task");
    assert!(got.expect("b"));
    let stored: Value = serde_json::from_str(&server.stored(NS, "lm").unwrap()).unwrap();
    assert_eq!(stored["spec"]["holderIdentity"], "b");
    assert_eq!(stored["spec"]["leaseTransitions"], 2);

    b.release().await.expect("b releases");
    let stored: Value = serde_json::from_str(&server.stored(NS, "lm").unwrap()).unwrap();
    assert_eq!(stored["spec"].get("holderIdentity"), None);

    // Each locked with a server-side apply under its own field manager, as its source says
    // (kube-rs writes the query as `?&fieldManager=`).
    let prefix = format!("{LEASES}/lm?&fieldManager=kube-lease-manager-");
    let mut managers: Vec<String> = server
        .requests()
        .iter()
        .filter(|r| r.content_type.as_deref() == Some("application/apply-patch+yaml"))
        .filter(|r| r.status == 200)
        .filter_map(|r| r.path_and_query.strip_prefix(&prefix).map(str::to_owned))
        .collect();
    managers.dedup();
    assert_eq!(managers.len(), 2, "{managers:?}");
}
