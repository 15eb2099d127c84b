//! A call with its own deadline ends by it even when its requests hang: `acquire` with a
//! 1.5 s timeout over a client whose requests may take 10 s returns `timeout` soon after 1.5 s,
//! whichever of its requests hangs, and no write names it.

use std::time::{Duration, Instant};

use host_test::apiserver::Fault;
use host_test::host::{ExpiryRule, LeaseError};

use crate::fault_support::*;
use crate::lock_support::*;
use crate::support::*;

/// The request timeout: far longer than the acquisition may take.
const REQUEST_TIMEOUT_MS: u32 = 10_000;

/// The acquisition's own timeout.
const ACQUIRE_TIMEOUT_MS: u32 = 1_500;

/// The generous bound that proves "ends by its own deadline, not the request timeout".
const WITHIN: Duration = Duration::from_millis(ACQUIRE_TIMEOUT_MS as u64 + 1_000);

#[tokio::test]
async fn acquire_ends_by_its_own_timeout_when_its_get_create_or_update_hangs() {
    let cluster = cluster().await;
    let (mut replica, client) = short_timeout_client(&cluster, "a", REQUEST_TIMEOUT_MS).await;
    let locker = ok(replica
        .locker_create(&client, &options("a", 300, ExpiryRule::WallClock))
        .await);
    let cases = [
        ("get", "GET", false),
        ("create", "POST", false),
        // A lease whose holder's term ran out a day ago: acquire takes it over by update.
        ("update", "PUT", true),
    ];
    for (verb, method, stale_holder) in cases {
        if stale_holder {
            ok(replica
                .create(&client, &held(LEASE, "b", T0 - 86_400_000_000))
                .await);
        }
        // Every try hangs: a retry after the first hang must hang too.
        cluster.api.inject(times(10, Fault::Hang, verb));
        let started = Instant::now();
        match err(replica
            .acquire(&locker, LEASE, &[], ACQUIRE_TIMEOUT_MS)
            .await)
        {
            LeaseError::Timeout(m) => assert!(!m.contains("10000 ms"), "{verb}: {m}"),
            other => panic!("{verb}: {other:?}"),
        }
        let took = started.elapsed();
        assert!(took < WITHIN, "{verb} hung: acquire took {took:?}");
        assert!(
            faults_of(&cluster, method).contains(&Some("hang")),
            "{verb}: the hang fired"
        );
        cluster.api.clear_faults();
    }
    // Nothing names "a": no create, no takeover, and the stale holder is still recorded.
    let history = cluster.api.history();
    assert!(
        history.iter().all(|w| w.holder.as_deref() != Some("a")),
        "{history:?}"
    );
    assert!(history_check_is_clean(&history));
    let stored = cluster.api.stored(NS, LEASE).expect("b's lease");
    assert!(stored.contains(r#""holderIdentity":"b""#), "{stored}");
}

/// The history checker finds no takeover of a live hold.
fn history_check_is_clean(history: &[host_test::apiserver::WriteRecord]) -> bool {
    host_test::history::check(history, LEASE)
        .violations
        .is_empty()
}

#[tokio::test]
async fn a_get_answered_with_malformed_json_once_is_read_again() {
    let (cluster, _account, mut replica, client) = connected().await;
    ok(replica.create(&client, &held(LEASE, "a", T0)).await);
    cluster.api.inject(once(Fault::MalformedJson, "get"));
    let lease = ok(replica.get(&client, LEASE).await).expect("the lease");
    assert_eq!(lease.spec.holder_identity.as_deref(), Some("a"));
    assert_eq!(faults_of(&cluster, "GET"), [Some("malformed-json"), None]);
    assert_eq!(statuses(&cluster, "GET"), [200, 200]);
}
