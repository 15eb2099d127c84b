//! What the component puts on the wire, byte for byte: the Go original's request bodies, and
//! real kubectl reading what the component wrote.

use host_test::demo::locker::{DOMAIN_ANNOTATION, Locker};
use host_test::host::MicroTime;

use crate::support::*;

/// The PUT/POST bodies the emulator received, in order.
fn bodies(cluster: &host_test::cluster::Cluster, method: &str) -> Vec<String> {
    cluster
        .api
        .requests()
        .into_iter()
        .filter(|r| r.method == method)
        .map(|r| String::from_utf8(r.body).unwrap())
        .collect()
}

#[tokio::test]
async fn create_and_release_bodies_match_the_go_original() {
    let (cluster, _a, mut replica, client) = connected().await;
    let name = replica.lease_name_for_domain("example.com").await.unwrap();
    assert_eq!(name, "cert-lock-a379a6f6eeafb9a5");
    let mut lease = held(&name, "proxy-0", T0);
    lease.annotations = vec![(DOMAIN_ANNOTATION.into(), "example.com".into())];
    let created = ok(replica.create(&client, &lease).await);
    // json.Marshal of the Go original's Lease for the ACME locker's create.
    let go_create = r#"{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"cert-lock-a379a6f6eeafb9a5","namespace":"netbird","annotations":{"netbird.io/domain":"example.com"}},"spec":{"holderIdentity":"proxy-0","leaseDurationSeconds":300,"acquireTime":"2026-11-28T10:00:00.123456Z","renewTime":"2026-11-28T10:00:00.123456Z"}}"#;
    assert_eq!(bodies(&cluster, "POST"), [go_create]);

    // The Go locker's release: holder "", times null, the rest as read (Go drops uid etc.).
    let mut release = host_test::demo::locker::go_view(created.clone());
    release.spec.holder_identity = Some(String::new());
    release.spec.acquire_time = None;
    release.spec.renew_time = None;
    ok(replica.update(&client, &release).await);
    let rv = created.resource_version.unwrap();
    let go_release = format!(
        r#"{{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{{"name":"cert-lock-a379a6f6eeafb9a5","namespace":"netbird","resourceVersion":"{rv}","annotations":{{"netbird.io/domain":"example.com"}}}},"spec":{{"holderIdentity":"","leaseDurationSeconds":300,"acquireTime":null,"renewTime":null}}}}"#
    );
    assert_eq!(bodies(&cluster, "PUT"), [go_release]);
    let stored = cluster.api.stored(NS, &name).unwrap();
    assert!(
        stored.contains(r#""holderIdentity":"""#) && !stored.contains("renewTime"),
        "{stored}"
    );
}

#[tokio::test]
async fn a_takeover_through_the_locker_matches_the_go_original() {
    let cluster = cluster().await;
    let (replica, client) = cluster
        .replica(&cluster.account("proxy-1").unwrap())
        .await
        .unwrap();
    let mut locker = Locker {
        replica,
        client,
        identity: "proxy-1".into(),
        duration_seconds: 300,
    };
    // An expired lease of proxy-0's, as a Go replica would have left it.
    let (mut other, other_client) = cluster
        .replica(&cluster.account("proxy-0").unwrap())
        .await
        .unwrap();
    let mut stale = held("cert-lock-a379a6f6eeafb9a5", "proxy-0", T0 - 600_000_000);
    stale.annotations = vec![(DOMAIN_ANNOTATION.into(), "example.com".into())];
    stale.spec.lease_transitions = Some(4);
    let stored = ok(other.create(&other_client, &stale).await);
    let attempt = locker
        .try_acquire("cert-lock-a379a6f6eeafb9a5", "example.com")
        .await
        .unwrap();
    let host_test::demo::locker::Attempt::Acquired {
        created: false,
        from: Some(from),
        lease,
    } = attempt
    else {
        panic!("{attempt:?}")
    };
    assert_eq!(from, "proxy-0");
    let now = lease.spec.renew_time.unwrap();
    let t = kube_lease_client::MicroTime::from_unix_micros(now.unix_micros)
        .to_rfc3339_micros()
        .unwrap();
    let rv = stored.resource_version.unwrap();
    let go_takeover = format!(
        r#"{{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{{"name":"cert-lock-a379a6f6eeafb9a5","namespace":"netbird","resourceVersion":"{rv}","annotations":{{"netbird.io/domain":"example.com"}}}},"spec":{{"holderIdentity":"proxy-1","leaseDurationSeconds":300,"acquireTime":"{t}","renewTime":"{t}"}}}}"#
    );
    assert_eq!(bodies(&cluster, "PUT"), [go_takeover]);
    assert_ne!(now, MicroTime { unix_micros: T0 });
}

#[tokio::test]
async fn kubectl_lists_a_lease_the_component_created() {
    let (cluster, account, mut replica, client) = connected().await;
    let name = replica.lease_name_for_domain("example.com").await.unwrap();
    ok(replica.create(&client, &held(&name, "proxy-7", T0)).await);
    let kubeconfig = cluster.path("kubeconfig");
    cluster
        .api
        .write_kubeconfig(&kubeconfig, &account.token, NS)
        .unwrap();
    let kubeconfig = kubeconfig.to_str().unwrap();
    let (stdout, _) = kubectl(["--kubeconfig", kubeconfig, "get", "leases"]).await;
    let mut lines = stdout.lines();
    let header: Vec<_> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "HOLDER", "AGE"], "{stdout}");
    let row: Vec<_> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(&row[..2], [name.as_str(), "proxy-7"], "{stdout}");
}
