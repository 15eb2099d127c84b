//! One chaos instance: a component instance with its own account and locker, looping
//! acquire (with a timeout) → renew a few times → release on random leases, recording every
//! hold it believed it had and every outcome, each call bounded by a deadline.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use super::ChaosOptions;
use crate::apiserver::SplitMix64;
use crate::cluster::Cluster;
use crate::history::{HoldRecord, now_micros};
use crate::host::{
    Backoff, CallResult, ExpiryRule, Hold, LeaseError, LockerHandle, LockerOptions, Replica,
};

/// How an instance ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EndState {
    /// It gave back (or never had, or lost) every hold: it holds nothing.
    NotHolding,
    /// Its last release failed with this typed error: it may still be named holder until the
    /// lease expires, and it knows it.
    ReleaseFailed(String),
    /// A call trapped (a bug).
    Trapped(String),
    /// A call did not return within the deadline (a bug).
    Hung(String),
}

impl EndState {
    /// Whether this is a state the caller can act on (anything but a trap or a hang).
    pub fn is_known(&self) -> bool {
        matches!(self, EndState::NotHolding | EndState::ReleaseFailed(_))
    }
}

/// What one instance did.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Its identity.
    pub identity: String,
    /// Every hold it believed it had, with when it stopped acting on it.
    pub holds: Vec<HoldRecord>,
    /// Successful renewals.
    pub renewals: u64,
    /// Typed errors by operation and kind, e.g. `acquire timeout`, `renew lost`.
    pub errors: BTreeMap<String, u64>,
    /// How it ended.
    pub end: EndState,
}

/// A running instance.
pub(super) struct Instance {
    replica: Replica,
    locker: LockerHandle,
    rng: SplitMix64,
    deadline: Duration,
    outcome: Outcome,
}

/// The name of a typed error's kind (with the status code for an API error).
fn kind(e: &LeaseError) -> String {
    match e {
        LeaseError::Api(status) => format!("api-{}", status.code),
        LeaseError::Transport(_) => "transport".into(),
        LeaseError::Timeout(_) => "timeout".into(),
        LeaseError::Config(_) => "config".into(),
        LeaseError::Decode(_) => "decode".into(),
        LeaseError::InvalidArgument(_) => "invalid-argument".into(),
        LeaseError::Lost(_) => "lost".into(),
    }
}

/// A call's result once bounded: the typed result, or how it went wrong.
enum Called<T> {
    Done(Result<T, LeaseError>),
    Failed(EndState),
}

impl Instance {
    /// Instance `index`: account `chaos-{index}`, a fresh component instance and a locker.
    pub async fn start(
        cluster: &Cluster,
        index: usize,
        seed: u64,
        options: &ChaosOptions,
    ) -> anyhow::Result<Instance> {
        let identity = format!("chaos-{index}");
        let account = cluster.account(&identity)?;
        let (mut replica, client) = cluster.replica(&account).await?;
        let locker_options = LockerOptions {
            identity: Some(identity.clone()),
            lease_duration_seconds: Some(options.lease_seconds),
            renew_deadline_ms: None,
            backoff: Some(Backoff {
                initial_ms: 20,
                max_ms: 300,
                jitter_percent: 20,
            }),
            expiry: Some(ExpiryRule::ObservedTime),
            max_clock_skew_ms: None,
        };
        let locker = replica
            .locker_create(&client, &locker_options)
            .await?
            .map_err(|e| anyhow::anyhow!("{identity}: locker: {e:?}"))?;
        Ok(Instance {
            replica,
            locker,
            rng: SplitMix64(seed),
            deadline: options.call_deadline,
            outcome: Outcome {
                identity,
                holds: Vec::new(),
                renewals: 0,
                errors: BTreeMap::new(),
                end: EndState::NotHolding,
            },
        })
    }

    /// Loops until `end`, then reports.
    pub async fn run(mut self, leases: Vec<String>, end: Instant) -> Outcome {
        while Instant::now() < end {
            let lease = &leases[self.below(leases.len() as u64) as usize];
            if let Err(state) = self.round(lease).await {
                self.outcome.end = state;
                break;
            }
        }
        self.outcome
    }

    /// One acquire → renew×k → release; `Err` on a trap or hang.
    async fn round(&mut self, lease: &str) -> Result<(), EndState> {
        let timeout_ms = 500 + self.below(2000) as u32;
        let mut held = match self.acquire(lease, timeout_ms).await {
            Called::Done(Ok(hold)) => hold,
            Called::Done(Err(e)) => {
                self.count("acquire", &e);
                return Ok(());
            }
            Called::Failed(state) => return Err(state),
        };
        let acquired_at = now_micros();
        let mut stopped = None;
        for _ in 0..self.below(4) {
            // Act a while, well within the hold's validity.
            let pause = 20 + self.below(200);
            tokio::time::sleep(Duration::from_millis(pause)).await;
            match self.renew(&held).await {
                Called::Done(Ok(renewed)) => {
                    self.outcome.renewals += 1;
                    held = renewed;
                }
                Called::Done(Err(e)) => {
                    self.count("renew", &e);
                    stopped = Some(now_micros().min(held.valid_until.unix_micros));
                    break;
                }
                Called::Failed(state) => {
                    self.record(&held, acquired_at, held.valid_until.unix_micros);
                    return Err(state);
                }
            }
        }
        // Stop acting (before the release is sent), then give the hold back.
        let released_at = stopped.unwrap_or_else(|| now_micros().min(held.valid_until.unix_micros));
        self.record(&held, acquired_at, released_at);
        match self.release(&held).await {
            Called::Done(Ok(())) => self.outcome.end = EndState::NotHolding,
            Called::Done(Err(LeaseError::Lost(m))) => {
                self.count("release", &LeaseError::Lost(m));
                self.outcome.end = EndState::NotHolding;
            }
            Called::Done(Err(e)) => {
                self.count("release", &e);
                self.outcome.end = EndState::ReleaseFailed(kind(&e));
            }
            Called::Failed(state) => return Err(state),
        }
        Ok(())
    }

    fn record(&mut self, held: &Hold, acquired_at: i64, released_at: i64) {
        self.outcome.holds.push(HoldRecord {
            lease: held.name.clone(),
            identity: held.identity.clone(),
            token: held.fencing_token,
            acquired_at,
            released_at,
        });
    }

    fn count(&mut self, operation: &str, e: &LeaseError) {
        let key = format!("{operation} {}", kind(e));
        *self.outcome.errors.entry(key).or_default() += 1;
    }

    async fn acquire(&mut self, lease: &str, timeout_ms: u32) -> Called<Hold> {
        let deadline = self.deadline;
        let call = self.replica.acquire(&self.locker, lease, &[], timeout_ms);
        bounded("acquire", deadline, call).await
    }

    async fn renew(&mut self, held: &Hold) -> Called<Hold> {
        let deadline = self.deadline;
        bounded("renew", deadline, self.replica.renew(&self.locker, held)).await
    }

    async fn release(&mut self, held: &Hold) -> Called<()> {
        let deadline = self.deadline;
        bounded(
            "release",
            deadline,
            self.replica.release(&self.locker, held),
        )
        .await
    }

    /// A draw in `0..n` from this instance's generator.
    fn below(&mut self, n: u64) -> u64 {
        self.rng.below(n)
    }
}

/// Runs `call` within `deadline`: a trap or a missed deadline is a failed state.
async fn bounded<T>(
    operation: &str,
    deadline: Duration,
    call: impl Future<Output = CallResult<T>>,
) -> Called<T> {
    match tokio::time::timeout(deadline, call).await {
        Ok(Ok(result)) => Called::Done(result),
        Ok(Err(trap)) => Called::Failed(EndState::Trapped(format!("{operation}: {trap:#}"))),
        Err(_) => Called::Failed(EndState::Hung(format!(
            "{operation}: no answer within {} s",
            deadline.as_secs()
        ))),
    }
}
