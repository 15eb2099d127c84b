//! Fixtures for the lock tests: a contender (its own component instance, client and locker),
//! holds stamped on the test's clock, and what the emulator's logs say about them.

use host_test::apiserver::{Verb, WriteRecord};
use host_test::cluster::Cluster;
use host_test::history::{HoldRecord, now_micros};
use host_test::host::{Backoff, ExpiryRule, Hold, LockerHandle, LockerOptions, Replica};

use crate::support::*;

/// One lock user: a component instance of its own, with an in-cluster client and a locker.
pub struct Contender {
    /// The component instance.
    pub replica: Replica,
    /// Its locker.
    pub locker: LockerHandle,
}

/// A hold and when its acquisition returned, on the test's clock.
#[derive(Clone, Debug)]
pub struct Held {
    /// The hold as the component gave it.
    pub hold: Hold,
    /// [`now_micros`] when the call returned.
    pub at: i64,
}

impl Held {
    /// The report of this hold, ended now (call before sending the release).
    pub fn ended_now(&self) -> HoldRecord {
        self.ended_at(now_micros())
    }

    /// The report of this hold, ended at `released_at` (test clock).
    pub fn ended_at(&self, released_at: i64) -> HoldRecord {
        HoldRecord {
            lease: self.hold.name.clone(),
            identity: self.hold.identity.clone(),
            token: self.hold.fencing_token,
            acquired_at: self.at,
            released_at,
        }
    }

    /// Until when its holder may act, on the test's clock: its validity measured from the
    /// acquisition's return (later than from the send, so an overlap can only look longer).
    pub fn valid_until(&self) -> i64 {
        self.at + (self.hold.valid_until.unix_micros - self.hold.acquire_time.unix_micros)
    }
}

/// Options for `identity` with a `seconds` lease, the expiry rule and quick retries.
pub fn options(identity: &str, seconds: i32, expiry: ExpiryRule) -> LockerOptions {
    LockerOptions {
        identity: Some(identity.into()),
        lease_duration_seconds: Some(seconds),
        renew_deadline_ms: None,
        backoff: Some(Backoff {
            initial_ms: 20,
            max_ms: 200,
            jitter_percent: 20,
        }),
        expiry: Some(expiry),
        max_clock_skew_ms: None,
    }
}

/// A contender with a fresh account, its wall clock shifted by `skew_micros`.
pub async fn contender(cluster: &Cluster, options: LockerOptions, skew_micros: i64) -> Contender {
    let identity = options
        .identity
        .as_deref()
        .expect("tests name their lockers");
    let account = cluster.account(identity).unwrap();
    let mut sandbox = cluster.sandbox(&account);
    sandbox.wall_clock_offset_micros = skew_micros;
    let mut replica = cluster.host.instantiate(sandbox).await.unwrap();
    let client = ok(replica.client_in_cluster().await);
    let locker = ok(replica.locker_create(&client, &options).await);
    Contender { replica, locker }
}

/// An unskewed contender `id` with `seconds` leases and the observed-time rule.
pub async fn plain(cluster: &Cluster, id: &str, seconds: i32) -> Contender {
    contender(cluster, options(id, seconds, ExpiryRule::ObservedTime), 0).await
}

/// Plain contenders `proxy-0`, holding lease `name` already, and `proxy-1`.
pub async fn holder_and_waiter(
    cluster: &Cluster,
    seconds: i32,
    name: &str,
) -> (Contender, Held, Contender) {
    let mut holder = plain(cluster, "proxy-0", seconds).await;
    let waiter = plain(cluster, "proxy-1", seconds).await;
    let held = holder.take(name).await;
    (holder, held, waiter)
}

impl Contender {
    /// One attempt on a lease that must be free.
    pub async fn take(&mut self, name: &str) -> Held {
        self.try_acquire(name).await.expect("a free lease is taken")
    }

    /// One attempt; the hold stamped with the test's clock.
    pub async fn try_acquire(&mut self, name: &str) -> Option<Held> {
        let hold = ok(self.replica.try_acquire(&self.locker, name, &[]).await);
        hold.map(|hold| Held {
            hold,
            at: now_micros(),
        })
    }

    /// Waits up to `timeout_ms` for the hold, which must come.
    pub async fn acquire(&mut self, name: &str, timeout_ms: u32) -> Held {
        let hold = ok(self
            .replica
            .acquire(&self.locker, name, &[], timeout_ms)
            .await);
        Held {
            hold,
            at: now_micros(),
        }
    }

    /// Stops acting now and gives the hold back (it must still be ours); the report.
    pub async fn release(&mut self, held: &Held) -> HoldRecord {
        let record = held.ended_now();
        ok(self.replica.release(&self.locker, &held.hold).await);
        record
    }
}

/// Server-side handoffs of each lease: microseconds from a write that cleared the holder to
/// the next write that gave the lease to someone.
pub fn handoffs(history: &[WriteRecord]) -> Vec<i64> {
    let mut released: std::collections::HashMap<&str, i64> = std::collections::HashMap::new();
    let mut out = Vec::new();
    for w in history {
        let holder = w.holder.as_deref().unwrap_or_default();
        if w.verb != Verb::Delete && holder.is_empty() {
            released.insert(&w.name, w.at_unix_micros);
        } else if let Some(at) = released.remove(w.name.as_str()) {
            out.push(w.at_unix_micros - at);
        }
    }
    out
}

/// The median of `values` (0 for none).
pub fn p50(values: &mut [i64]) -> i64 {
    values.sort_unstable();
    values.get(values.len() / 2).copied().unwrap_or(0)
}

/// The write that made the lease's current holder, by revision.
pub fn write_at(history: &[WriteRecord], token: u64) -> &WriteRecord {
    history
        .iter()
        .find(|w| w.resource_version == token.to_string())
        .expect("the hold's token names a write in the log")
}

/// How many watch requests for lease `name` the emulator has seen.
pub fn watch_requests(cluster: &Cluster, name: &str) -> usize {
    let selector = format!("fieldSelector=metadata.name%3D{name}");
    cluster
        .api
        .requests()
        .into_iter()
        .filter(|r| {
            r.method == "GET"
                && r.path_and_query.contains("watch=true")
                && r.path_and_query.contains(&selector)
        })
        .count()
}

/// Waits (10 s at most) until the emulator has seen `n` watch requests for lease `name`.
pub async fn await_watch_requests(cluster: &Cluster, name: &str, n: usize) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while watch_requests(cluster, name) < n {
        assert!(
            std::time::Instant::now() < deadline,
            "only {} of {n} watch requests for {name}",
            watch_requests(cluster, name)
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}
