//! The lock layer's pure core: settings, the expiry rules and the lease each step writes.
//! The shell (`shell::locker`) runs these against the apiserver and the clocks.

pub mod contention;
pub mod options;
pub mod recovery;
pub mod rules;

use crate::prelude::*;

use crate::micro_time::MicroTime;

/// A lease a locker holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hold {
    /// The lease's name.
    pub name: String,
    /// The holder identity written to the lease.
    pub identity: String,
    /// `resourceVersion` of the write that acquired or last renewed the hold.
    pub resource_version: String,
    /// When the hold was acquired (wall clock, as written to the lease).
    pub acquire_time: MicroTime,
    /// Until when the holder may act (wall clock).
    pub valid_until: MicroTime,
    /// The same instant on the holding instance's monotonic clock, in nanoseconds.
    pub valid_until_monotonic_ns: u64,
    /// The resourceVersion of the acquiring write: strictly increasing across holds.
    pub fencing_token: u64,
}

/// Where an elector stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// This instance holds the lease.
    Leading,
    /// Another instance holds it.
    Following,
    /// This instance held it and no longer does.
    Lost,
}

/// The outcome of one elector tick.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Election {
    /// Where this instance stands.
    pub role: Role,
    /// The current holder, when known.
    pub holder: Option<String>,
    /// The hold, while leading.
    pub hold: Option<Hold>,
    /// When to tick next, in milliseconds from now.
    pub next_tick_ms: u32,
}
