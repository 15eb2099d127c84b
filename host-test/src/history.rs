//! Lock safety from the apiserver's write history: replaying every accepted write of a lease,
//! no holder may take it from another holder before that holder's lease expired.

use crate::apiserver::{Verb, WriteRecord};
use kube_lease_client::MicroTime;

/// What the replay of one lease's writes found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Accepted writes of the lease.
    pub writes: usize,
    /// Writes that gave the lease to a new holder.
    pub acquisitions: usize,
    /// Of those, takeovers from a holder whose lease had expired.
    pub expired_takeovers: usize,
    /// Writes that cleared the holder.
    pub releases: usize,
    /// Takeovers from a holder whose lease had not expired (server time): each a safety bug.
    pub violations: Vec<String>,
}

/// Replays the writes of lease `name` (in history order).
pub fn check(history: &[WriteRecord], name: &str) -> Verdict {
    let mut verdict = Verdict::default();
    let mut holder: Option<String> = None;
    let mut expires: Option<i64> = None;
    for w in history.iter().filter(|w| w.name == name) {
        verdict.writes += 1;
        let new_holder = match w.verb {
            Verb::Delete => None,
            _ => w.holder.clone().filter(|h| !h.is_empty()),
        };
        match (&holder, &new_holder) {
            (Some(old), Some(new)) if old != new => {
                verdict.acquisitions += 1;
                match expires {
                    Some(at) if at > w.at_unix_micros => verdict.violations.push(format!(
                        "rv {}: {new} took the lease from {old} {} ms before it expired",
                        w.resource_version,
                        (at - w.at_unix_micros) / 1000
                    )),
                    _ => verdict.expired_takeovers += 1,
                }
            }
            (None, Some(_)) => verdict.acquisitions += 1,
            (Some(_), None) => verdict.releases += 1,
            _ => {}
        }
        expires = match (&w.renew_time, w.lease_duration_seconds) {
            (Some(renew), Some(d)) => MicroTime::parse(renew)
                .ok()
                .map(|t| t.unix_micros + i64::from(d) * 1_000_000),
            _ => None,
        };
        holder = new_holder;
    }
    verdict
}

mod holds;
#[cfg(test)]
mod holds_tests;

pub use holds::{HoldRecord, HoldVerdict, check_holds, now_micros};
