//! Lock safety from what the holders reported: each hold's interval on the test's clock and its
//! fencing token, checked against each other and against the apiserver's write log.
//!
//! Holds of one lease must not overlap in real time, their fencing tokens must strictly
//! increase from one hold to the next, each token must be the resourceVersion of a write in
//! the log that made that identity the holder, and while a hold is live no other holder may
//! write the lease (nor anyone delete it).

use std::collections::BTreeMap;

use crate::apiserver::{Verb, WriteRecord};

/// One hold as the instance that had it reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HoldRecord {
    /// The lease held.
    pub lease: String,
    /// The holder identity written to the lease.
    pub identity: String,
    /// The hold's fencing token (the resourceVersion of the write that acquired it).
    pub token: u64,
    /// When the acquisition returned, in microseconds of [`now_micros`].
    pub acquired_at: i64,
    /// When the holder stopped acting (before its release was sent, or when its validity
    /// ended), in microseconds of [`now_micros`].
    pub released_at: i64,
}

/// What checking the holds found; every list empty means safe.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HoldVerdict {
    /// Holds checked.
    pub holds: usize,
    /// Pairs of holds of one lease live at the same time (real time, or by the write log).
    pub overlaps: Vec<String>,
    /// Successive holds of one lease whose fencing token did not increase.
    pub token_regressions: Vec<String>,
    /// Holds whose token names no write in the log that made their identity the holder.
    pub unlogged: Vec<String>,
}

impl HoldVerdict {
    /// True when no overlap, token regression or unlogged hold was found.
    pub fn is_safe(&self) -> bool {
        self.overlaps.is_empty() && self.token_regressions.is_empty() && self.unlogged.is_empty()
    }
}

/// The test's clock: the host's wall clock in microseconds since the Unix epoch, the clock the
/// emulator stamps its writes with (instances' skewed clocks never enter it).
pub fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// Checks `holds` (of any leases, in any order) against each other and against `history`.
pub fn check_holds(history: &[WriteRecord], holds: &[HoldRecord]) -> HoldVerdict {
    let mut verdict = HoldVerdict {
        holds: holds.len(),
        ..HoldVerdict::default()
    };
    let mut by_lease: BTreeMap<&str, Vec<Interval<'_>>> = BTreeMap::new();
    for hold in holds {
        let log: Vec<&WriteRecord> = history.iter().filter(|w| w.name == hold.lease).collect();
        let start = match acquiring_write(&log, hold) {
            Some(write) => {
                verdict.overlaps.extend(writes_by_others(&log, write, hold));
                write.at_unix_micros.min(hold.acquired_at)
            }
            None => {
                verdict.unlogged.push(format!(
                    "{}: token {} of {} is no write in the log that made it the holder",
                    hold.lease, hold.token, hold.identity
                ));
                hold.acquired_at
            }
        };
        by_lease
            .entry(&hold.lease)
            .or_default()
            .push(Interval { start, hold });
    }
    for intervals in by_lease.values_mut() {
        intervals.sort_by_key(|i| (i.start, i.hold.token));
        in_real_time(intervals, &mut verdict);
    }
    verdict
}

/// A hold and when it began: its acquiring write's server time when the log has it.
struct Interval<'a> {
    /// Microseconds of [`now_micros`].
    start: i64,
    /// The reported hold.
    hold: &'a HoldRecord,
}

/// The write of the hold's lease whose resourceVersion is its token and that made its
/// identity the holder.
fn acquiring_write<'a>(log: &[&'a WriteRecord], hold: &HoldRecord) -> Option<&'a WriteRecord> {
    log.iter().copied().find(|w| {
        w.verb != Verb::Delete
            && w.resource_version.parse::<u64>().ok() == Some(hold.token)
            && w.holder.as_deref() == Some(hold.identity.as_str())
    })
}

/// Writes after `acquired` and before the hold ended that gave the lease to someone else or
/// deleted it.
fn writes_by_others(
    log: &[&WriteRecord],
    acquired: &WriteRecord,
    hold: &HoldRecord,
) -> Vec<String> {
    log.iter()
        .filter(|w| w.seq > acquired.seq && w.at_unix_micros < hold.released_at)
        .filter(|w| {
            w.verb == Verb::Delete
                || w.holder
                    .as_deref()
                    .is_some_and(|h| !h.is_empty() && h != hold.identity)
        })
        .map(|w| {
            let who = match w.verb {
                Verb::Delete => "a delete",
                _ => w.holder.as_deref().unwrap_or_default(),
            };
            format!(
                "{}: {who} wrote it (rv {}, {:?}) {} ms before {}'s hold (token {}) ended",
                hold.lease,
                w.resource_version,
                w.verb,
                (hold.released_at - w.at_unix_micros) / 1000,
                hold.identity,
                hold.token
            )
        })
        .collect()
}

/// Holds of one lease, sorted by start: each must begin after every earlier one ended, with a
/// larger token than the one before it.
fn in_real_time(intervals: &[Interval<'_>], verdict: &mut HoldVerdict) {
    let mut latest: Option<&HoldRecord> = None;
    let mut previous: Option<&HoldRecord> = None;
    for interval in intervals {
        let hold = interval.hold;
        if let Some(live) = latest.filter(|l| l.released_at > interval.start) {
            verdict.overlaps.push(format!(
                "{}: {} (token {}) held it from {} while {} (token {}) held it until {} ({} ms together)",
                hold.lease,
                hold.identity,
                hold.token,
                interval.start,
                live.identity,
                live.token,
                live.released_at,
                (live.released_at.min(hold.released_at) - interval.start) / 1000
            ));
        }
        if let Some(before) = previous.filter(|p| p.token >= hold.token) {
            verdict.token_regressions.push(format!(
                "{}: {}'s token {} follows {}'s token {}",
                hold.lease, hold.identity, hold.token, before.identity, before.token
            ));
        }
        if latest.is_none_or(|l| hold.released_at > l.released_at) {
            latest = Some(hold);
        }
        previous = Some(hold);
    }
}
