//! The component's locks under contention, crashes and skewed clocks, proven by the history
//! checker over the emulator's write log and every hold the instances reported.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use host_test::history::{self, HoldRecord, HoldVerdict, check_holds, now_micros};
use host_test::host::{ExpiryRule, LeaseError, Role};
use tokio::sync::Mutex;

use crate::lock_support::*;
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contention_16_instances_1000_acquisitions_on_4_leases_never_overlap() {
    contend(16, 1000, &["lock-a", "lock-b", "lock-c", "lock-d"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contention_two_instances_hand_one_lease_over_by_watch() {
    contend(2, 100, &["lock-a"]).await;
}

/// `instances` contenders, each its own component instance, take turns on `leases` until
/// `acquisitions` holds were taken: each acquires (waiting by watch while another holds),
/// yields, and releases. The holds must be safe; prints the rate and the handoff latency.
async fn contend(instances: usize, acquisitions: usize, leases: &'static [&'static str]) {
    let cluster = cluster().await;
    let claimed = Arc::new(AtomicUsize::new(0));
    let holds = Arc::new(Mutex::new(Vec::<HoldRecord>::new()));
    let mut tasks = Vec::new();
    for i in 0..instances {
        let options = options(&format!("proxy-{i}"), 30, ExpiryRule::ObservedTime);
        let mut c = contender(&cluster, options, 0).await;
        let (claimed, holds) = (Arc::clone(&claimed), Arc::clone(&holds));
        tasks.push(tokio::spawn(async move {
            for round in i.. {
                if claimed.fetch_add(1, Ordering::SeqCst) >= acquisitions {
                    break;
                }
                let held = c.acquire(leases[round % leases.len()], 30_000).await;
                tokio::task::yield_now().await;
                let record = c.release(&held).await;
                holds.lock().await.push(record);
            }
        }));
    }
    let started = Instant::now();
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed();
    let holds = holds.lock().await.clone();
    let log = cluster.api.history();
    let verdict = check_holds(&log, &holds);
    assert_eq!(verdict.holds, acquisitions);
    assert!(verdict.is_safe(), "{verdict:#?}");
    for lease in leases {
        let replay = history::check(&log, lease);
        assert!(replay.violations.is_empty(), "{replay:?}");
        assert_eq!(replay.acquisitions, replay.releases, "{lease}: {replay:?}");
    }
    let mut handoffs = handoffs(&log);
    eprintln!(
        "contention: {instances} instances, {} acquisitions on {} leases in {:.2} s \
         ({:.0} acquisitions/s), overlaps {}, token regressions {}, \
         handoff p50 {} µs (release write to next acquiring write, {} handoffs)",
        verdict.holds,
        leases.len(),
        elapsed.as_secs_f64(),
        verdict.holds as f64 / elapsed.as_secs_f64(),
        verdict.overlaps.len(),
        verdict.token_regressions.len(),
        p50(&mut handoffs),
        handoffs.len(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_a_crashed_holder_is_replaced_within_lease_duration_and_one_retry() {
    const LEASE_S: i32 = 2;
    let cluster = cluster().await;
    let (crashed, first, mut survivor) = holder_and_waiter(&cluster, LEASE_S, "lock-a").await;
    // It crashes holding the lease: its instance is gone and nobody renews.
    drop(crashed);
    let retry_ms = 200; // the backoff's longest wait
    let bound_ms = u32::try_from(LEASE_S).unwrap() * 1000 + retry_ms + 3000;
    let second = survivor.acquire("lock-a", bound_ms).await;
    let failover_ms = (second.at - first.at) / 1000;
    assert!(second.hold.fencing_token > first.hold.fencing_token);
    assert_eq!(second.hold.identity, "proxy-1");
    let holds = [
        first.ended_at(first.valid_until()),
        survivor.release(&second).await,
    ];
    let verdict = check_holds(&cluster.api.history(), &holds);
    assert!(verdict.is_safe(), "{verdict:#?}");
    eprintln!(
        "failover: lease {LEASE_S} s, taken over {failover_ms} ms after the crashed holder's \
         acquisition (bound {bound_ms} ms), token {} -> {}",
        first.hold.fencing_token, second.hold.fencing_token
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_an_elector_follower_leads_after_the_leader_stops_ticking() {
    let cluster = cluster().await;
    let mut electors = Vec::new();
    for id in ["leader", "follower"] {
        let account = cluster.account(id).unwrap();
        let (mut replica, client) = cluster.replica(&account).await.unwrap();
        let options = options(id, 2, ExpiryRule::ObservedTime);
        let elector = ok(replica
            .elector_create(&client, "leader-lock", &options)
            .await);
        electors.push((replica, elector));
    }
    let (mut follower, follower_elector) = electors.pop().unwrap();
    let (mut leader, leader_elector) = electors.pop().unwrap();
    let led = ok(leader.tick(&leader_elector).await);
    assert_eq!(led.role, Role::Leading);
    let led_at = now_micros();
    let first = led.hold.expect("a leader has a hold");
    let follows = ok(follower.tick(&follower_elector).await);
    assert_eq!(follows.role, Role::Following);
    assert_eq!(follows.holder.as_deref(), Some("leader"));
    // The leader stops ticking; the follower ticks when told until it leads.
    drop(leader);
    let deadline = Instant::now() + Duration::from_secs(10);
    let second = loop {
        assert!(Instant::now() < deadline, "the follower never took over");
        let election = ok(follower.tick(&follower_elector).await);
        match election.role {
            Role::Leading => break election.hold.expect("a leader has a hold"),
            _ => {
                tokio::time::sleep(Duration::from_millis(u64::from(
                    election.next_tick_ms.max(10),
                )))
                .await
            }
        }
    };
    let took_over_ms = (now_micros() - led_at) / 1000;
    assert!(second.fencing_token > first.fencing_token);
    ok(follower.resign(&follower_elector).await);
    eprintln!(
        "failover (elector): lease 2 s, the follower led {took_over_ms} ms after the leader's last write"
    );
}

/// Lease duration of the skew tests; the instances' clocks are off by a third of it.
const SKEW_LEASE_S: i32 = 3;
const SKEW_MICROS: i64 = SKEW_LEASE_S as i64 * 1_000_000 / 3;

/// A holder whose clock runs behind takes the lease, acts until its hold's validity ends and
/// then stops (as if it crashed); a contender whose clock runs ahead waits for the lease with
/// `expiry` and `max_skew_ms` and takes it over. The verdict over both holds; the takeover
/// always left the first holder a `lost` release.
async fn skewed_takeover(expiry: ExpiryRule, max_skew_ms: u32) -> HoldVerdict {
    let cluster = cluster().await;
    let with = |id: &str| host_test::host::LockerOptions {
        max_clock_skew_ms: Some(max_skew_ms),
        renew_deadline_ms: Some(2000),
        ..options(id, SKEW_LEASE_S, expiry)
    };
    let mut behind = contender(&cluster, with("behind"), -SKEW_MICROS).await;
    let mut ahead = contender(&cluster, with("ahead"), SKEW_MICROS).await;
    let first = behind.take("lock-a").await;
    let second = ahead.acquire("lock-a", 10_000).await;
    let records = [
        first.ended_at(first.valid_until()),
        ahead.release(&second).await,
    ];
    let released = err(behind.replica.release(&behind.locker, &first.hold).await);
    assert!(matches!(released, LeaseError::Lost(_)), "{released:?}");
    let verdict = check_holds(&cluster.api.history(), &records);
    eprintln!(
        "skew ±{SKEW_MICROS} µs, {expiry:?}, max-clock-skew {max_skew_ms} ms: taken over \
         {} ms after the first acquisition, the first hold valid for {} ms; overlaps {}",
        (second.at - first.at) / 1000,
        (first.valid_until() - first.at) / 1000,
        verdict.overlaps.len()
    );
    verdict
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skew_observed_time_rule_never_overlaps() {
    let verdict = skewed_takeover(ExpiryRule::ObservedTime, 0).await;
    assert!(verdict.is_safe(), "{verdict:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skew_wall_clock_rule_without_margin_overlaps() {
    let verdict = skewed_takeover(ExpiryRule::WallClock, 0).await;
    assert!(
        !verdict.overlaps.is_empty(),
        "the checker must see the overlap: {verdict:#?}"
    );
    eprintln!("skew, the overlap found: {}", verdict.overlaps[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skew_wall_clock_rule_with_a_margin_of_the_skew_never_overlaps() {
    // The two clocks are 2 × SKEW_MICROS apart.
    let margin_ms = u32::try_from(2 * SKEW_MICROS / 1000).unwrap();
    let verdict = skewed_takeover(ExpiryRule::WallClock, margin_ms).await;
    assert!(verdict.is_safe(), "{verdict:#?}");
}
