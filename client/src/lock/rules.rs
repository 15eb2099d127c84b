//! The lock rules, as pure functions of what was read and the two clocks: whether a lease may be
//! taken, the lease to write for each step, and the hold a successful write gives.

use crate::prelude::*;

use crate::error::Error;
use crate::go_json::quoted;
use crate::lease::{Entry, Lease, LeaseSpec};
use crate::lock::options::{ExpiryRule, LockerConfig};
use crate::micro_time::MicroTime;

/// Both clocks at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Now {
    /// This instance's monotonic clock, in nanoseconds.
    pub mono_ns: u64,
    /// This instance's wall clock.
    pub wall: MicroTime,
}

/// A lease version as this locker first saw it: the observed-time rule's evidence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    /// The resourceVersion seen.
    pub resource_version: String,
    /// When it was first seen, on the monotonic clock.
    pub since_mono_ns: u64,
}

impl Seen {
    /// The evidence after reading `lease` at `now`: unchanged if it is the version seen before.
    pub fn update(previous: Option<Self>, lease: &Lease, now: Now) -> Self {
        let rv = lease.resource_version.clone().unwrap_or_default();
        match previous {
            Some(seen) if seen.resource_version == rv => seen,
            _ => Self {
                resource_version: rv,
                since_mono_ns: now.mono_ns,
            },
        }
    }
}

/// What one attempt should do about a lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// There is no lease: create it.
    Create,
    /// Write over it at the read resourceVersion: free, ours, or expired.
    TakeOver,
    /// Another live holder has it; it expires (if never renewed) in `expires_in_ns`.
    Wait {
        /// The holder's identity.
        holder: String,
        /// Nanoseconds until the expiry rule would let this locker take it.
        expires_in_ns: u64,
    },
}

const NS_PER_MS: u64 = 1_000_000;

/// The step for `lease` (`None`: absent) at `now`; `seen` is this locker's evidence for it.
pub fn step(lease: Option<&Lease>, config: &LockerConfig, now: Now, seen: Option<&Seen>) -> Step {
    let Some(lease) = lease else {
        return Step::Create;
    };
    let holder = lease.spec.holder_identity.as_deref().unwrap_or_default();
    if holder.is_empty() || holder == config.identity {
        return Step::TakeOver;
    }
    let expires_in_ns = match config.expiry {
        ExpiryRule::ObservedTime => {
            // The lease's own duration, else ours (a lease without one is the original's
            // "expired", but only evidence on our own clock may say so).
            let seconds = lease
                .spec
                .lease_duration_seconds
                .filter(|d| *d > 0)
                .unwrap_or(config.lease_duration_seconds);
            let duration_ns = u64::try_from(seconds).unwrap_or(0) * 1_000 * NS_PER_MS;
            let since = seen.map_or(now.mono_ns, |s| s.since_mono_ns);
            (since + duration_ns).saturating_sub(now.mono_ns)
        }
        ExpiryRule::WallClock => match (lease.spec.renew_time, lease.spec.lease_duration_seconds) {
            (Some(renewed), Some(seconds)) if seconds > 0 => {
                let expiry_micros = renewed.unix_micros
                    + i64::from(seconds) * 1_000_000
                    + i64::from(config.max_clock_skew_ms) * 1_000;
                let left = expiry_micros.saturating_sub(now.wall.unix_micros);
                u64::try_from(left).unwrap_or(0) * 1_000
            }
            // The Go original: a lease without renewTime or duration counts as expired.
            _ => 0,
        },
    };
    if expires_in_ns == 0 {
        Step::TakeOver
    } else {
        Step::Wait {
            holder: holder.to_owned(),
            expires_in_ns,
        }
    }
}

/// `base` with `extra` added (a key in both takes `extra`'s value).
fn merged(base: &[Entry], extra: &[Entry]) -> Vec<Entry> {
    let mut out: Vec<Entry> = base
        .iter()
        .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
        .cloned()
        .collect();
    out.extend(extra.iter().cloned());
    out
}

/// The lease an acquisition writes: a new one (`base` absent) or `base` taken over at its
/// resourceVersion, held by this locker from `now`. `leaseTransitions` counts holder changes.
pub fn acquired(
    name: &str,
    base: Option<&Lease>,
    config: &LockerConfig,
    now: MicroTime,
    annotations: &[Entry],
) -> Lease {
    let mut lease = base.cloned().unwrap_or_else(|| Lease {
        name: name.to_owned(),
        ..Lease::default()
    });
    let previous = lease.spec.holder_identity.as_deref().unwrap_or_default();
    let transitions = match (base, lease.spec.lease_transitions) {
        (None, _) => 0,
        (Some(_), t) if previous == config.identity => t.unwrap_or(0),
        (Some(_), t) => t.unwrap_or(0).saturating_add(1),
    };
    lease.annotations = merged(&lease.annotations, annotations);
    lease.spec = LeaseSpec {
        holder_identity: Some(config.identity.clone()),
        lease_duration_seconds: Some(config.lease_duration_seconds),
        acquire_time: Some(now),
        renew_time: Some(now),
        lease_transitions: Some(transitions),
        ..lease.spec
    };
    lease
}

/// Whether `lease` still records `hold`'s acquisition by `identity`.
pub fn still_held(lease: &Lease, identity: &str, acquire_time: MicroTime) -> bool {
    lease.spec.holder_identity.as_deref() == Some(identity)
        && lease.spec.acquire_time == Some(acquire_time)
}

/// The `lost` error for lease `name`, as read (`None`: deleted).
pub fn lost(name: &str, lease: Option<&Lease>) -> Error {
    let why = match lease.and_then(|l| l.spec.holder_identity.as_deref()) {
        None if lease.is_none() => "it was deleted".to_owned(),
        None | Some("") => "it was released".to_owned(),
        Some(other) => format!("{} holds it now", quoted(other)),
    };
    Error::Lost(format!("the hold on lease {} is gone: {why}", quoted(name)))
}

/// `lease` renewed at `now` (its holder unchanged).
pub fn renewed(lease: &Lease, now: MicroTime) -> Lease {
    let mut lease = lease.clone();
    lease.spec.renew_time = Some(now);
    lease
}

/// `lease` released as the Go original releases it: no holder, no times.
pub fn released(lease: &Lease) -> Lease {
    let mut lease = lease.clone();
    lease.spec.holder_identity = Some(String::new());
    lease.spec.acquire_time = None;
    lease.spec.renew_time = None;
    lease
}

/// The fencing token of a hold acquired by the write that stored `written`: its
/// resourceVersion, which etcd makes strictly increasing across every later write.
///
/// # Errors
/// `Decode` when the server's resourceVersion is not a decimal number.
pub fn fencing_token(written: &Lease) -> Result<u64, Error> {
    let rv = written.resource_version.as_deref().unwrap_or_default();
    rv.parse::<u64>().map_err(|_| {
        Error::Decode(format!(
            "resourceVersion {} is not a number, so it cannot be a fencing token",
            quoted(rv)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::options::LockerOptions;

    fn config(rule: ExpiryRule, skew_ms: u32) -> LockerConfig {
        LockerConfig::resolve(
            LockerOptions {
                identity: Some("me".into()),
                lease_duration_seconds: Some(10),
                expiry: Some(rule),
                max_clock_skew_ms: Some(skew_ms),
                ..Default::default()
            },
            None,
            0,
        )
        .unwrap()
    }

    fn held_by(holder: &str, rv: &str, renewed_s: i64) -> Lease {
        Lease {
            name: "l".into(),
            resource_version: Some(rv.into()),
            spec: LeaseSpec {
                holder_identity: Some(holder.into()),
                lease_duration_seconds: Some(10),
                renew_time: Some(MicroTime::from_unix_micros(renewed_s * 1_000_000)),
                acquire_time: Some(MicroTime::from_unix_micros(renewed_s * 1_000_000)),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn at(mono_s: u64, wall_s: i64) -> Now {
        Now {
            mono_ns: mono_s * 1_000_000_000,
            wall: MicroTime::from_unix_micros(wall_s * 1_000_000),
        }
    }

    #[test]
    fn free_own_and_absent_leases_are_taken_at_once() {
        let c = config(ExpiryRule::ObservedTime, 0);
        assert_eq!(step(None, &c, at(0, 0), None), Step::Create);
        for holder in ["", "me"] {
            assert_eq!(
                step(Some(&held_by(holder, "1", 0)), &c, at(0, 0), None),
                Step::TakeOver
            );
        }
    }

    #[test]
    fn observed_time_waits_a_full_duration_of_unchanged_version_whatever_the_wall_clock_says() {
        let c = config(ExpiryRule::ObservedTime, 0);
        // Renewed "an hour ago" by the wall clock: irrelevant to this rule.
        let lease = held_by("other", "5", -3600);
        let seen = Seen::update(None, &lease, at(100, 0));
        assert_eq!(
            step(Some(&lease), &c, at(100, 0), Some(&seen)),
            Step::Wait {
                holder: "other".into(),
                expires_in_ns: 10_000_000_000
            }
        );
        let seen = Seen::update(Some(seen), &lease, at(105, 0));
        assert_eq!(seen.since_mono_ns, 100_000_000_000);
        assert!(matches!(
            step(Some(&lease), &c, at(105, 0), Some(&seen)),
            Step::Wait {
                expires_in_ns: 5_000_000_000,
                ..
            }
        ));
        assert_eq!(
            step(Some(&lease), &c, at(110, 0), Some(&seen)),
            Step::TakeOver
        );
        // A renewal (new version) restarts the evidence.
        let renewed = held_by("other", "6", -3600);
        let seen = Seen::update(Some(seen), &renewed, at(109, 0));
        assert_eq!(seen.since_mono_ns, 109_000_000_000);
        assert!(matches!(
            step(Some(&renewed), &c, at(110, 0), Some(&seen)),
            Step::Wait { .. }
        ));
    }

    #[test]
    fn wall_clock_adds_the_skew_margin_and_counts_missing_fields_as_expired() {
        let c = config(ExpiryRule::WallClock, 2_000);
        let lease = held_by("other", "5", 1000);
        assert!(matches!(
            step(Some(&lease), &c, at(0, 1011), None),
            Step::Wait {
                expires_in_ns: 1_000_000_000,
                ..
            }
        ));
        assert_eq!(step(Some(&lease), &c, at(0, 1012), None), Step::TakeOver);
        let no_margin = config(ExpiryRule::WallClock, 0);
        assert_eq!(
            step(Some(&lease), &no_margin, at(0, 1010), None),
            Step::TakeOver
        );
        let mut bare = lease.clone();
        bare.spec.renew_time = None;
        assert_eq!(step(Some(&bare), &c, at(0, 0), None), Step::TakeOver);
    }

    #[test]
    fn an_acquisition_keeps_annotations_and_counts_transitions() {
        let c = config(ExpiryRule::ObservedTime, 0);
        let now = MicroTime::from_unix_micros(7);
        let mut base = held_by("other", "5", 0);
        base.annotations = vec![
            ("netbird.io/domain".into(), "example.com".into()),
            ("a".into(), "1".into()),
        ];
        base.spec.lease_transitions = Some(3);
        let l = acquired("l", Some(&base), &c, now, &[("a".into(), "2".into())]);
        assert_eq!(l.resource_version.as_deref(), Some("5"));
        assert_eq!(l.spec.holder_identity.as_deref(), Some("me"));
        assert_eq!(
            (l.spec.acquire_time, l.spec.renew_time),
            (Some(now), Some(now))
        );
        assert_eq!(l.spec.lease_transitions, Some(4));
        assert_eq!(
            l.annotations,
            vec![
                ("netbird.io/domain".into(), "example.com".into()),
                ("a".into(), "2".into())
            ]
        );
        let again = acquired("l", Some(&l), &c, now, &[]);
        assert_eq!(again.spec.lease_transitions, Some(4));
        let new = acquired("l", None, &c, now, &[]);
        assert_eq!(
            (new.name.as_str(), new.spec.lease_transitions),
            ("l", Some(0))
        );
        assert!(still_held(&l, "me", now));
        assert!(!still_held(&l, "me", MicroTime::from_unix_micros(8)));
        let r = released(&l);
        assert_eq!(r.spec.holder_identity.as_deref(), Some(""));
        assert_eq!((r.spec.acquire_time, r.spec.renew_time), (None, None));
    }

    #[test]
    fn the_fencing_token_is_the_acquiring_write_s_version() {
        assert_eq!(fencing_token(&held_by("me", "4711", 0)).unwrap(), 4711);
        assert!(matches!(
            fencing_token(&held_by("me", "abc", 0)),
            Err(Error::Decode(_))
        ));
        assert!(matches!(lost("l", None), Error::Lost(m) if m.contains("deleted")));
        assert!(
            matches!(lost("l", Some(&held_by("x", "1", 0))), Error::Lost(m) if m.contains("\"x\" holds it"))
        );
    }
}
