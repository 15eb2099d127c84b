//! The two clocks, sleeping and randomness, through `wasi:clocks` and `wasi:random`.

use wasi::clocks::{monotonic_clock, wall_clock};

use crate::lock::rules::Now;
use crate::micro_time::MicroTime;

/// Both clocks now.
pub fn now() -> Now {
    let wall = wall_clock::now();
    let micros = i64::try_from(wall.seconds)
        .unwrap_or(i64::MAX / 1_000_000)
        .saturating_mul(1_000_000)
        .saturating_add(i64::from(wall.nanoseconds / 1_000));
    Now {
        mono_ns: monotonic_clock::now(),
        wall: MicroTime::from_unix_micros(micros),
    }
}

/// The monotonic clock, in nanoseconds.
pub fn monotonic_ns() -> u64 {
    monotonic_clock::now()
}

/// Sleeps until the monotonic clock reads `deadline`.
pub fn sleep_until(deadline: u64) {
    monotonic_clock::subscribe_instant(deadline).block();
}

/// A random number (jitter, and an identity when there is no `HOSTNAME`).
pub fn random_u64() -> u64 {
    wasi::random::random::get_random_u64()
}
