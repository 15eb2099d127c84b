//! `host-test bench`: the component against a native baseline on one emulated apiserver, in
//! one run, with the same TLS settings and connection reuse on every side.
//!
//! Sides: `plain` (hyper + rustls doing the requests directly: the floor), `kube-rs`
//! (`Api<Lease>`, what a Rust user would pick instead), `component` (one
//! instance reused) and `component-fresh` (a fresh instance and in-cluster client per
//! operation, the `wasmtime serve` shape, on whichever instance allocator instantiates faster:
//! both are measured first). Each round creates, reads, replaces and deletes a lease; rounds
//! run in blocks that alternate between sides so drift hits all alike.
//! Then lock contention on the same emulator (see [`locks`]), and the plots (see [`plots`]).

mod guest;
mod kube_rs;
pub mod locks;
mod plain;
pub mod plots;
mod report;
mod stats;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::apiserver::{Limits, Options};
use crate::cluster::Cluster;
use crate::host::{InstanceAllocation, KUBE_LEASE_COMPONENT, LeaseHost};
use guest::Guest;
use kube_rs::KubeRs;
use plain::Plain;
pub use report::Report;
pub use stats::Samples;

/// What to run.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Fewer rounds: under a minute, for CI.
    pub quick: bool,
    /// Where `results.json` goes.
    pub out_dir: PathBuf,
}

/// The lease operations measured.
pub const OPERATIONS: [&str; 4] = ["create", "get", "replace", "delete"];

/// The sides compared, the floor first.
pub const SIDES: [&str; 4] = ["plain", "kube-rs", "component", "component-fresh"];

/// The namespace the benchmark's leases live in.
const NAMESPACE: &str = "bench";

/// Runs the benchmark, prints its table and writes `results.json`.
///
/// # Errors
/// When the emulator, the component or a request fails.
pub async fn run(options: &BenchOptions) -> anyhow::Result<Report> {
    let (rounds, blocks) = if options.quick { (200, 4) } else { (2000, 8) };
    // The lock runs count requests and check every write: keep them all.
    let limits = Limits {
        history_window: 1_000_000,
        request_log_window: 1_000_000,
        ..Limits::default()
    };
    let cluster = Cluster::start_with_limits(NAMESPACE, Options::default(), limits).await?;
    let account = cluster.account("bench")?;
    let endpoint = Endpoint {
        base_url: cluster.api.url(),
        ca_pem: cluster.api.ca_pem().into_bytes(),
        token: account.token.clone(),
        namespace: NAMESPACE.to_owned(),
    };
    let mut plain = Plain::new(&endpoint)?;
    let mut kube = KubeRs::new(&endpoint)?;
    let mut reused = Guest::new(&cluster, &account).await?;

    // Instantiation alone, on each allocator in alternating blocks after an untimed warm-up;
    // the faster one gives `component-fresh` its instances.
    let pooled = LeaseHost::from_built_with(InstanceAllocation::pooling())?;
    let (mut instantiate, mut instantiate_pooling) = (Samples::default(), Samples::default());
    for block in 0..=blocks {
        let (count, timed) = if block == 0 {
            (20, false)
        } else {
            (rounds / blocks, true)
        };
        for (host, into) in [
            (&*cluster.host, &mut instantiate),
            (&pooled, &mut instantiate_pooling),
        ] {
            for _ in 0..count {
                let started = Instant::now();
                let replica = host.instantiate(cluster.sandbox(&account)).await?;
                if timed {
                    into.push(started.elapsed());
                }
                drop(replica);
            }
        }
    }
    let fresh_host = if instantiate_pooling.p50() < instantiate.p50() {
        &pooled
    } else {
        &cluster.host
    };

    let mut sides = Sides {
        plain: &mut plain,
        kube: &mut kube,
        reused: &mut reused,
        cluster: &cluster,
        fresh_host,
        account: &cluster.account("bench-fresh")?,
    };

    // Warm-up: connections opened, code paths and allocator caches touched, untimed.
    let mut discard = report::Latencies::default();
    for side in SIDES {
        for i in 0..20 {
            sides
                .round(side, &format!("warm-{side}-{i}"), &mut discard)
                .await?;
        }
    }

    let mut latencies = report::Latencies::default();
    for block in 0..blocks {
        for side in SIDES {
            for i in 0..rounds / blocks {
                let name = format!("bench-{side}-{block}-{i}");
                sides.round(side, &name, &mut latencies).await?;
            }
        }
    }

    // An idle instance: instantiated, its in-cluster client built, nothing sent yet.
    let (idle, _client) = cluster.replica(&account).await?;
    let idle_memory_bytes = idle.memory_bytes();
    drop(idle);

    let locks = locks::run(&cluster, &endpoint, locks::Budget::new(options.quick)).await?;

    let report = Report::new(
        latencies,
        report::Instantiation {
            on_demand: instantiate,
            pooling: instantiate_pooling,
            fresh: fresh_host.allocation(),
        },
        compile_time(Path::new(KUBE_LEASE_COMPONENT))?,
        std::fs::metadata(KUBE_LEASE_COMPONENT)?.len(),
        idle_memory_bytes,
        locks,
        options.quick,
    );
    println!("{}", report.table());
    std::fs::create_dir_all(&options.out_dir)?;
    let path = options.out_dir.join("results.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&report.json())?)?;
    println!("wrote {}", path.display());
    for path in plots::write(&report, &options.out_dir)? {
        println!("wrote {}", path.display());
    }
    Ok(report)
}

/// How long compiling the component takes (one compile; the host caches it per process).
fn compile_time(path: &Path) -> anyhow::Result<Duration> {
    let started = Instant::now();
    LeaseHost::new(path)?;
    Ok(started.elapsed())
}

/// Where the native clients send their requests, and as whom.
pub struct Endpoint {
    /// `https://host:port`.
    pub base_url: String,
    /// The only CA trusted.
    pub ca_pem: Vec<u8>,
    /// The bearer token.
    pub token: String,
    /// The namespace of the leases.
    pub namespace: String,
}

/// The lease operations each side implements.
trait LeaseOps {
    /// Creates lease `name` held by `holder`; its resourceVersion.
    async fn create(&mut self, name: &str, holder: &str) -> anyhow::Result<String>;
    /// Reads lease `name`; its resourceVersion.
    async fn get(&mut self, name: &str) -> anyhow::Result<String>;
    /// Replaces lease `name` (at `resource_version`) with `holder`; the new resourceVersion.
    async fn replace(&mut self, name: &str, holder: &str, rv: &str) -> anyhow::Result<String>;
    /// Deletes lease `name`.
    async fn delete(&mut self, name: &str) -> anyhow::Result<()>;

    /// Operation `op` of a round on lease `name`, last seen at `rv`; the resourceVersion after.
    async fn step(&mut self, op: &str, name: &str, rv: &str) -> anyhow::Result<String> {
        match op {
            "create" => self.create(name, "a").await,
            "get" => self.get(name).await,
            "replace" => self.replace(name, "b", rv).await,
            _ => self.delete(name).await.map(|()| String::new()),
        }
    }
}

/// The clients of one run.
struct Sides<'a> {
    plain: &'a mut Plain,
    kube: &'a mut KubeRs,
    reused: &'a mut Guest,
    cluster: &'a Cluster,
    /// The host `component-fresh` instantiates on.
    fresh_host: &'a LeaseHost,
    account: &'a crate::cluster::Account,
}

impl Sides<'_> {
    /// Creates, reads, replaces and deletes lease `name` through `side`, timing each step
    /// (for `component-fresh`, each step includes its instance and client).
    async fn round(
        &mut self,
        side: &str,
        name: &str,
        into: &mut report::Latencies,
    ) -> anyhow::Result<()> {
        let mut rv = String::new();
        for op in OPERATIONS {
            let started = Instant::now();
            rv = match side {
                "plain" => self.plain.step(op, name, &rv).await?,
                "kube-rs" => self.kube.step(op, name, &rv).await?,
                "component" => self.reused.step(op, name, &rv).await?,
                _ => {
                    let mut fresh = Guest::on(self.fresh_host, self.cluster, self.account).await?;
                    fresh.step(op, name, &rv).await?
                }
            };
            into.push(side, op, started.elapsed());
        }
        Ok(())
    }
}
