//! The server's own faults: a restart on the same port that keeps its store or loses it (the
//! revision going on, older watches expired), and certificate rotation with the same CA or a
//! new one.

use super::stream::{NEVER_HANGS, RawWatch};
use super::*;

#[tokio::test]
async fn a_restart_cuts_connections_and_keeps_the_store_and_the_port() {
    let (server, c) = server(Options::default()).await;
    let v = create(&c, "a").await;
    let path = format!("{LEASES}?watch=1&resourceVersion={}", rv(&v));
    let (mut watch, _) = RawWatch::open(&server, &path).await;
    tokio::time::timeout(NEVER_HANGS, server.restart(true))
        .await
        .expect("restarts")
        .expect("binds the port again");
    assert_eq!(watch.next_line().await, None);
    assert!(!watch.ended, "the watch was cut");
    let r = c.get(&format!("{LEASES}/a")).await;
    assert_eq!(
        (r.code, rv(&r.json())),
        (200, rv(&v)),
        "same port, CA and store"
    );
    assert_eq!(server.faults_fired()["restart-keep-store"], 1);
}

#[tokio::test]
async fn a_restart_that_loses_the_store_keeps_the_revision_going_and_expires_old_watches() {
    let (server, c) = server(Options::default()).await;
    let v = create(&c, "a").await;
    server.restart(false).await.expect("restarts");
    assert_eq!(c.get(&format!("{LEASES}/a")).await.code, 404);
    assert_eq!(c.get(LEASES).await.json()["items"], Value::Array(vec![]));
    let again = create(&c, "a").await;
    assert!(
        rv(&again).parse::<u64>().unwrap() > rv(&v).parse::<u64>().unwrap(),
        "resourceVersions never go back: {} after {}",
        rv(&again),
        rv(&v)
    );
    let old = format!("{LEASES}?watch=1&resourceVersion={}", rv(&v));
    let r = tokio::time::timeout(NEVER_HANGS, c.get(&old))
        .await
        .expect("ends");
    assert!(
        r.body.contains(r#""reason":"Expired","code":410"#),
        "{}",
        r.body
    );
    let verbs: Vec<Verb> = server.history().iter().map(|w| w.verb).collect();
    assert_eq!(
        verbs,
        [Verb::Create, Verb::Create],
        "the write record stays"
    );
    assert_eq!(server.faults_fired()["restart-lose-store"], 1);
}

/// The serving certificate (leaf) a new connection is shown.
async fn leaf(server: &ApiServer) -> Vec<u8> {
    let io = super::stream::tls(server).await;
    let (_, session) = io.get_ref();
    session.peer_certificates().expect("certificates")[0].to_vec()
}

#[tokio::test]
async fn rotating_the_certificate_keeps_the_ca() {
    let (server, c) = server(Options::default()).await;
    let (before, ca) = (leaf(&server).await, server.ca_pem());
    server.rotate_certificate(false).expect("rotates");
    assert_ne!(leaf(&server).await, before, "a new serving certificate");
    assert_eq!(server.ca_pem(), ca);
    assert_eq!(
        c.get(LEASES).await.code,
        200,
        "the old CA still verifies it"
    );
    assert_eq!(server.faults_fired()["rotate-certificate"], 1);
}

#[tokio::test]
async fn rotating_to_a_new_ca_fails_clients_that_trust_only_the_old_one() {
    let (server, old) = server(Options::default()).await;
    let ca = server.ca_pem();
    server.rotate_certificate(true).expect("rotates");
    assert_ne!(server.ca_pem(), ca);
    let err = old
        .send(Method::GET, LEASES, &[], "")
        .await
        .err()
        .expect("refused");
    assert!(format!("{err:#}").contains("certificate"), "{err:#}");
    let new = Client::new(&server, Some(TOKEN));
    assert_eq!(new.get(LEASES).await.code, 200);
    assert_eq!(server.faults_fired()["rotate-ca"], 1);
}
