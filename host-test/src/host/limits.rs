//! What one guest instance may use: a cap on its linear memory and a deadline per call,
//! enforced by the store's [`MemoryMeter`](super::meter::MemoryMeter) and by epoch-based
//! interruption (one ticker thread per engine advances the epoch every [`EPOCH_TICK`]).

use std::fmt;
use std::thread;
use std::time::{Duration, Instant};

use wasmtime::{Config as EngineConfig, Engine, Store, UpdateDeadline};

use super::state::HostState;

/// How often the engine's epoch advances: a running guest is checked against its call's
/// deadline (and yields to the async executor) this often.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The limits every instance of a host gets.
///
/// A call's deadline is [`GuestLimits::call_deadline`] plus the call's own timeout
/// (`acquire` and `lock-for-domain` wait up to theirs); the time a guest spends blocked in a
/// host call (an HTTP request, a wait) counts, and is bounded by the guest's own request
/// timeouts, so the deadline stops a guest that computes (loops) past it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuestLimits {
    /// The most linear memory one instance may hold, all its memories together, in bytes
    /// (default [`GuestLimits::DEFAULT_MAX_MEMORY_BYTES`], 128 MiB).
    pub max_memory_bytes: usize,
    /// How long a call without a timeout of its own may run (default
    /// [`GuestLimits::DEFAULT_CALL_DEADLINE`], 120 s: a call makes a few requests, each
    /// bounded by the client's request timeout, 10 s by default; raise it with the request
    /// timeout).
    pub call_deadline: Duration,
}

impl GuestLimits {
    /// The default memory cap: 128 MiB. An idle instance holds about 1.1 MiB, but a caller may
    /// pass a lease far larger than any server takes, and the guest holds about four copies
    /// of it while writing it (a 24 MiB annotation needs about 100 MiB).
    pub const DEFAULT_MAX_MEMORY_BYTES: usize = 128 << 20;
    /// The default deadline of a call without a timeout of its own.
    pub const DEFAULT_CALL_DEADLINE: Duration = Duration::from_secs(120);
}

impl Default for GuestLimits {
    fn default() -> Self {
        Self {
            max_memory_bytes: Self::DEFAULT_MAX_MEMORY_BYTES,
            call_deadline: Self::DEFAULT_CALL_DEADLINE,
        }
    }
}

/// Why the host stopped a guest: the error a trapped call carries (find it with
/// `anyhow::Error::downcast_ref` or `root_cause`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GuestLimitExceeded {
    /// The guest tried to grow its linear memory past the cap.
    Memory {
        /// The cap, in bytes.
        cap: usize,
        /// What the guest asked to grow to, in bytes (all its memories together).
        desired: usize,
    },
    /// The guest was still running when its call's deadline passed.
    Deadline {
        /// The call's deadline, from the start of the call.
        limit: Duration,
    },
}

impl fmt::Display for GuestLimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Memory { cap, desired } => write!(
                f,
                "guest exceeded memory cap {cap} bytes (it asked for {desired} bytes)"
            ),
            Self::Deadline { limit } => {
                write!(
                    f,
                    "guest call exceeded deadline of {} ms",
                    limit.as_millis()
                )
            }
        }
    }
}

impl std::error::Error for GuestLimitExceeded {}

/// The deadline of the call running in a store.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CallDeadline {
    /// When the call started.
    started: Instant,
    /// How long it may run.
    limit: Duration,
}

impl CallDeadline {
    /// A deadline `limit` from now.
    pub(crate) fn starting_now(limit: Duration) -> Self {
        Self {
            started: Instant::now(),
            limit,
        }
    }
}

/// The engine configuration every guest is compiled with: epoch interruption on.
pub(crate) fn engine_config() -> EngineConfig {
    let mut config = EngineConfig::new();
    config.epoch_interruption(true);
    config
}

/// Starts the thread that advances `engine`'s epoch every [`EPOCH_TICK`]; it ends once the
/// engine is dropped.
pub(crate) fn start_ticker(engine: &Engine) -> anyhow::Result<()> {
    let weak = engine.weak();
    thread::Builder::new()
        .name("wasm-epoch".into())
        .spawn(move || {
            loop {
                thread::sleep(EPOCH_TICK);
                match weak.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            }
        })?;
    Ok(())
}

/// Makes `store` stop its guest at the running call's deadline (armed by [`arm`]), yielding to
/// the async executor at every tick until then, so a looping guest never holds a thread; the
/// first deadline (instantiation's) starts now.
pub(crate) fn enforce_deadlines(store: &mut Store<HostState>) {
    store.epoch_deadline_callback(|store| {
        let deadline = store.data().deadline;
        if deadline.started.elapsed() >= deadline.limit {
            return Err(GuestLimitExceeded::Deadline {
                limit: deadline.limit,
            }
            .into());
        }
        Ok(UpdateDeadline::Yield(1))
    });
    arm(store, Duration::ZERO);
}

/// Starts a call's deadline in `store`: its limits' `call_deadline` plus the call's own
/// timeout.
pub(crate) fn arm(store: &mut Store<HostState>, own_timeout: Duration) {
    let limit = store
        .data()
        .limits
        .call_deadline
        .saturating_add(own_timeout);
    store.data_mut().deadline = CallDeadline::starting_now(limit);
    store.set_epoch_deadline(1);
}
