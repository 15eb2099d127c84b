//! The guest limits of the embedding with the real components: they work under the defaults, a
//! call's own timeout extends its deadline, a memory cap too small for the component stops it
//! with a clear error (never the host), and a looping lock-service guest is answered 500.

use std::time::Duration;

use host_test::cluster::{Account, Cluster};
use host_test::host::{
    ClientHandle, ExpiryRule, GuestLimitExceeded, GuestLimits, LeaseError, LeaseHost, ProxyServer,
    Replica, ServeOptions,
};

use crate::front::Front;
use crate::lock_support::options;
use crate::serve_embedded::TRAPPING;
use crate::support::*;

/// A host of the built component with `limits`.
fn host_with(limits: GuestLimits) -> LeaseHost {
    LeaseHost::from_built().unwrap().with_limits(limits)
}

/// The limit a failed call or instantiation was stopped at.
fn exceeded(e: &anyhow::Error) -> &GuestLimitExceeded {
    e.downcast_ref::<GuestLimitExceeded>()
        .unwrap_or_else(|| panic!("not stopped at a limit: {e:?}"))
}

#[tokio::test]
async fn a_waiting_acquire_outlives_the_call_deadline_by_its_own_timeout() {
    let cluster = cluster().await;
    let account = cluster.account("waiter").unwrap();
    let (mut holder, client) = cluster.replica(&account).await.unwrap();
    let locker = ok(holder
        .locker_create(&client, &options("a", 30, ExpiryRule::ObservedTime))
        .await);
    ok(holder.try_acquire(&locker, "busy", &[]).await).expect("free");
    // A 1 s call deadline, and an acquire that legitimately waits 3 s for a held lease: its
    // deadline is 1 s + its 3 s, so it ends with the component's own `timeout`, not a trap.
    let host = host_with(GuestLimits {
        call_deadline: Duration::from_secs(1),
        ..GuestLimits::default()
    });
    let mut waiter = host.instantiate(cluster.sandbox(&account)).await.unwrap();
    let client = ok(waiter.client_in_cluster().await);
    let locker = ok(waiter
        .locker_create(&client, &options("b", 30, ExpiryRule::ObservedTime))
        .await);
    match err(waiter.acquire(&locker, "busy", &[], 3_000).await) {
        LeaseError::Timeout(m) => assert!(m.contains("busy"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_memory_cap_below_the_component_fails_its_instantiation_not_the_host() {
    let cluster = cluster().await;
    let account = cluster.account("small").unwrap();
    let host = host_with(GuestLimits {
        max_memory_bytes: 64 << 10,
        ..GuestLimits::default()
    });
    let e = host
        .instantiate(cluster.sandbox(&account))
        .await
        .err()
        .expect("64 KiB is too small for the component");
    assert!(
        matches!(exceeded(&e), GuestLimitExceeded::Memory { cap: 65_536, .. }),
        "{e:?}"
    );
    assert!(
        format!("{e:#}").contains("guest exceeded memory cap 65536 bytes"),
        "{e:#}"
    );
    // The same process, the default limits: the component works.
    let (mut replica, client) = cluster.replica(&account).await.unwrap();
    assert_eq!(ok(replica.get(&client, "absent").await), None);
}

/// Creates 200 leases through `account`; what an idle instance holds (instantiated, client
/// built), a memory cap listing them outgrows.
pub async fn two_hundred_leases_and_an_idle_instances_memory(
    cluster: &Cluster,
    account: &Account,
) -> usize {
    let (mut filler, client) = cluster.replica(account).await.unwrap();
    for i in 0..200 {
        ok(filler
            .create(&client, &held(&format!("lease-{i}"), "a", T0))
            .await);
    }
    let (idle, _) = cluster.replica(account).await.unwrap();
    idle.memory_bytes()
}

/// Lists the leases through `replica`, which must trap at the memory cap `cap`.
pub async fn assert_listing_stops_at(replica: &mut Replica, client: &ClientHandle, cap: usize) {
    let e = replica
        .list(client)
        .await
        .expect_err("the list outgrows the cap");
    match exceeded(&e) {
        GuestLimitExceeded::Memory { cap: c, desired } => {
            assert_eq!(*c, cap);
            assert!(*desired > cap, "{desired}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_call_needing_memory_past_the_cap_traps_with_the_cap_and_the_next_instance_works() {
    let cluster = cluster().await;
    let account = cluster.account("capped").unwrap();
    let cap = two_hundred_leases_and_an_idle_instances_memory(&cluster, &account).await;
    let host = host_with(GuestLimits {
        max_memory_bytes: cap,
        ..GuestLimits::default()
    });
    let mut capped = host.instantiate(cluster.sandbox(&account)).await.unwrap();
    let client = ok(capped.client_in_cluster().await);
    assert_listing_stops_at(&mut capped, &client, cap).await;
    let (mut fresh, client) = cluster.replica(&account).await.unwrap();
    assert_eq!(ok(fresh.list(&client).await).items.len(), 200);
}

#[tokio::test]
async fn a_looping_lock_service_guest_is_answered_500_limit_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("looping.wasm");
    let looping = TRAPPING.replace("unreachable", "(loop $l (br $l))");
    std::fs::write(&path, wat::parse_str(looping).unwrap()).unwrap();
    let server = ProxyServer::start(ServeOptions {
        component: Some(path),
        limits: GuestLimits {
            call_deadline: Duration::from_secs(1),
            ..GuestLimits::default()
        },
        ..ServeOptions::default()
    })
    .await
    .unwrap();
    let front = Front::new(&server.url());
    for _ in 0..2 {
        let answer = front.call("GET", "/healthz", None, "").await.unwrap();
        assert_eq!(answer.status, 500, "{}", answer.body);
        assert_eq!(answer.body["error"], "limit");
        assert_eq!(
            answer.body["message"],
            "the component was stopped: guest call exceeded deadline of 1000 ms"
        );
    }
}
