//! The deferral window (CSMA-like): how long a waiter that saw the lease come free waits,
//! at random, before writing, so that of many waiters one writes and the rest see it taken.
//!
//! The wait is a whole number of [`SLOT_NS`] slots, as in slotted backoff: hosts' timers
//! tick by the millisecond (tokio's, under wasmtime), so a wait of a few microseconds
//! really lasts until the next tick. A waiter drawing slot 0 writes at once; in the
//! narrowest window every waiter does, and only a lost race widens it.

/// One slot of the window: a host timer's tick.
pub const SLOT_NS: u64 = 1_000_000;

/// The narrowest window, one slot: an uncontended handoff does not wait.
pub const MIN_WINDOW_NS: u64 = SLOT_NS;

/// The widest window.
pub const MAX_WINDOW_NS: u64 = 50_000_000;

/// A locker's deferral window, widened by contention and narrowed by success.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// The window's width in nanoseconds, within [`MIN_WINDOW_NS`, `MAX_WINDOW_NS`].
    pub ns: u64,
}

impl Default for Window {
    fn default() -> Self {
        Self { ns: MIN_WINDOW_NS }
    }
}

impl Window {
    /// The delay before writing: a whole number of slots in [0, width), drawn from `random`.
    pub fn delay_ns(self, random: u64) -> u64 {
        random % (self.ns / SLOT_NS).max(1) * SLOT_NS
    }

    /// After losing a race (a write refused because another wrote first): twice as wide, up
    /// to [`MAX_WINDOW_NS`]. Seeing another take the lease while deferring is no collision
    /// and leaves the window as it is: widening there too made the windows grow with the
    /// number of waiters and every handoff wait for the luckiest of many wide draws.
    #[must_use]
    pub fn lost(self) -> Self {
        Self {
            ns: self.ns.saturating_mul(2).min(MAX_WINDOW_NS),
        }
    }

    /// After winning: half as wide, down to [`MIN_WINDOW_NS`].
    #[must_use]
    pub fn won(self) -> Self {
        Self {
            ns: (self.ns / 2).max(MIN_WINDOW_NS),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_at_the_narrowest_window() {
        assert_eq!(Window::default().ns, MIN_WINDOW_NS);
    }

    #[test]
    fn the_delay_is_a_whole_number_of_slots_within_the_window() {
        let w = Window { ns: 8_000_000 };
        assert_eq!(w.delay_ns(0), 0);
        assert_eq!(w.delay_ns(7), 7 * SLOT_NS);
        assert_eq!(w.delay_ns(8), 0);
        assert_eq!(w.delay_ns(u64::MAX), (u64::MAX % 8) * SLOT_NS);
        let delays: Vec<u64> = (0..1000u64)
            .map(|r| w.delay_ns(r.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
            .collect();
        assert!(delays.iter().all(|d| d % SLOT_NS == 0 && *d < w.ns));
        // Every slot is drawn.
        assert!((0..8).all(|slot| delays.contains(&(slot * SLOT_NS))));
    }

    #[test]
    fn the_narrowest_window_writes_at_once() {
        let w = Window::default();
        assert!((0..1000u64).all(|r| w.delay_ns(r.wrapping_mul(0x9e37_79b9_7f4a_7c15)) == 0));
        // A window narrower than a slot (never made, but harmless) writes at once too.
        assert_eq!(Window { ns: SLOT_NS / 2 }.delay_ns(3), 0);
    }

    #[test]
    fn losing_doubles_up_to_the_cap() {
        let mut w = Window::default();
        let mut widths = Vec::new();
        for _ in 0..8 {
            w = w.lost();
            widths.push(w.ns / 1_000_000);
        }
        assert_eq!(widths, [2, 4, 8, 16, 32, 50, 50, 50]);
    }

    #[test]
    fn winning_halves_down_to_the_floor() {
        let mut w = Window { ns: MAX_WINDOW_NS };
        let mut widths = Vec::new();
        for _ in 0..7 {
            w = w.won();
            widths.push(w.ns / 100_000);
        }
        assert_eq!(widths, [250, 125, 62, 31, 15, 10, 10]);
    }

    #[test]
    fn a_zero_width_never_divides_by_zero() {
        assert_eq!(Window { ns: 0 }.delay_ns(5), 0);
    }
}
