//! The demo: replicas of the component take turns on per-domain locks through the component's
//! own locker (`lock-for-domain`, waiting by watch), one crashes holding a lock and a survivor
//! takes it over after the lease expires; the timeline shows fencing tokens, and the closing
//! `overlaps:` line comes from the history checker over the apiserver's write log.
//!
//! [`locker`] keeps the Go original's locker, written on the lease client, for the tests that
//! run it against the component.

pub mod locker;
mod report;
mod turns;

use std::time::Instant;

use tokio::sync::mpsc;

use crate::apiserver::Options;
use crate::cluster::Cluster;
use crate::host::{Backoff, ExpiryRule, LockerOptions, Sandbox};
use turns::{DemoReplica, Event, Report};

/// How the demo runs.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// How many replicas take part (the last one crashes).
    pub replicas: usize,
    /// How many times each healthy replica locks every domain.
    pub rounds: usize,
    /// The lease duration written on acquisition (the Go locker's is 300 s; short here so a
    /// crashed holder's lease expires while you watch).
    pub lease_seconds: i32,
    /// Keep the apiserver up afterwards, with a kubeconfig at this path, until Ctrl-C.
    pub keep_serving: Option<std::path::PathBuf>,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            replicas: 4,
            rounds: 2,
            lease_seconds: 2,
            keep_serving: None,
        }
    }
}

/// The first domain the replicas want a certificate for (the crashing replica's).
pub const DOMAIN: &str = "example.com";
/// Every domain the replicas want certificates for.
pub const DOMAINS: [&str; 3] = [DOMAIN, "example.org", "example.net"];
const NAMESPACE: &str = "netbird";

/// Runs the demo, printing the timeline and a summary to stdout.
///
/// # Errors
/// When the apiserver or component cannot start, or a replica fails unexpectedly.
pub async fn run(opts: DemoOptions) -> anyhow::Result<()> {
    let cluster = Cluster::start(NAMESPACE, Options::default()).await?;
    // Hashing a name needs no credentials: a bare instance will do.
    let mut bare = cluster.host.instantiate(Sandbox::default()).await?;
    let mut leases = Vec::new();
    for domain in DOMAINS {
        leases.push((domain.to_owned(), bare.lease_name_for_domain(domain).await?));
    }
    println!(
        "kube-lease demo: {} replicas (component instances) take turns on the locks of {} \
         domains\nwith the component's locker (lock-for-domain, waiting by watch); apiserver {} \
         (emulated),\nnamespace {NAMESPACE}, lease duration {} s. {} crashes holding {DOMAIN}'s \
         lock.\n",
        opts.replicas,
        DOMAINS.len(),
        cluster.api.url(),
        opts.lease_seconds,
        identity(opts.replicas - 1),
    );
    for (domain, lease) in &leases {
        println!("  {domain:<12} lease {lease}");
    }
    println!();

    let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
    let report = Report {
        start: Instant::now(),
        events: tx,
        board: Default::default(),
    };
    let printer = tokio::spawn(async move {
        while let Some(e) = rx.recv().await {
            println!(
                "  +{:>6.3}s  {:<10} {}",
                e.at.as_secs_f64(),
                e.replica,
                e.what
            );
        }
    });
    // Generous: a waiter may need a whole lease duration and then some to take over.
    let timeout_ms = u32::try_from(opts.lease_seconds).unwrap_or(60) * 5_000 + 10_000;

    // The crashing replica locks first, so that survivors find its lock held.
    let crasher = replica(&cluster, opts.replicas - 1, opts.lease_seconds).await?;
    let crashed = turns::crash_holding(crasher, DOMAIN, timeout_ms, report.clone()).await?;
    let mut tasks = Vec::new();
    for i in 0..opts.replicas - 1 {
        let me = replica(&cluster, i, opts.lease_seconds).await?;
        // Each starts at another domain, so that they contend on all of them.
        let mut domains: Vec<String> = DOMAINS.iter().map(|d| (*d).to_owned()).collect();
        domains.rotate_left(i % DOMAINS.len());
        tasks.push(tokio::spawn(turns::take_turns(
            me,
            domains,
            opts.rounds,
            timeout_ms,
            report.clone(),
        )));
    }
    let mut tallies = Vec::new();
    for task in tasks {
        tallies.push(task.await??);
    }
    tallies.push(crashed);
    let took = report.start.elapsed();
    let board = std::mem::take(&mut *turns::on(&report.board));
    drop(report);
    printer.await?;
    println!(
        "\n{}",
        report::summary(&cluster, &leases, &tallies, &board, took)
    );

    if let Some(path) = opts.keep_serving {
        let account = cluster.account("kubectl")?;
        cluster
            .api
            .write_kubeconfig(&path, &account.token, NAMESPACE)?;
        println!(
            "apiserver still serving: kubectl --kubeconfig {} get leases   (Ctrl-C to stop)",
            path.display()
        );
        tokio::signal::ctrl_c().await?;
    }
    Ok(())
}

/// Replica `i`'s holder identity.
fn identity(i: usize) -> String {
    format!("replica-{i}")
}

/// Replica `i`: a component instance in a pod's sandbox and a locker on its in-cluster client
/// that expires leases by observed time, with the renew deadline at two thirds of the lease.
async fn replica(cluster: &Cluster, i: usize, lease_seconds: i32) -> anyhow::Result<DemoReplica> {
    let identity = identity(i);
    let (mut replica, client) = cluster.replica(&cluster.account(&identity)?).await?;
    let options = LockerOptions {
        identity: Some(identity.clone()),
        lease_duration_seconds: Some(lease_seconds),
        renew_deadline_ms: Some(u32::try_from(lease_seconds)?.saturating_mul(2000) / 3),
        // The Go locker's backoff (500 ms doubling to 10 s) scaled down tenfold, for when no
        // watch can be used.
        backoff: Some(Backoff {
            initial_ms: 50,
            max_ms: 1000,
            jitter_percent: 20,
        }),
        expiry: Some(ExpiryRule::ObservedTime),
        max_clock_skew_ms: Some(0),
    };
    let locker = replica
        .locker_create(&client, &options)
        .await?
        .map_err(|e| anyhow::anyhow!("{identity}: locker: {e:?}"))?;
    Ok(DemoReplica {
        replica,
        locker,
        identity,
    })
}
