//! One demo replica's life: a component instance whose locker takes per-domain locks with
//! `lock-for-domain` (waiting by watch inside the component), issues a "certificate" while it
//! holds each, and releases it; or takes one lock and crashes holding it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::history::{HoldRecord, now_micros};
use crate::host::{Hold, LockerHandle, Replica};

/// How long "issuing a certificate" takes while holding a lock.
const ISSUE_TIME: Duration = Duration::from_millis(100);

/// One line of the timeline.
#[derive(Debug)]
pub struct Event {
    /// Since the demo started.
    pub at: Duration,
    /// The replica's identity.
    pub replica: String,
    /// What happened.
    pub what: String,
}

/// What the replicas share: who crashed holding which domain, and when each domain was last
/// released (to time handoffs).
#[derive(Debug, Default)]
pub struct Board {
    crashed: HashMap<String, (String, Instant)>,
    released: HashMap<String, Instant>,
    /// Every hold, as its replica reported it for the history checker.
    pub holds: Vec<HoldRecord>,
    /// Release-to-acquisition times of waiters that were waiting when the release came.
    pub handoffs: Vec<Duration>,
}

/// The board shared by all replicas.
pub type SharedBoard = Arc<Mutex<Board>>;

/// Locks `board`, whatever a panicking replica left behind.
pub fn on(board: &SharedBoard) -> std::sync::MutexGuard<'_, Board> {
    board.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One replica's tally.
#[derive(Debug, Default)]
pub struct Tally {
    /// Locks taken.
    pub locks: usize,
    /// Of those, taken over from a crashed holder after expiry.
    pub takeovers: usize,
    /// Time spent waiting in `lock-for-domain`.
    pub waited: Duration,
    /// The domain it crashed holding, if it crashed.
    pub crashed: Option<String>,
}

/// A replica: its component instance and locker.
pub struct DemoReplica {
    /// The component instance.
    pub replica: Replica,
    /// Its locker.
    pub locker: LockerHandle,
    /// Its holder identity.
    pub identity: String,
}

/// Where a replica reports.
#[derive(Clone)]
pub struct Report {
    /// When the demo started.
    pub start: Instant,
    /// The timeline.
    pub events: mpsc::UnboundedSender<Event>,
    /// The shared board.
    pub board: SharedBoard,
}

impl Report {
    fn emit(&self, replica: &str, what: String) {
        let _ = self.events.send(Event {
            at: self.start.elapsed(),
            replica: replica.to_owned(),
            what,
        });
    }
}

/// Locks `domains` in turn, `rounds` times, issuing and releasing each.
///
/// # Errors
/// A trap, or the component's error on a lock or release.
pub async fn take_turns(
    mut me: DemoReplica,
    domains: Vec<String>,
    rounds: usize,
    timeout_ms: u32,
    report: Report,
) -> anyhow::Result<(String, Tally)> {
    let mut tally = Tally::default();
    for domain in domains.iter().cycle().take(domains.len() * rounds) {
        let hold = lock(&mut me, domain, timeout_ms, &report, &mut tally).await?;
        let acquired_at = now_micros();
        tokio::time::sleep(ISSUE_TIME).await;
        on(&report.board)
            .holds
            .push(record(&hold, acquired_at, now_micros()));
        me.replica
            .release(&me.locker, &hold)
            .await?
            .map_err(|e| anyhow::anyhow!("{}: release {domain}: {e:?}", me.identity))?;
        on(&report.board)
            .released
            .insert(domain.clone(), Instant::now());
        report.emit(&me.identity, format!("released  {domain}"));
    }
    Ok((me.identity, tally))
}

/// Takes the lock of `domain` and crashes holding it: the instance is dropped, never renewing
/// or releasing.
///
/// # Errors
/// A trap, or the component's error on the lock.
pub async fn crash_holding(
    mut me: DemoReplica,
    domain: &str,
    timeout_ms: u32,
    report: Report,
) -> anyhow::Result<(String, Tally)> {
    let mut tally = Tally::default();
    let hold = lock(&mut me, domain, timeout_ms, &report, &mut tally).await?;
    let mut board = on(&report.board);
    // A crashed holder could have acted until its hold's validity ended (the sandbox's wall
    // clock is the host's).
    board
        .holds
        .push(record(&hold, now_micros(), hold.valid_until.unix_micros));
    board
        .crashed
        .insert(domain.to_owned(), (me.identity.clone(), Instant::now()));
    drop(board);
    report.emit(
        &me.identity,
        format!(
            "CRASHED   holding {domain} (token {}): it never renews or releases",
            hold.fencing_token
        ),
    );
    tally.crashed = Some(domain.to_owned());
    drop(me);
    Ok((hold.identity, tally))
}

/// `lock-for-domain`, reported on the timeline with its fencing token, the wait, and whether
/// it took the lock over from a crashed holder or right after a release.
async fn lock(
    me: &mut DemoReplica,
    domain: &str,
    timeout_ms: u32,
    report: &Report,
    tally: &mut Tally,
) -> anyhow::Result<Hold> {
    let asked = Instant::now();
    let hold = me
        .replica
        .lock_for_domain(&me.locker, domain, timeout_ms)
        .await?
        .map_err(|e| anyhow::anyhow!("{}: lock {domain}: {e:?}", me.identity))?;
    let now = Instant::now();
    let waited = now - asked;
    tally.locks += 1;
    tally.waited += waited;
    let mut board = on(&report.board);
    let how = if let Some((crashed, at)) = board.crashed.remove(domain) {
        tally.takeovers += 1;
        format!(
            "TOOK OVER {domain} from crashed {crashed} after expiry ({:.1} s after the crash)",
            (now - at).as_secs_f64()
        )
    } else {
        let handoff = board
            .released
            .get(domain)
            .filter(|released| **released > asked)
            .map(|released| now.saturating_duration_since(*released));
        if let Some(handoff) = handoff {
            board.handoffs.push(handoff);
        }
        match handoff {
            Some(h) => format!(
                "LOCKED    {domain} {} ms after its release (waited {} ms)",
                h.as_millis(),
                waited.as_millis()
            ),
            None => format!("LOCKED    {domain}"),
        }
    };
    drop(board);
    report.emit(
        &me.identity,
        format!("{how}, fencing token {}", hold.fencing_token),
    );
    Ok(hold)
}

/// `hold` as the history checker takes it: acted on from `acquired_at` to `released_at`
/// (microseconds of [`now_micros`]).
fn record(hold: &Hold, acquired_at: i64, released_at: i64) -> HoldRecord {
    HoldRecord {
        lease: hold.name.clone(),
        identity: hold.identity.clone(),
        token: hold.fencing_token,
        acquired_at,
        released_at,
    }
}
