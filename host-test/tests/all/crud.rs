//! Get, create, update, delete and list through the component against the emulator.

use host_test::host::{
    ClientHandle, Lease, LeaseError, MicroTime, Preconditions, Replica, StatusKind,
};

use crate::support::*;

#[tokio::test]
async fn get_of_an_absent_lease_is_none() {
    let (_c, _a, mut replica, client) = connected().await;
    assert_eq!(ok(replica.get(&client, "absent").await), None);
}

#[tokio::test]
async fn create_then_get_round_trips_every_field() {
    let (_c, _a, mut replica, client) = connected().await;
    let mut lease = held("round-trip", "proxy-0", T0);
    lease.labels = vec![
        ("app".into(), "proxy".into()),
        ("tier".into(), "edge".into()),
    ];
    lease.annotations = vec![("netbird.io/domain".into(), "example.com".into())];
    lease.spec.lease_transitions = Some(3);
    let created = ok(replica.create(&client, &lease).await);
    assert_eq!(created.namespace.as_deref(), Some(NS));
    assert!(
        created.uid.as_deref().is_some_and(|u| u.len() == 36),
        "{:?}",
        created.uid
    );
    assert!(created.resource_version.is_some());
    assert!(created.creation_timestamp.is_some());
    let got = ok(replica.get(&client, "round-trip").await).expect("present");
    assert_eq!(got, created);
    assert_eq!(got.labels, lease.labels);
    assert_eq!(got.annotations, lease.annotations);
    assert_eq!(got.spec, lease.spec);
}

#[tokio::test]
async fn create_twice_is_already_exists() {
    let (_c, _a, mut replica, client) = connected().await;
    ok(replica.create(&client, &held("twice", "a", T0)).await);
    match err(replica.create(&client, &held("twice", "b", T0)).await) {
        LeaseError::Api(s) if s.kind == StatusKind::AlreadyExists => {
            assert_eq!(s.code, 409);
            assert_eq!(s.reason, "AlreadyExists");
            assert_eq!(
                s.message,
                r#"leases.coordination.k8s.io "twice" already exists"#
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn update_with_the_current_version_succeeds_and_a_stale_one_conflicts() {
    let (_c, _a, mut replica, client) = connected().await;
    let (v1, v2) = created_then_handed_to_b(&mut replica, &client, "upd").await;
    assert_ne!(v2.resource_version, v1.resource_version);
    assert_eq!(v2.spec.holder_identity.as_deref(), Some("b"));
    assert_eq!(v2.uid, v1.uid);
    // v1's version is stale now.
    let mut stale = v1.clone();
    stale.spec.holder_identity = Some("c".into());
    match err(replica.update(&client, &stale).await) {
        LeaseError::Api(s) if s.kind == StatusKind::Conflict => {
            assert_eq!((s.code, s.reason.as_str()), (409, "Conflict"));
            assert!(
                s.message.contains("the object has been modified"),
                "{}",
                s.message
            );
        }
        other => panic!("{other:?}"),
    }
    let stored = ok(replica.get(&client, "upd").await).unwrap();
    assert_eq!(stored.spec.holder_identity.as_deref(), Some("b"));
}

#[tokio::test]
async fn clearing_the_holder_sends_nulls_and_the_server_stores_none() {
    let (cluster, _a, mut replica, client) = connected().await;
    let mut lease = ok(replica.create(&client, &held("clear", "a", T0)).await);
    lease.spec.holder_identity = None;
    lease.spec.acquire_time = None;
    lease.spec.renew_time = None;
    let cleared = ok(replica.update(&client, &lease).await);
    assert_eq!(cleared.spec.holder_identity, None);
    assert_eq!(cleared.spec.acquire_time, None);
    let put = cluster
        .api
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.method == "PUT")
        .unwrap();
    let body = String::from_utf8(put.body).unwrap();
    assert!(body.contains(r#""spec":{"holderIdentity":null,"leaseDurationSeconds":300,"acquireTime":null,"renewTime":null}"#), "{body}");
    let stored = cluster.api.stored(NS, "clear").unwrap();
    assert!(
        !stored.contains("holderIdentity")
            && !stored.contains("acquireTime")
            && !stored.contains("renewTime"),
        "{stored}"
    );
}

#[tokio::test]
async fn delete_without_preconditions_removes_the_lease() {
    let (_c, _a, mut replica, client) = connected().await;
    ok(replica.create(&client, &held("del", "a", T0)).await);
    ok(replica.delete(&client, "del", &NO_PRECONDITIONS).await);
    assert_eq!(ok(replica.get(&client, "del").await), None);
    match err(replica.delete(&client, "del", &NO_PRECONDITIONS).await) {
        LeaseError::Api(s) if s.kind == StatusKind::NotFound => {
            assert_eq!((s.code, s.reason.as_str()), (404, "NotFound"))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn delete_with_preconditions_checks_version_and_uid() {
    let (_c, _a, mut replica, client) = connected().await;
    let (v1, v2) = created_then_handed_to_b(&mut replica, &client, "pre").await;
    let stale = Preconditions {
        resource_version: v1.resource_version.clone(),
        uid: None,
    };
    match err(replica.delete(&client, "pre", &stale).await) {
        LeaseError::Api(s) if s.kind == StatusKind::Conflict => assert!(
            s.message
                .contains("the ResourceVersion in the precondition"),
            "{}",
            s.message
        ),
        other => panic!("{other:?}"),
    }
    let wrong_uid = Preconditions {
        resource_version: None,
        uid: Some("00000000-0000-0000-0000-000000000000".into()),
    };
    match err(replica.delete(&client, "pre", &wrong_uid).await) {
        LeaseError::Api(s) if s.kind == StatusKind::Conflict => assert!(
            s.message.contains("the UID in the precondition"),
            "{}",
            s.message
        ),
        other => panic!("{other:?}"),
    }
    assert!(ok(replica.get(&client, "pre").await).is_some());
    let current = Preconditions {
        resource_version: v2.resource_version.clone(),
        uid: v2.uid.clone(),
    };
    ok(replica.delete(&client, "pre", &current).await);
    assert_eq!(ok(replica.get(&client, "pre").await), None);
}

#[tokio::test]
async fn list_returns_every_lease_and_the_store_revision() {
    let (_c, _a, mut replica, client) = connected().await;
    let mut last = 0u64;
    for name in ["b-lease", "a-lease", "c-lease"] {
        let l = ok(replica.create(&client, &held(name, "h", T0)).await);
        last = l.resource_version.unwrap().parse().unwrap();
    }
    let list = ok(replica.list(&client).await);
    let mut names: Vec<_> = list.items.iter().map(|l| l.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["a-lease", "b-lease", "c-lease"]);
    assert!(list.resource_version.parse::<u64>().unwrap() >= last);
    assert!(
        list.items
            .iter()
            .all(|l| l.spec.renew_time == Some(MicroTime { unix_micros: T0 }))
    );
}

#[tokio::test]
async fn create_with_a_resource_version_and_update_without_one_are_refused_before_sending() {
    let (cluster, _a, mut replica, client) = connected().await;
    let sent = cluster.api.requests().len();
    let mut lease = held("local", "a", T0);
    lease.resource_version = Some("12".into());
    match err(replica.create(&client, &lease).await) {
        LeaseError::InvalidArgument(m) => assert!(m.contains("resourceVersion"), "{m}"),
        other => panic!("{other:?}"),
    }
    lease.resource_version = None;
    match err(replica.update(&client, &lease).await) {
        LeaseError::InvalidArgument(m) => assert!(m.contains("needs the resourceVersion"), "{m}"),
        other => panic!("{other:?}"),
    }
    lease.spec.lease_duration_seconds = Some(0);
    assert!(matches!(
        err(replica.create(&client, &lease).await),
        LeaseError::InvalidArgument(_)
    ));
    assert_eq!(
        cluster.api.requests().len(),
        sent,
        "nothing reached the server"
    );
}

#[tokio::test]
async fn names_that_must_be_rejected_never_reach_the_server() {
    let (cluster, _a, mut replica, client) = connected().await;
    let sent = cluster.api.requests().len();
    let long = "a".repeat(254);
    for bad in ["../x", "a?b", "Upper", "a/b", "", long.as_str()] {
        match err(replica.get(&client, bad).await) {
            LeaseError::InvalidArgument(m) => assert!(m.starts_with("lease name"), "{m}"),
            other => panic!("{bad}: {other:?}"),
        }
        assert!(matches!(
            err(replica.create(&client, &held(bad, "a", T0)).await),
            LeaseError::InvalidArgument(_)
        ));
        assert!(matches!(
            err(replica.delete(&client, bad, &NO_PRECONDITIONS).await),
            LeaseError::InvalidArgument(_)
        ));
    }
    assert_eq!(cluster.api.requests().len(), sent);
}

#[tokio::test]
async fn a_253_character_name_is_accepted() {
    let (_c, _a, mut replica, client) = connected().await;
    let name = format!("{}.{}", "a".repeat(126), "b".repeat(126));
    assert_eq!(name.len(), 253);
    ok(replica.create(&client, &held(&name, "a", T0)).await);
    assert!(ok(replica.get(&client, &name).await).is_some());
}

/// Creates lease `name` held by `a`, then updates it to holder `b`: both versions as stored.
async fn created_then_handed_to_b(
    replica: &mut Replica,
    client: &ClientHandle,
    name: &str,
) -> (Lease, Lease) {
    let v1 = ok(replica.create(client, &held(name, "a", T0)).await);
    let mut next = v1.clone();
    next.spec.holder_identity = Some("b".into());
    let v2 = ok(replica.update(client, &next).await);
    (v1, v2)
}
