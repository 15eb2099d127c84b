//! The component on wasmtime's pooling allocator: it creates, reads and deletes leases in
//! instances that reuse pool slots, a pool bounds how many instances live at once, and the
//! memory cap still stops a guest with [`GuestLimitExceeded::Memory`] — the cap set by the
//! limits, or the pool's slot when that is smaller.

use host_test::host::{GuestLimits, InstanceAllocation, LeaseHost, PoolingConfig};

use crate::limits::{assert_listing_stops_at, two_hundred_leases_and_an_idle_instances_memory};
use crate::support::*;

/// A host of the built component on a pool with `pooling`'s sizes.
fn pooled(pooling: PoolingConfig) -> LeaseHost {
    LeaseHost::from_built_with(InstanceAllocation::Pooling(pooling)).unwrap()
}

#[tokio::test]
async fn fresh_instances_on_a_pool_of_two_create_get_and_delete_and_a_third_live_one_is_refused() {
    let cluster = cluster().await;
    let account = cluster.account("pooled").unwrap();
    let host = pooled(PoolingConfig {
        max_instances: 2,
        ..PoolingConfig::default()
    });
    // More instances than slots, one after another: each gets a slot a dropped one left.
    for i in 0..5 {
        let name = format!("pooled-{i}");
        let (mut replica, client) = cluster.replica_on(&host, &account).await.unwrap();
        let created = ok(replica.create(&client, &held(&name, "a", T0)).await);
        let got = ok(replica.get(&client, &name).await).expect("present");
        assert_eq!(got, created);
        ok(replica.delete(&client, &name, &NO_PRECONDITIONS).await);
        assert_eq!(ok(replica.get(&client, &name).await), None);
    }
    let first = host.instantiate(cluster.sandbox(&account)).await.unwrap();
    let second = host.instantiate(cluster.sandbox(&account)).await.unwrap();
    let e = host
        .instantiate(cluster.sandbox(&account))
        .await
        .err()
        .expect("a pool of two holds two live instances");
    assert!(
        format!("{e:#}").contains("maximum concurrent limit"),
        "{e:#}"
    );
    drop((first, second));
    let (mut replica, client) = cluster.replica_on(&host, &account).await.unwrap();
    assert_eq!(ok(replica.get(&client, "pooled-0").await), None);
}

#[tokio::test]
async fn the_memory_cap_traps_cleanly_on_a_pool_whether_the_limits_or_the_slot_set_it() {
    let cluster = cluster().await;
    let account = cluster.account("pool-capped").unwrap();
    let cap = two_hundred_leases_and_an_idle_instances_memory(&cluster, &account).await;
    let by_limits = pooled(PoolingConfig::default()).with_limits(GuestLimits {
        max_memory_bytes: cap,
        ..GuestLimits::default()
    });
    let by_slot = pooled(PoolingConfig {
        max_instances: 4,
        max_memory_bytes: cap,
        ..PoolingConfig::default()
    });
    assert_eq!(
        by_slot.limits().max_memory_bytes,
        cap,
        "lowered to the slot"
    );
    for host in [by_limits, by_slot] {
        let (mut capped, client) = cluster.replica_on(&host, &account).await.unwrap();
        assert_listing_stops_at(&mut capped, &client, cap).await;
        drop(capped);
        // The trapped instance's slot serves the next one.
        let (mut next, client) = cluster.replica_on(&host, &account).await.unwrap();
        assert!(ok(next.get(&client, "lease-0").await).is_some());
    }
}
