//! The chaos run: many component instances contending on a few leases while the emulator
//! injects faults at random (seeded, so a run is reproducible from its seed up to thread
//! timing), restarts and rotates its certificate; then the write history and every hold the
//! instances reported are checked (`crate::history::check_holds`): no two holds of a lease
//! overlap, no reported hold lacks the write that made it, and every instance ended in a known
//! state — no trap, no call past its deadline.
//!
//! `host-test chaos --seconds N --seed S` and the `chaos` end-to-end test share this runner.

mod instance;
mod report;

use std::time::Duration;

use anyhow::Context as _;
use tokio::time::Instant;

use crate::apiserver::{Options, parse_fault_spec};
use crate::cluster::Cluster;
use crate::history::check_holds;

pub use instance::EndState;
pub use report::ChaosReport;

/// The faults injected by default, in `--faults` syntax: every request fault, each rare
/// enough that locks still change hands.
pub const DEFAULT_FAULTS: &str = "503:p=0.02,500:p=0.01,429:p=0.01:retry-after=1,\
429-text:p=0.01:retry-after=1,504:p=0.01,reset-before:p=0.01,reset-after:p=0.015,\
hang:p=0.001,slow:p=0.01:delay-ms=2,cut-body:p=0.01,malformed-json:p=0.01,\
oversized:p=0.003:bytes=1500000,watch-cut:p=0.05,watch-silent:p=0.02,watch-expired:p=0.03";

/// What to run.
#[derive(Clone, Debug)]
pub struct ChaosOptions {
    /// Component instances, each with its own locker (at least 1).
    pub instances: usize,
    /// Leases they contend on (at least 1).
    pub leases: usize,
    /// How long instances keep starting new acquisitions.
    pub duration: Duration,
    /// Seeds the faults and the instances' choices.
    pub seed: u64,
    /// The faults, in `--faults` syntax.
    pub faults: String,
    /// `leaseDurationSeconds` of every hold.
    pub lease_seconds: i32,
    /// How often the apiserver restarts (keeping its store) and rotates its certificate.
    pub restart_every: Duration,
    /// The deadline on each call into the component: passing it counts as a hang.
    pub call_deadline: Duration,
}

impl Default for ChaosOptions {
    fn default() -> Self {
        ChaosOptions {
            instances: 16,
            leases: 4,
            duration: Duration::from_secs(30),
            seed: 1,
            faults: DEFAULT_FAULTS.to_owned(),
            lease_seconds: 3,
            restart_every: Duration::from_secs(8),
            call_deadline: Duration::from_secs(60),
        }
    }
}

/// Runs the chaos: starts a cluster, the instances and the faults, waits for every instance
/// to finish (each stops starting acquisitions after `duration` and gives back what it holds),
/// then checks the holds against the write history.
///
/// # Errors
/// When the cluster cannot start, an instance cannot be created or the fault spec is bad;
/// what the run finds is in the report, not an error.
pub async fn run(options: &ChaosOptions) -> anyhow::Result<ChaosReport> {
    let rules = parse_fault_spec(&options.faults).map_err(|e| anyhow::anyhow!("faults: {e}"))?;
    let cluster = Cluster::start("default", Options::default())
        .await
        .context("starting the cluster")?;
    let leases: Vec<String> = (0..options.leases.max(1))
        .map(|i| format!("chaos-{i}"))
        .collect();
    let mut instances = Vec::new();
    for i in 0..options.instances.max(1) {
        let seed = options.seed.wrapping_add(i as u64 + 1);
        instances.push(instance::Instance::start(&cluster, i, seed, options).await?);
    }
    cluster.api.seed_faults(options.seed);
    for rule in rules {
        cluster.api.inject(rule);
    }
    let end = Instant::now() + options.duration;
    let tasks: Vec<_> = instances
        .into_iter()
        .map(|instance| tokio::spawn(instance.run(leases.clone(), end)))
        .collect();
    let server_faults = server_faults(&cluster, end, options.restart_every).await;
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.context("an instance's task panicked")?);
    }
    server_faults?;
    cluster.api.clear_faults();
    let history = cluster.api.history();
    let holds: Vec<_> = outcomes.iter().flat_map(|o| o.holds.clone()).collect();
    let verdict = check_holds(&history, &holds);
    Ok(ChaosReport::new(
        options,
        &outcomes,
        &verdict,
        cluster.api.faults_fired(),
    ))
}

/// Until `end`: restarts the apiserver (keeping its store) and rotates its certificate
/// (same CA), alternately, every `every`.
async fn server_faults(cluster: &Cluster, end: Instant, every: Duration) -> anyhow::Result<()> {
    let mut done = 0u64;
    let mut next = Instant::now() + every;
    while next < end {
        tokio::time::sleep_until(next).await;
        if done.is_multiple_of(2) {
            cluster.api.restart(true).await?;
        } else {
            cluster.api.rotate_certificate(false)?;
        }
        done += 1;
        next += every;
    }
    Ok(())
}
