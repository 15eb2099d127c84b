//! Lock contention on one lease: 1, 4, 16 and 64 contenders doing acquire → hold 1 ms →
//! release → wait until another contender has acquired (so each acquisition after the first
//! is a handoff to a waiter), until the run's acquisition target or its wall-clock cap. Clients:
//! the component (waiting by watch), kube-lease-manager and kubert's lease manager (both
//! sleeping until the holder's lease would expire) and a replay of the Go original's loop
//! (polling with a 500 ms → 10 s backoff), all on the bench's emulator with the same lease
//! duration. Every run is checked
//! for mutual exclusion against the emulator's write log; a violation fails the bench.

mod component;
mod go_loop;
mod kubert_lease;
mod lease_manager;
mod measure;
mod results;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;

use super::Endpoint;
use crate::cluster::Cluster;
use crate::history::{self, check_holds, now_micros};
use component::Component;
use go_loop::GoLoop;
use kubert_lease::KubertContender;
use lease_manager::LeaseManagerContender;
pub use measure::{Cycle, RunFigures, handoffs, requests_for};
pub use results::LockResults;

/// How many contenders share the lease, per run.
pub const CONTENDERS: [usize; 4] = [1, 4, 16, 64];

/// The clients compared, the component first.
pub const CLIENTS: [&str; 4] = ["component", "kube-lease-manager", "kubert", "go-loop"];

/// `leaseDurationSeconds` every client writes.
pub const LEASE_SECONDS: i32 = 2;

/// How long a holder holds before releasing.
pub const HOLD: Duration = Duration::from_millis(1);

/// How far each run goes: whichever comes first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Acquisitions to reach.
    pub target: usize,
    /// Wall-clock cap of one run.
    pub cap: Duration,
}

impl Budget {
    /// The full run's budget, or the quick one's (CI, debug build).
    pub fn new(quick: bool) -> Self {
        if quick {
            Self {
                target: 12,
                cap: Duration::from_millis(1500),
            }
        } else {
            Self {
                target: 400,
                cap: Duration::from_secs(20),
            }
        }
    }
}

/// What a successful acquisition reports.
#[derive(Clone, Debug)]
pub struct Acquired {
    /// The holder identity written.
    pub identity: String,
    /// The hold's fencing token, if the client exposes one.
    pub token: Option<u64>,
}

impl Acquired {
    /// Waits until `deadline` for `held`, a client's own wait until it holds: then `identity`'s
    /// acquisition (the client has no fencing token), or `None` once the deadline passes.
    async fn unfenced_within(
        deadline: Instant,
        identity: &str,
        held: impl Future<Output = anyhow::Result<()>>,
    ) -> anyhow::Result<Option<Acquired>> {
        match tokio::time::timeout_at(deadline.into(), held).await {
            Ok(result) => result.map(|()| {
                Some(Acquired {
                    identity: identity.to_owned(),
                    token: None,
                })
            }),
            Err(_) => Ok(None),
        }
    }
}

/// One lock user of one client kind.
pub trait Contender: Send + 'static {
    /// Waits for the lease; `None` once `deadline` passes without it.
    fn acquire(
        &mut self,
        deadline: Instant,
    ) -> impl Future<Output = anyhow::Result<Option<Acquired>>> + Send;
    /// Gives the lease back.
    fn release(&mut self) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// Runs every client at every contender count on `cluster`.
///
/// # Errors
/// When a client fails, or a run breaks mutual exclusion.
pub async fn run(cluster: &Cluster, to: &Endpoint, budget: Budget) -> anyhow::Result<LockResults> {
    let mut results = LockResults::new(budget);
    for contenders in CONTENDERS {
        for client in CLIENTS {
            let figures = run_one(cluster, to, client, contenders, budget).await?;
            results.insert(contenders, client, figures);
        }
    }
    Ok(results)
}

/// One run: `contenders` of `client` on a lease of their own.
async fn run_one(
    cluster: &Cluster,
    to: &Endpoint,
    client: &str,
    contenders: usize,
    budget: Budget,
) -> anyhow::Result<RunFigures> {
    let lease = format!("{client}-x{contenders}");
    let identity = |i: usize| format!("{lease}-{i}");
    match client {
        "component" => {
            let mut all = Vec::new();
            for i in 0..contenders {
                let account = cluster.account(&identity(i))?;
                all.push(Component::new(cluster, &account, &identity(i), &lease).await?);
            }
            contend(cluster, all, &lease, budget).await
        }
        "kube-lease-manager" => {
            let mut all = Vec::new();
            for i in 0..contenders {
                all.push(LeaseManagerContender::new(to, &identity(i), &lease).await?);
            }
            contend(cluster, all, &lease, budget).await
        }
        "kubert" => {
            let mut all = Vec::new();
            for i in 0..contenders {
                all.push(KubertContender::new(to, &identity(i), &lease).await?);
            }
            contend(cluster, all, &lease, budget).await
        }
        _ => {
            let all = (0..contenders)
                .map(|i| GoLoop::new(to, &identity(i), &lease))
                .collect::<anyhow::Result<Vec<_>>>()?;
            contend(cluster, all, &lease, budget).await
        }
    }
}

/// Lets `contenders` take turns on `lease` within `budget`; checks the run and measures it.
async fn contend<C: Contender>(
    cluster: &Cluster,
    contenders: Vec<C>,
    lease: &str,
    budget: Budget,
) -> anyhow::Result<RunFigures> {
    let before = requests_for(&cluster.api.requests(), lease);
    let started = Instant::now();
    let turns = Arc::new(Turns {
        claimed: AtomicUsize::new(0),
        target: budget.target,
        deadline: started + budget.cap,
        acquisitions: tokio::sync::watch::Sender::new(0),
        alone: contenders.len() == 1,
    });
    let tasks: Vec<_> = contenders
        .into_iter()
        .map(|contender| tokio::spawn(cycles(contender, lease.to_owned(), Arc::clone(&turns))))
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    let elapsed = started.elapsed();
    check_safety(cluster, lease, &all)?;
    let requests = requests_for(&cluster.api.requests(), lease) - before;
    Ok(RunFigures::new(&all, elapsed, requests))
}

/// What the contenders of one run share.
struct Turns {
    /// Acquisitions claimed so far (each contender claims one before it acquires).
    claimed: AtomicUsize,
    /// Acquisitions to reach.
    target: usize,
    /// The run's wall-clock cap.
    deadline: Instant,
    /// Acquisitions made so far.
    acquisitions: tokio::sync::watch::Sender<usize>,
    /// Whether there is only one contender.
    alone: bool,
}

impl Turns {
    /// Claims the next acquisition; false once the target is claimed.
    fn claim(&self) -> bool {
        self.claimed.fetch_add(1, Ordering::SeqCst) < self.target
    }

    /// Records an acquisition; its number.
    fn acquired(&self) -> usize {
        let mut number = 0;
        self.acquisitions.send_modify(|n| {
            *n += 1;
            number = *n;
        });
        number
    }

    /// After a release, waits until another contender has acquired since acquisition `mine`
    /// (or the run ends), so that each acquisition is a handoff to a waiter. Alone, at once.
    async fn wait_turn(&self, mine: usize) {
        if self.alone || self.claimed.load(Ordering::SeqCst) >= self.target {
            return;
        }
        let mut acquisitions = self.acquisitions.subscribe();
        let others = acquisitions.wait_for(|&n| n > mine);
        // Only a deadline ends it otherwise: the sender lives as long as `self`.
        let _ = tokio::time::timeout_at(self.deadline.into(), others).await;
    }
}

/// One contender's cycles: claim one of the target's acquisitions, acquire, hold, release,
/// wait for its turn.
async fn cycles<C: Contender>(
    mut contender: C,
    lease: String,
    turns: Arc<Turns>,
) -> anyhow::Result<Vec<Cycle>> {
    let mut done = Vec::new();
    while turns.claim() {
        let Some(acquired) = contender.acquire(turns.deadline).await? else {
            break;
        };
        let acquired_at = now_micros();
        let mine = turns.acquired();
        tokio::time::sleep(HOLD).await;
        let release_sent_at = now_micros();
        contender.release().await?;
        done.push(Cycle {
            lease: lease.clone(),
            identity: acquired.identity,
            token: acquired.token,
            acquired_at,
            release_sent_at,
            released_at: now_micros(),
        });
        turns.wait_turn(mine).await;
    }
    Ok(done)
}

/// Fails when the run's writes or holds break mutual exclusion: a takeover before the
/// holder's lease expired, or (for clients with fencing tokens) overlapping holds.
fn check_safety(cluster: &Cluster, lease: &str, cycles: &[Cycle]) -> anyhow::Result<()> {
    let log = cluster.api.history();
    let replay = history::check(&log, lease);
    if !replay.violations.is_empty() {
        bail!("{lease}: mutual exclusion broken: {:#?}", replay.violations);
    }
    let holds: Vec<_> = cycles.iter().filter_map(Cycle::hold_record).collect();
    let verdict = check_holds(&log, &holds);
    if !verdict.is_safe() {
        bail!("{lease}: mutual exclusion broken: {verdict:#?}");
    }
    Ok(())
}
