//! What a hold costs the apiserver, from its request log: a renewal or release writes the
//! lease as the hold left it (one PUT, no read), falling back to a read when someone else
//! wrote since (a release then still reports `lost`, never overwriting blindly); `acquire`
//! learns the lease's state from a watch that opens with it (WatchList) and keeps that watch
//! for the wait; against a server without WatchList it reads instead, and remembers.

use host_test::apiserver::{Options, RequestRecord};
use host_test::cluster::Cluster;
use host_test::history::HoldRecord;
use host_test::host::LeaseError;

use crate::lock_support::*;
use crate::support::*;

/// The query a watch that opens with the current state carries.
const INITIAL_EVENTS: &str = "sendInitialEvents=true&resourceVersionMatch=NotOlderThan";

/// A handoff to a waiter that reads first: its read, its watch from that version, the
/// holder's release, its write.
const READ_THEN_WATCH: [&str; 4] = [
    "GET item 200",
    "GET watch-from 200",
    "PUT item 200",
    "PUT item 200",
];

/// `METHOD kind status` for each request on lease `name` (in its path, or a create's body)
/// from `from` on, where kind is
/// `watch-initial`, `watch-from` (a resourceVersion) or `item` (a read or write).
fn calls(cluster: &Cluster, from: usize, name: &str) -> Vec<String> {
    cluster.api.requests()[from..]
        .iter()
        .filter(|r| {
            r.path_and_query.contains(name) || String::from_utf8_lossy(&r.body).contains(name)
        })
        .map(call)
        .collect()
}

/// One request as [`calls`] writes it.
fn call(r: &RequestRecord) -> String {
    let kind = if !r.path_and_query.contains("watch=true") {
        "item"
    } else if r.path_and_query.contains(INITIAL_EVENTS) {
        "watch-initial"
    } else {
        "watch-from"
    };
    format!("{} {kind} {}", r.method, r.status)
}

#[tokio::test]
async fn a_renewal_and_a_release_cost_one_write_each_and_no_read() {
    let cluster = cluster().await;
    let mut a = plain(&cluster, "proxy-0", 300).await;
    let before = cluster.api.requests().len();
    let held = a.acquire("lock-a", 5_000).await;
    // Never contended here: a read (no stream held open while writing), then the create.
    assert_eq!(
        calls(&cluster, before, "lock-a"),
        ["GET item 404", "POST item 201"]
    );
    let before = cluster.api.requests().len();
    let renewed = ok(a.replica.renew(&a.locker, &held.hold).await);
    assert!(renewed.resource_version.parse::<u64>().unwrap() > held.hold.fencing_token);
    assert_eq!(calls(&cluster, before, "lock-a"), ["PUT item 200"]);
    let before = cluster.api.requests().len();
    ok(a.replica.release(&a.locker, &renewed).await);
    assert_eq!(calls(&cluster, before, "lock-a"), ["PUT item 200"]);
    let stored = cluster.api.stored(NS, "lock-a").unwrap();
    assert!(stored.contains(r#""holderIdentity":"""#), "{stored}");
    // Nothing is kept past the release: giving it back again reads, and hears it is free.
    let before = cluster.api.requests().len();
    let again = err(a.replica.release(&a.locker, &renewed).await);
    assert!(
        matches!(&again, LeaseError::Lost(m) if m.contains("released")),
        "{again:?}"
    );
    assert_eq!(calls(&cluster, before, "lock-a"), ["GET item 200"]);
}

#[tokio::test]
async fn a_release_after_another_wrote_the_lease_is_lost_and_overwrites_nothing() {
    let (cluster, _account, mut intruder, client) = connected().await;
    let mut a = plain(&cluster, "proxy-0", 300).await;
    let held = a.take("lock-a").await;
    // Someone else writes the lease over the hold (as a forced takeover would).
    let mut lease = ok(intruder.get(&client, "lock-a").await).expect("stored");
    lease.spec.holder_identity = Some("intruder".into());
    let taken = ok(intruder.update(&client, &lease).await);
    let before = cluster.api.requests().len();
    let released = err(a.replica.release(&a.locker, &held.hold).await);
    assert!(
        matches!(&released, LeaseError::Lost(m) if m.contains("intruder")),
        "{released:?}"
    );
    // The write at the kept version was refused; the read showed the hold gone.
    assert_eq!(
        calls(&cluster, before, "lock-a"),
        ["PUT item 409", "GET item 200"]
    );
    let last = cluster.api.history().pop().expect("writes");
    assert_eq!(last.resource_version, taken.resource_version.unwrap());
    assert_eq!(last.holder.as_deref(), Some("intruder"));
}

#[tokio::test]
async fn a_release_after_an_unrelated_write_reads_and_still_gives_the_hold_back() {
    let (cluster, _account, mut other, client) = connected().await;
    let mut a = plain(&cluster, "proxy-0", 300).await;
    let held = a.take("lock-a").await;
    let mut lease = ok(other.get(&client, "lock-a").await).expect("stored");
    lease.annotations.push(("team".into(), "edge".into()));
    ok(other.update(&client, &lease).await);
    let before = cluster.api.requests().len();
    ok(a.replica.release(&a.locker, &held.hold).await);
    assert_eq!(
        calls(&cluster, before, "lock-a"),
        ["PUT item 409", "GET item 200", "PUT item 200"]
    );
    let stored = cluster.api.stored(NS, "lock-a").unwrap();
    assert!(stored.contains(r#""holderIdentity":"""#), "{stored}");
    assert!(stored.contains(r#""team":"edge""#), "kept: {stored}");
}

/// `waiter` waits for lease `name` (until its watch is served) while `holder` holds it as
/// `held`; `holder` then releases it. The waiter, its hold, the first hold's record, and the
/// requests on the lease from the waiter's start on (as [`calls`]).
async fn hand_over(
    cluster: &Cluster,
    name: &'static str,
    (holder, held): (&mut Contender, &Held),
    mut waiter: Contender,
) -> (Contender, Held, HoldRecord, Vec<String>) {
    let before = cluster.api.requests().len();
    let waiting = tokio::spawn(async move {
        let hold = waiter.acquire(name, 20_000).await;
        (waiter, hold)
    });
    let watching = |c: &String| c.starts_with("GET watch") && c.ends_with(" 200");
    while !calls(cluster, before, name).iter().any(watching) {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let record = holder.release(held).await;
    let (waiter, second) = waiting.await.unwrap();
    assert!(second.hold.fencing_token > held.hold.fencing_token);
    (waiter, second, record, calls(cluster, before, name))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_meeting_a_holder_acquire_reads_by_the_watch_it_then_waits_on() {
    let cluster = cluster().await;
    let (mut a, first, b) = holder_and_waiter(&cluster, 300, "lock-a").await;
    // b has met no holder before: it reads, sees a, and watches from that version.
    let (mut b, second, a_record, seen) = hand_over(&cluster, "lock-a", (&mut a, &first), b).await;
    assert_eq!(seen, READ_THEN_WATCH);
    // Now a waits for b, and b, having met a holder, waits for a: the watch that opens with
    // the lease's state is its read, the holder's release comes on it, then b's write.
    let (mut a, third, b_record, _) = hand_over(&cluster, "lock-a", (&mut b, &second), a).await;
    let (mut b, fourth, third_record, seen) =
        hand_over(&cluster, "lock-a", (&mut a, &third), b).await;
    assert_eq!(
        seen,
        ["GET watch-initial 200", "PUT item 200", "PUT item 200"]
    );
    let mut records = vec![a_record, b_record, third_record, b.release(&fourth).await];
    // A lease gone meanwhile: the watch's end bookmark says so, and b creates it.
    let account = cluster.account("cleaner").unwrap();
    let (mut cleaner, client) = cluster.replica(&account).await.unwrap();
    ok(cleaner.delete(&client, "lock-a", &NO_PRECONDITIONS).await);
    let before = cluster.api.requests().len();
    let fifth = b.acquire("lock-a", 5_000).await;
    assert_eq!(
        calls(&cluster, before, "lock-a"),
        ["GET watch-initial 200", "POST item 201"]
    );
    records.push(b.release(&fifth).await);
    let verdict = host_test::history::check_holds(&cluster.api.history(), &records);
    assert!(verdict.is_safe(), "{verdict:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_watch_list_acquire_reads_first_and_remembers() {
    let older = Options {
        without_watch_list: true,
        ..Options::default()
    };
    let cluster = cluster_with(older).await;
    let (mut a, first, b) = holder_and_waiter(&cluster, 300, "lock-a").await;
    let (mut b, second, a_record, _) = hand_over(&cluster, "lock-a", (&mut a, &first), b).await;
    // a waits for b (a read, then a watch from its version): both have met a holder now.
    let (mut a, third, b_record, _) = hand_over(&cluster, "lock-a", (&mut b, &second), a).await;
    let mut records = vec![a_record, b_record];
    // Refused the watch that opens with the state, b reads, then watches from there.
    let (mut b, fourth, third_record, seen) =
        hand_over(&cluster, "lock-a", (&mut a, &third), b).await;
    assert_eq!(
        seen,
        [
            "GET watch-initial 422",
            "GET item 200",
            "GET watch-from 200",
            "PUT item 200",
            "PUT item 200"
        ]
    );
    records.push(third_record);
    // Remembered: b's next wait reads without asking for that watch again.
    let (mut a, fifth, fourth_record, _) =
        hand_over(&cluster, "lock-a", (&mut b, &fourth), a).await;
    records.push(fourth_record);
    let (mut b, sixth, fifth_record, seen) =
        hand_over(&cluster, "lock-a", (&mut a, &fifth), b).await;
    assert_eq!(seen, READ_THEN_WATCH);
    records.extend([fifth_record, b.release(&sixth).await]);
    let verdict = host_test::history::check_holds(&cluster.api.history(), &records);
    assert!(verdict.is_safe(), "{verdict:#?}");
}
