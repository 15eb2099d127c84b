//! The demo: replicas of the component contend for one domain's lease on the emulated
//! apiserver, as the Go original's ACME locker does, and a timeline shows who held it.

pub mod locker;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::apiserver::Options;
use crate::cluster::Cluster;
use crate::history;
use crate::host::Sandbox;
use locker::{Attempt, Locker, Release};

/// How the demo runs.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// How many replicas contend.
    pub replicas: usize,
    /// How many certificates each healthy replica issues.
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

/// The domain the replicas want a certificate for.
pub const DOMAIN: &str = "example.com";
const NAMESPACE: &str = "netbird";
/// The Go locker's backoff (500 ms doubling to 10 s), scaled down tenfold.
const BACKOFF_START: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_millis(1000);
/// How long "issuing a certificate" takes while holding the lock.
const ISSUE_TIME: Duration = Duration::from_millis(150);

/// One replica's tally.
#[derive(Debug, Default)]
struct Tally {
    acquired: usize,
    lost_races: usize,
    waits: usize,
    crashed: bool,
}

struct Event {
    at: Duration,
    replica: String,
    what: String,
}

/// Runs the demo, printing the timeline and a summary to stdout.
///
/// # Errors
/// When the apiserver or component cannot start, or a replica fails unexpectedly.
pub async fn run(opts: DemoOptions) -> anyhow::Result<()> {
    let cluster = Cluster::start(NAMESPACE, Options::default()).await?;
    let start = Instant::now();
    let (tx, mut rx) = mpsc::unbounded_channel::<Event>();

    // Hashing a name needs no credentials: a bare instance will do.
    let mut bare = cluster.host.instantiate(Sandbox::default()).await?;
    let name = bare.lease_name_for_domain(DOMAIN).await?;
    println!(
        "kube-lease demo: {} replicas of the component contend for lease {name} ({DOMAIN})\n\
         apiserver {} (emulated), namespace {NAMESPACE}, lease duration {} s; \
         the last replica crashes while holding the lease\n",
        opts.replicas,
        cluster.api.url(),
        opts.lease_seconds
    );

    let mut tasks = Vec::new();
    for i in 0..opts.replicas {
        let identity = format!("replica-{i}");
        let (replica, client) = cluster.replica(&cluster.account(&identity)?).await?;
        let locker = Locker {
            replica,
            client,
            identity,
            duration_seconds: opts.lease_seconds,
        };
        let crash = i + 1 == opts.replicas;
        let (tx, name, rounds) = (tx.clone(), name.clone(), opts.rounds);
        tasks.push(tokio::spawn(replica_loop(
            locker, name, rounds, crash, start, tx,
        )));
    }
    drop(tx);
    while let Some(e) = rx.recv().await {
        println!(
            "  +{:>6.3}s  {:<10} {}",
            e.at.as_secs_f64(),
            e.replica,
            e.what
        );
    }
    let mut tallies = Vec::new();
    for task in tasks {
        tallies.push(task.await??);
    }
    println!(
        "\n{}",
        summary(&cluster, &name, &tallies, start.elapsed()).await?
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

/// Lock, issue, release, `rounds` times; or crash holding the lease after the first lock.
async fn replica_loop(
    mut locker: Locker,
    name: String,
    rounds: usize,
    crash: bool,
    start: Instant,
    tx: mpsc::UnboundedSender<Event>,
) -> anyhow::Result<(String, Tally)> {
    let mut tally = Tally::default();
    let id = locker.identity.clone();
    let emit = |what: String| {
        let _ = tx.send(Event {
            at: start.elapsed(),
            replica: id.clone(),
            what,
        });
    };
    for _ in 0..rounds {
        let mut backoff = BACKOFF_START;
        loop {
            match locker.try_acquire(&name, DOMAIN).await? {
                Attempt::Acquired {
                    created,
                    from,
                    lease,
                } => {
                    tally.acquired += 1;
                    let how = match (created, from) {
                        (true, _) => "created the lease".to_owned(),
                        (false, Some(old)) => format!("took over the expired lease of {old}"),
                        (false, None) => "took the free lease".to_owned(),
                    };
                    let rv = lease.resource_version.unwrap_or_default();
                    emit(format!("ACQUIRED   {how}, rv {rv}"));
                    break;
                }
                Attempt::HeldBy(holder) => {
                    tally.waits += 1;
                    emit(format!(
                        "waiting    held by {holder}; retry in {} ms",
                        backoff.as_millis()
                    ));
                }
                Attempt::LostRace(why) => {
                    tally.lost_races += 1;
                    emit(format!(
                        "lost race  {why}; retry in {} ms",
                        backoff.as_millis()
                    ));
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
        if crash {
            tally.crashed = true;
            emit("CRASHED    while holding the lease (never releases)".into());
            return Ok((id.clone(), tally));
        }
        emit("issuing    certificate for example.com".into());
        tokio::time::sleep(ISSUE_TIME).await;
        match locker.release(&name).await? {
            Release::Released(rv) => emit(format!("released   rv {rv}")),
            Release::NotHeld => emit("released   nothing: no longer the holder".into()),
            Release::Conflict => emit("released   conflict (logged, not retried)".into()),
        }
    }
    Ok((id.clone(), tally))
}

async fn summary(
    cluster: &Cluster,
    name: &str,
    tallies: &[(String, Tally)],
    took: Duration,
) -> anyhow::Result<String> {
    let mut out = String::new();
    writeln!(out, "summary after {:.2}s:", took.as_secs_f64())?;
    writeln!(
        out,
        "  {:<10} {:>8} {:>10} {:>6}",
        "replica", "acquired", "lost races", "waits"
    )?;
    for (id, t) in tallies {
        let note = if t.crashed {
            "  (crashed holding it)"
        } else {
            ""
        };
        writeln!(
            out,
            "  {id:<10} {:>8} {:>10} {:>6}{note}",
            t.acquired, t.lost_races, t.waits
        )?;
    }
    let verdict = history::check(&cluster.api.history(), name);
    writeln!(
        out,
        "  server write history: {} writes, {} acquisitions ({} after expiry), {} releases",
        verdict.writes, verdict.acquisitions, verdict.expired_takeovers, verdict.releases
    )?;
    if verdict.violations.is_empty() {
        writeln!(
            out,
            "  mutual exclusion: held (no holder lost the lease before it expired)"
        )?;
    } else {
        writeln!(out, "  mutual exclusion: VIOLATED")?;
        for v in &verdict.violations {
            writeln!(out, "    {v}")?;
        }
    }
    if let Some(stored) = cluster.api.stored(NAMESPACE, name) {
        writeln!(out, "  final lease as stored: {stored}")?;
    }
    Ok(out)
}
