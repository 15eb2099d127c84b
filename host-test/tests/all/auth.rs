//! Tokens, RBAC-like namespace limits, and server-side validation errors.

use host_test::apiserver::Options;
use host_test::host::{LeaseError, StatusKind};

use crate::support::*;

#[tokio::test]
async fn a_rotated_token_is_read_again_after_a_401_and_the_call_succeeds() {
    let (cluster, account, mut replica, client) = connected().await;
    ok(replica.create(&client, &held("rot", "a", T0)).await);
    let statuses = |from: usize| -> Vec<u16> {
        cluster.api.requests()[from..]
            .iter()
            .map(|r| r.status)
            .collect()
    };

    // Rotate: the server forgets the old token, the kubelet writes a new one. The kept token
    // gets a 401, the file is read again, and the call is sent once more: no error.
    let new_token = "rotated.token-2";
    let user = "system:serviceaccount:netbird:replica-0";
    cluster.api.add_token(new_token, user, None);
    cluster.api.remove_token(&account.token);
    std::fs::write(account.dir.join("token"), format!("{new_token}\n")).unwrap();
    let before = cluster.api.requests().len();
    assert!(ok(replica.get(&client, "rot").await).is_some());
    assert_eq!(statuses(before), [401, 200]);

    // Within a minute the kept token is used without reading the file: a file now holding a
    // token the server does not know changes nothing while the kept one is valid.
    std::fs::write(account.dir.join("token"), &account.token).unwrap();
    let before = cluster.api.requests().len();
    assert!(ok(replica.get(&client, "rot").await).is_some());
    assert_eq!(statuses(before), [200]);

    // Revoked too: 401, the file is read again, its token is refused as well: Unauthorized.
    cluster.api.remove_token(new_token);
    let before = cluster.api.requests().len();
    assert!(
        matches!(err(replica.get(&client, "rot").await), LeaseError::Api(e) if e.kind == StatusKind::Unauthorized)
    );
    assert_eq!(statuses(before), [401, 401]);

    // When the file still holds the token that got the 401, the 401 is final: sent once.
    let before = cluster.api.requests().len();
    err(replica.get(&client, "rot").await);
    assert_eq!(statuses(before), [401]);
}

#[tokio::test]
async fn a_revoked_token_is_unauthorized_with_the_status_body() {
    let (cluster, account, mut replica, client) = connected().await;
    cluster.api.remove_token(&account.token);
    match err(replica.list(&client).await) {
        LeaseError::Api(s) if s.kind == StatusKind::Unauthorized => {
            assert_eq!(
                (s.code, s.reason.as_str(), s.message.as_str()),
                (401, "Unauthorized", "Unauthorized")
            );
            assert!(s.causes.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_namespace_outside_the_allow_list_is_forbidden() {
    let cluster = cluster().await;
    let account = cluster.account("limited").unwrap();
    cluster.api.add_token(
        &account.token,
        "system:serviceaccount:netbird:limited",
        Some(vec!["elsewhere".into()]),
    );
    let (mut replica, client) = cluster.replica(&account).await.unwrap();
    match err(replica.get(&client, "x").await) {
        LeaseError::Api(s) if s.kind == StatusKind::Forbidden => {
            assert_eq!((s.code, s.reason.as_str()), (403, "Forbidden"));
            assert_eq!(
                s.message,
                r#"leases.coordination.k8s.io "x" is forbidden: User "system:serviceaccount:netbird:limited" cannot get resource "leases" in API group "coordination.k8s.io" in the namespace "netbird""#
            );
        }
        other => panic!("{other:?}"),
    }
    match err(replica.list(&client).await) {
        LeaseError::Api(s) if s.kind == StatusKind::Forbidden => assert!(
            s.message
                .starts_with("leases.coordination.k8s.io is forbidden"),
            "{}",
            s.message
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn server_validation_is_invalid_with_causes() {
    // With the CoordinatedLeaderElection gate on, the server validates strategy.
    let cluster = cluster_with(Options {
        coordinated_leader_election: true,
        ..Options::default()
    })
    .await;
    let account = cluster.account("a").unwrap();
    let (mut replica, client) = cluster.replica(&account).await.unwrap();
    let mut lease = held("strategic", "a", T0);
    lease.spec.strategy = Some("Fastest".into());
    match err(replica.create(&client, &lease).await) {
        LeaseError::Api(s) if s.kind == StatusKind::Invalid => {
            assert_eq!((s.code, s.reason.as_str()), (422, "Invalid"));
            assert!(
                s.message
                    .starts_with(r#"Lease.coordination.k8s.io "strategic" is invalid: "#),
                "{}",
                s.message
            );
            assert_eq!(s.causes.len(), 1, "{:?}", s.causes);
            assert_eq!(s.causes[0].reason, "FieldValueNotSupported");
            assert!(
                s.causes[0].field.starts_with("spec.strategy"),
                "{:?}",
                s.causes[0]
            );
        }
        other => panic!("{other:?}"),
    }
    lease.spec.strategy = Some("OldestEmulationVersion".into());
    lease.spec.preferred_holder = Some("b".into());
    let stored = ok(replica.create(&client, &lease).await);
    assert_eq!(
        stored.spec.strategy.as_deref(),
        Some("OldestEmulationVersion")
    );
    assert_eq!(stored.spec.preferred_holder.as_deref(), Some("b"));
}

#[tokio::test]
async fn without_the_gate_strategy_is_silently_dropped() {
    let (_c, _a, mut replica, client) = connected().await;
    let mut lease = held("plain", "a", T0);
    lease.spec.strategy = Some("Fastest".into());
    lease.spec.preferred_holder = Some("b".into());
    let stored = ok(replica.create(&client, &lease).await);
    assert_eq!(stored.spec.strategy, None);
    assert_eq!(stored.spec.preferred_holder, None);
}
