//! The locker's calls one by one, end to end: release, renew and release after loss, acquire
//! timeout, self re-acquire, waiting by watch, the identity default, and interop with the Go
//! original (its exact bytes, and its locker contending with the component).

use std::time::Duration;

use host_test::demo::locker::{Attempt, DOMAIN_ANNOTATION, Locker, Release};
use host_test::history::{check_holds, now_micros};
use host_test::host::{ExpiryRule, LeaseError};

use crate::lock_support::*;
use crate::support::*;

/// The lease `lock-for-domain("example.com")` uses.
const DOMAIN_LEASE: &str = "cert-lock-a379a6f6eeafb9a5";

#[tokio::test]
async fn release_frees_the_lease_for_the_next_holder_with_a_larger_token() {
    let cluster = cluster().await;
    let (mut a, first, mut b) = holder_and_waiter(&cluster, 300, "lock-a").await;
    assert!(
        b.try_acquire("lock-a").await.is_none(),
        "held by a live holder"
    );
    let first_record = a.release(&first).await;
    let stored = cluster.api.stored(NS, "lock-a").unwrap();
    assert!(stored.contains(r#""holderIdentity":"""#), "{stored}");
    let second = b
        .try_acquire("lock-a")
        .await
        .expect("a released lease is free");
    assert!(second.hold.fencing_token > first.hold.fencing_token);
    // Giving back a hold twice is no silent success.
    let again = err(a.replica.release(&a.locker, &first.hold).await);
    assert!(
        matches!(&again, LeaseError::Lost(m) if m.contains("proxy-1")),
        "{again:?}"
    );
    let records = [first_record, b.release(&second).await];
    let verdict = check_holds(&cluster.api.history(), &records);
    assert!(verdict.is_safe(), "{verdict:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renew_keeps_the_token_and_renew_or_release_after_loss_is_lost() {
    let cluster = cluster().await;
    let (mut a, first, mut b) = holder_and_waiter(&cluster, 1, "lock-a").await;
    let renewed = ok(a.replica.renew(&a.locker, &first.hold).await);
    assert_eq!(renewed.fencing_token, first.hold.fencing_token);
    assert!(renewed.resource_version.parse::<u64>().unwrap() > first.hold.fencing_token);
    assert!(renewed.valid_until.unix_micros > first.hold.valid_until.unix_micros);
    // a stops renewing; b takes over after a lease duration of silence.
    let second = b.acquire("lock-a", 5_000).await;
    assert!(second.hold.fencing_token > renewed.fencing_token);
    for result in [
        a.replica
            .renew(&a.locker, &renewed)
            .await
            .map(|r| r.map(|_| ())),
        a.replica.release(&a.locker, &renewed).await,
    ] {
        let e = err(result);
        assert!(
            matches!(&e, LeaseError::Lost(m) if m.contains("proxy-1")),
            "{e:?}"
        );
    }
    let stored = cluster.api.stored(NS, "lock-a").unwrap();
    assert!(
        stored.contains(r#""holderIdentity":"proxy-1""#),
        "a lost release wrote: {stored}"
    );
}

#[tokio::test]
async fn acquire_times_out_while_a_live_holder_keeps_the_lease() {
    let cluster = cluster().await;
    let (_holder, _held, mut b) = holder_and_waiter(&cluster, 300, "lock-a").await;
    let waited = tokio::time::timeout(
        Duration::from_secs(20),
        b.replica.acquire(&b.locker, "lock-a", &[], 300),
    )
    .await
    .expect("acquire returns once its timeout passed");
    let e = err(waited);
    assert!(
        matches!(&e, LeaseError::Timeout(m) if m.contains("proxy-0")),
        "{e:?}"
    );
}

#[tokio::test]
async fn self_reacquire_while_holding_gives_a_larger_token() {
    let cluster = cluster().await;
    let mut a = plain(&cluster, "proxy-0", 300).await;
    let first = a.take("lock-a").await;
    // The first hold ends where the re-acquisition begins.
    let first_record = first.ended_now();
    let second = a
        .try_acquire("lock-a")
        .await
        .expect("its own lease is taken again");
    assert!(second.hold.fencing_token > first.hold.fencing_token);
    assert_eq!(second.hold.identity, "proxy-0");
    let records = [first_record, a.release(&second).await];
    let verdict = check_holds(&cluster.api.history(), &records);
    assert!(verdict.is_safe(), "{verdict:#?}");
}

#[tokio::test]
async fn identity_defaults_to_hostname() {
    let cluster = cluster().await;
    let account = cluster.account("proxy-7").unwrap();
    let mut sandbox = cluster.sandbox(&account);
    sandbox.env.push(("HOSTNAME".into(), "proxy-7-5d9f".into()));
    let mut replica = cluster.host.instantiate(sandbox).await.unwrap();
    let client = ok(replica.client_in_cluster().await);
    let options = host_test::host::LockerOptions {
        identity: None,
        ..options("unused", 300, ExpiryRule::ObservedTime)
    };
    let locker = ok(replica.locker_create(&client, &options).await);
    assert_eq!(
        replica.locker_identity(&locker).await.unwrap(),
        "proxy-7-5d9f"
    );
    let hold = ok(replica.lock_for_domain(&locker, "example.com", 1_000).await);
    assert_eq!(
        (hold.name.as_str(), hold.identity.as_str()),
        (DOMAIN_LEASE, "proxy-7-5d9f")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_lease_in_the_go_originals_bytes_is_taken_over() {
    let cluster = cluster().await;
    // What a Go replica left behind a day ago: created by json.Marshal of its Lease.
    let (mut go, go_client) = cluster
        .replica(&cluster.account("go-proxy-0").unwrap())
        .await
        .unwrap();
    let mut stale = held(DOMAIN_LEASE, "go-proxy-0", T0);
    stale.spec.lease_duration_seconds = Some(60);
    stale.annotations = vec![(DOMAIN_ANNOTATION.into(), "example.com".into())];
    let created = ok(go.create(&go_client, &stale).await);
    let go_bytes = r#"{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"cert-lock-a379a6f6eeafb9a5","namespace":"netbird","annotations":{"netbird.io/domain":"example.com"}},"spec":{"holderIdentity":"go-proxy-0","leaseDurationSeconds":60,"acquireTime":"2026-11-28T10:00:00.123456Z","renewTime":"2026-11-28T10:00:00.123456Z"}}"#;
    let posted: Vec<_> = cluster
        .api
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(String::from_utf8_lossy(&posted[0].body), go_bytes);

    // The Go original's rule, as a stateless caller would use it.
    let mut wasm = contender(&cluster, options("proxy-1", 300, ExpiryRule::WallClock), 0).await;
    let hold = ok(wasm
        .replica
        .lock_for_domain(&wasm.locker, "example.com", 5_000)
        .await);
    assert_eq!(hold.name, DOMAIN_LEASE);
    assert!(hold.fencing_token > created.resource_version.unwrap().parse().unwrap());
    let stored = ok(go.get(&go_client, DOMAIN_LEASE).await).unwrap();
    assert_eq!(stored.spec.holder_identity.as_deref(), Some("proxy-1"));
    assert_eq!(stored.spec.lease_transitions, Some(1));
    assert_eq!(stored.spec.lease_duration_seconds, Some(300));
    assert_eq!(
        stored.annotations,
        [(DOMAIN_ANNOTATION.to_owned(), "example.com".to_owned())]
    );
    let replay = host_test::history::check(&cluster.api.history(), DOMAIN_LEASE);
    assert_eq!(
        (replay.acquisitions, replay.expired_takeovers),
        (2, 1),
        "{replay:?}"
    );
    assert!(replay.violations.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_go_style_replica_and_component_lockers_take_turns_on_one_lease() {
    const ROUNDS: usize = 8;
    let cluster = cluster().await;
    let (replica, client) = cluster
        .replica(&cluster.account("go-proxy").unwrap())
        .await
        .unwrap();
    let mut go = Locker {
        replica,
        client,
        identity: "go-proxy".into(),
        duration_seconds: 300,
    };
    let go_task = tokio::spawn(async move {
        let mut records = Vec::new();
        while records.len() < ROUNDS {
            match go.try_acquire(DOMAIN_LEASE, "example.com").await.unwrap() {
                Attempt::Acquired { lease, .. } => {
                    let token = lease.resource_version.unwrap().parse().unwrap();
                    let acquired_at = now_micros();
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    let released_at = now_micros();
                    assert!(matches!(
                        go.release(DOMAIN_LEASE).await.unwrap(),
                        Release::Released(_)
                    ));
                    records.push(host_test::history::HoldRecord {
                        lease: DOMAIN_LEASE.into(),
                        identity: "go-proxy".into(),
                        token,
                        acquired_at,
                        released_at,
                    });
                }
                Attempt::HeldBy(_) | Attempt::LostRace(_) => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        }
        records
    });
    let mut wasm_tasks = Vec::new();
    for id in ["proxy-0", "proxy-1"] {
        let mut c = plain(&cluster, id, 300).await;
        wasm_tasks.push(tokio::spawn(async move {
            let mut records = Vec::new();
            for _ in 0..ROUNDS {
                let hold = ok(c
                    .replica
                    .lock_for_domain(&c.locker, "example.com", 30_000)
                    .await);
                let held = Held {
                    hold,
                    at: now_micros(),
                };
                tokio::time::sleep(Duration::from_millis(2)).await;
                records.push(c.release(&held).await);
            }
            records
        }));
    }
    let mut records = go_task.await.unwrap();
    for task in wasm_tasks {
        records.extend(task.await.unwrap());
    }
    let verdict = check_holds(&cluster.api.history(), &records);
    assert_eq!(verdict.holds, 3 * ROUNDS);
    assert!(verdict.is_safe(), "{verdict:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiter_blocked_in_acquire_gets_the_hold_by_watch_when_it_is_released() {
    let cluster = cluster().await;
    let (mut a, first, mut b) = holder_and_waiter(&cluster, 300, "lock-a").await;
    // A 300 s lease and a 20 s wait: only the release can hand it over in time.
    let waiter = tokio::spawn(async move { b.acquire("lock-a", 20_000).await });
    await_watch_requests(&cluster, "lock-a", 1).await;
    let first_record = a.release(&first).await;
    let second = waiter.await.unwrap();
    assert_eq!(second.hold.identity, "proxy-1");
    assert!(second.hold.fencing_token > first.hold.fencing_token);
    let log = cluster.api.history();
    let released = log
        .iter()
        .rev()
        .find(|w| w.holder.as_deref() == Some(""))
        .unwrap();
    let taken = write_at(&log, second.hold.fencing_token);
    eprintln!(
        "waiting by watch: release write -> waiter's acquiring write {} µs, -> its acquire returned {} µs",
        taken.at_unix_micros - released.at_unix_micros,
        second.at - released.at_unix_micros
    );
    let verdict = check_holds(&log, &[first_record, second.ended_now()]);
    assert!(verdict.is_safe(), "{verdict:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiter_whose_watch_is_expired_backs_off_reads_again_and_still_gets_the_hold() {
    let cluster = cluster().await;
    let (mut a, first, mut b) = holder_and_waiter(&cluster, 300, "lock-a").await;
    // The waiter's first watch answers 200 and one 410 Expired ERROR event, then ends.
    cluster.api.expire_next_watches(1);
    let waiter = tokio::spawn(async move { b.acquire("lock-a", 20_000).await });
    // After its backoff it reads the lease again and watches from the fresh version.
    await_watch_requests(&cluster, "lock-a", 2).await;
    let reads = cluster
        .api
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path_and_query.ends_with("/leases/lock-a"))
        .count();
    assert!(
        reads >= 2,
        "the waiter read the lease again after the 410 ({reads} reads)"
    );
    let first_record = a.release(&first).await;
    let second = waiter.await.unwrap();
    assert_eq!(second.hold.identity, "proxy-1");
    assert!(second.hold.fencing_token > first.hold.fencing_token);
    let verdict = check_holds(&cluster.api.history(), &[first_record, second.ended_now()]);
    assert!(verdict.is_safe(), "{verdict:#?}");
}
