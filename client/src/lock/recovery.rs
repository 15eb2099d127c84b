//! A write whose reply was lost (a reset after sending, a timeout, a 500 or 504, an unreadable
//! success body) is never sent again blindly: the lease is read back and these rules decide
//! whether the write took effect. An acquisition is ours only if the lease names this identity
//! with the acquire time, renew time and duration it wrote; a renewal or release took effect
//! only if the lease carries exactly what it wrote, and the hold is lost once the lease no
//! longer records it.

use crate::lease::Lease;
use crate::lock::rules::still_held;
use crate::micro_time::MicroTime;

/// What the read-back says of a write whose outcome was unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settled {
    /// The lease carries the write: it happened (the read lease is the result).
    Applied,
    /// It did not happen, and nothing is lost: decide afresh from the read lease.
    NotApplied,
    /// It did not happen and the hold it was to keep is gone (another holder, or deleted).
    Lost,
}

/// The hold a renewal or release keeps: its identity and acquire time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keeping<'a> {
    /// The holder identity.
    pub identity: &'a str,
    /// When the hold was acquired.
    pub acquire_time: MicroTime,
}

/// Whether `read` carries the holder fields `intended` wrote: holder (an absent holder reads
/// as empty), acquire time, renew time and lease duration.
pub fn carries(read: &Lease, intended: &Lease) -> bool {
    let holder = |l: &Lease| l.spec.holder_identity.clone().unwrap_or_default();
    holder(read) == holder(intended)
        && read.spec.acquire_time == intended.spec.acquire_time
        && read.spec.renew_time == intended.spec.renew_time
        && read.spec.lease_duration_seconds == intended.spec.lease_duration_seconds
}

/// Settles a write of `intended` whose reply was lost, from the lease read back after it
/// (`None`: absent). `keeping` is the hold a renewal or release keeps; `None` for an
/// acquisition, which loses nothing when it did not happen.
pub fn settle(read: Option<&Lease>, intended: &Lease, keeping: Option<Keeping<'_>>) -> Settled {
    match (read, keeping) {
        (Some(lease), _) if carries(lease, intended) => Settled::Applied,
        (_, None) => Settled::NotApplied,
        (Some(lease), Some(k)) if still_held(lease, k.identity, k.acquire_time) => {
            Settled::NotApplied
        }
        (_, Some(_)) => Settled::Lost,
    }
}

/// The deadline for a write that may need settling: two thirds of the time left before `by`
/// (both monotonic ns), so a write that hangs still leaves time to read the lease back.
pub fn write_deadline(now_ns: u64, by: u64) -> u64 {
    now_ns.saturating_add(by.saturating_sub(now_ns) / 3 * 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lease::LeaseSpec;

    fn t(s: i64) -> MicroTime {
        MicroTime::from_unix_micros(s * 1_000_000)
    }

    fn lease(rv: &str, holder: Option<&str>, acquired: Option<i64>, renewed: Option<i64>) -> Lease {
        Lease {
            name: "l".into(),
            resource_version: Some(rv.into()),
            spec: LeaseSpec {
                holder_identity: holder.map(Into::into),
                lease_duration_seconds: Some(10),
                acquire_time: acquired.map(t),
                renew_time: renewed.map(t),
                ..LeaseSpec::default()
            },
            ..Lease::default()
        }
    }

    const ME: Keeping<'static> = Keeping {
        identity: "me",
        acquire_time: MicroTime::from_unix_micros(5_000_000),
    };

    #[test]
    fn a_lost_create_or_takeover_is_ours_only_if_the_lease_names_us_with_our_times() {
        let intended = lease("", Some("me"), Some(7), Some(7));
        // The write happened; nothing wrote since (or only other fields changed).
        let stored = lease("42", Some("me"), Some(7), Some(7));
        assert_eq!(settle(Some(&stored), &intended, None), Settled::Applied);
        // Absent: the create never happened.
        assert_eq!(settle(None, &intended, None), Settled::NotApplied);
        // Another holder wrote it (before or after us).
        let other = lease("43", Some("other"), Some(8), Some(8));
        assert_eq!(settle(Some(&other), &intended, None), Settled::NotApplied);
        // Our identity, but an older acquisition (e.g. a restarted replica's): not this write.
        let older = lease("40", Some("me"), Some(3), Some(6));
        assert_eq!(settle(Some(&older), &intended, None), Settled::NotApplied);
        // Our acquisition, another duration: not this write.
        let mut longer = stored.clone();
        longer.spec.lease_duration_seconds = Some(300);
        assert_eq!(settle(Some(&longer), &intended, None), Settled::NotApplied);
        // The takeover's base as it was: free, no times.
        let free = lease("41", Some(""), None, None);
        assert_eq!(settle(Some(&free), &intended, None), Settled::NotApplied);
    }

    #[test]
    fn a_lost_renewal_is_applied_not_applied_or_lost() {
        let intended = lease("50", Some("me"), Some(5), Some(20));
        let renewed = lease("51", Some("me"), Some(5), Some(20));
        assert_eq!(
            settle(Some(&renewed), &intended, Some(ME)),
            Settled::Applied
        );
        // Still ours at the old renew time: it did not land; the hold stands.
        let unchanged = lease("50", Some("me"), Some(5), Some(10));
        assert_eq!(
            settle(Some(&unchanged), &intended, Some(ME)),
            Settled::NotApplied
        );
        // Another holder, a new acquisition of ours, released, deleted: lost.
        for read in [
            Some(lease("52", Some("other"), Some(30), Some(30))),
            Some(lease("52", Some("me"), Some(30), Some(30))),
            Some(lease("52", Some(""), None, None)),
            None,
        ] {
            assert_eq!(
                settle(read.as_ref(), &intended, Some(ME)),
                Settled::Lost,
                "{read:?}"
            );
        }
    }

    #[test]
    fn a_lost_release_is_applied_when_the_lease_is_free_and_lost_when_someone_took_it() {
        let intended = lease("50", Some(""), None, None);
        for holder in [Some(""), None] {
            let freed = lease("51", holder, None, None);
            assert_eq!(settle(Some(&freed), &intended, Some(ME)), Settled::Applied);
        }
        let unchanged = lease("50", Some("me"), Some(5), Some(10));
        assert_eq!(
            settle(Some(&unchanged), &intended, Some(ME)),
            Settled::NotApplied
        );
        // Taken by another since: whether our release or an expiry let it in, the hold was
        // not given back by us for certain, so the caller hears `lost`.
        let taken = lease("52", Some("other"), Some(30), Some(30));
        assert_eq!(settle(Some(&taken), &intended, Some(ME)), Settled::Lost);
        assert_eq!(settle(None, &intended, Some(ME)), Settled::Lost);
    }

    #[test]
    fn a_write_leaves_a_third_of_the_time_for_the_read_back() {
        assert_eq!(write_deadline(100, 400), 300);
        assert_eq!(write_deadline(0, 10_000_000_000), 6_666_666_666);
        assert_eq!(write_deadline(500, 400), 500);
    }
}
