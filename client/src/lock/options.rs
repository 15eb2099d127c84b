//! A locker's settings: what the caller gave, completed with the defaults and checked.

use crate::prelude::*;

use crate::error::Error;

/// When a contender may take over a lease whose holder stopped renewing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ExpiryRule {
    /// Only after seeing the same resourceVersion unchanged for the lease duration on this
    /// instance's monotonic clock (client-go's rule): safe under any wall-clock skew.
    #[default]
    ObservedTime,
    /// Once `renewTime + leaseDurationSeconds + max-clock-skew` is before this instance's wall
    /// clock (the Go original's rule, with a margin): for stateless callers.
    WallClock,
}

/// Waits between attempts where no watch can be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The first wait in milliseconds.
    pub initial_ms: u32,
    /// The longest wait in milliseconds.
    pub max_ms: u32,
    /// Up to this percentage of each wait is added at random.
    pub jitter_percent: u8,
}

impl Default for Backoff {
    /// The Go original's: 500 ms doubling to 10 s, plus up to 20 % jitter.
    fn default() -> Self {
        Self {
            initial_ms: 500,
            max_ms: 10_000,
            jitter_percent: 20,
        }
    }
}

impl Backoff {
    /// The wait before attempt `n` (0-based): doubling from `initial_ms` up to `max_ms`, plus
    /// `random`'s share of the jitter.
    pub fn delay_ms(&self, n: u32, random: u64) -> u64 {
        let base = u64::from(self.initial_ms)
            .saturating_mul(1u64 << n.min(20))
            .min(u64::from(self.max_ms.max(self.initial_ms)));
        let jitter = base * u64::from(self.jitter_percent.min(100)) / 100;
        base + if jitter == 0 {
            0
        } else {
            random % (jitter + 1)
        }
    }
}

/// What the caller may set; `None` takes the default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LockerOptions {
    /// The holder identity (default: `HOSTNAME`, else random).
    pub identity: Option<String>,
    /// `leaseDurationSeconds` written on acquisition (default 300).
    pub lease_duration_seconds: Option<i32>,
    /// How long after the send of its last write a holder may act (default 2/3 of the lease).
    pub renew_deadline_ms: Option<u32>,
    /// Waits between attempts.
    pub backoff: Option<Backoff>,
    /// The expiry rule.
    pub expiry: Option<ExpiryRule>,
    /// How far apart replicas' wall clocks may be (default 5000 ms).
    pub max_clock_skew_ms: Option<u32>,
}

/// The lease duration the Go original writes.
pub const DEFAULT_LEASE_SECONDS: i32 = 300;
/// The default bound on wall-clock skew between replicas.
pub const DEFAULT_MAX_SKEW_MS: u32 = 5_000;

/// A locker's complete, checked settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockerConfig {
    /// The holder identity.
    pub identity: String,
    /// `leaseDurationSeconds` written on acquisition.
    pub lease_duration_seconds: i32,
    /// How long after the send of its last write a holder may act.
    pub renew_deadline_ms: u32,
    /// Waits between attempts.
    pub backoff: Backoff,
    /// The expiry rule.
    pub expiry: ExpiryRule,
    /// How far apart replicas' wall clocks may be.
    pub max_clock_skew_ms: u32,
}

impl LockerConfig {
    /// `options` completed: the identity from `hostname` (the pod name) or `random`.
    ///
    /// # Errors
    /// `InvalidArgument` for an empty identity, a duration under 1 s, or a renew deadline that
    /// is not shorter than the lease.
    pub fn resolve(
        options: LockerOptions,
        hostname: Option<String>,
        random: u64,
    ) -> Result<Self, Error> {
        let identity = options
            .identity
            .or(hostname
                .filter(|h| !h.trim().is_empty())
                .map(|h| h.trim().to_owned()))
            .unwrap_or_else(|| format!("kube-lease-{random:016x}"));
        if identity.is_empty() {
            return Err(Error::InvalidArgument(
                "the locker identity is empty".into(),
            ));
        }
        let seconds = options
            .lease_duration_seconds
            .unwrap_or(DEFAULT_LEASE_SECONDS);
        if seconds < 1 {
            return Err(Error::InvalidArgument(format!(
                "lease-duration-seconds {seconds} must be at least 1"
            )));
        }
        let lease_ms = u64::try_from(seconds).unwrap_or(0) * 1000;
        let renew_deadline_ms = options
            .renew_deadline_ms
            .unwrap_or(u32::try_from(lease_ms * 2 / 3).unwrap_or(u32::MAX));
        if u64::from(renew_deadline_ms) >= lease_ms || renew_deadline_ms == 0 {
            return Err(Error::InvalidArgument(format!(
                "renew-deadline-ms {renew_deadline_ms} must be above 0 and below the lease's {lease_ms} ms"
            )));
        }
        Ok(Self {
            identity,
            lease_duration_seconds: seconds,
            renew_deadline_ms,
            backoff: options.backoff.unwrap_or_default(),
            expiry: options.expiry.unwrap_or_default(),
            max_clock_skew_ms: options.max_clock_skew_ms.unwrap_or(DEFAULT_MAX_SKEW_MS),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_original_and_client_go() {
        let c =
            LockerConfig::resolve(LockerOptions::default(), Some("proxy-0\n".into()), 7).unwrap();
        assert_eq!(c.identity, "proxy-0");
        assert_eq!(c.lease_duration_seconds, 300);
        assert_eq!(c.renew_deadline_ms, 200_000);
        assert_eq!(c.expiry, ExpiryRule::ObservedTime);
        assert_eq!(c.max_clock_skew_ms, 5_000);
        let c = LockerConfig::resolve(LockerOptions::default(), None, 0xabc).unwrap();
        assert_eq!(c.identity, "kube-lease-0000000000000abc");
    }

    #[test]
    fn bad_settings_are_refused() {
        for options in [
            LockerOptions {
                lease_duration_seconds: Some(0),
                ..Default::default()
            },
            LockerOptions {
                lease_duration_seconds: Some(2),
                renew_deadline_ms: Some(2_000),
                ..Default::default()
            },
            LockerOptions {
                renew_deadline_ms: Some(0),
                ..Default::default()
            },
            LockerOptions {
                identity: Some(String::new()),
                ..Default::default()
            },
        ] {
            assert!(matches!(
                LockerConfig::resolve(options, None, 1),
                Err(Error::InvalidArgument(_))
            ));
        }
    }

    #[test]
    fn backoff_doubles_to_its_cap_with_bounded_jitter() {
        let b = Backoff::default();
        assert_eq!(b.delay_ms(0, 0), 500);
        assert_eq!(b.delay_ms(1, 0), 1_000);
        assert_eq!(b.delay_ms(10, 0), 10_000);
        assert_eq!(b.delay_ms(63, 0), 10_000);
        for r in [1, 99, u64::MAX] {
            let d = b.delay_ms(0, r);
            assert!((500..=600).contains(&d), "{d}");
        }
    }
}
