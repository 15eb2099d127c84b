//! `host-test`: run the demo, print lease names computed by the component, serve the
//! emulated apiserver for kubectl and other clients, call the component against any apiserver,
//! or serve the HTTP lock service.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use host_test::bench::BenchOptions;
use host_test::demo::{self, DemoOptions};
use host_test::host::{LeaseHost, Sandbox};

const USAGE: &str = "usage:
  host-test demo [--replicas N] [--rounds N] [--lease-seconds N] [--keep-serving KUBECONFIG]
  host-test name <domain>...
  host-test bench [--quick] [--out DIR]
      measure the component against a native hyper + rustls client on the emulator, in one
      run; print p50 / p99 per operation with ratios, write DIR/results.json (default
      target/bench).
  host-test apiserver [--kubeconfig PATH] [--sa-dir DIR] [--namespace NS] [--history N]
                      [--proxy-port PORT] [--faults SPEC] [--fault-seed S]
      serve the emulated apiserver (HTTPS, one admin token) until Ctrl-C; --proxy-port also
      serves plain http on 127.0.0.1:PORT (0 = any free port) as a `kubectl proxy` in front
      of it would: no token needed, only local Host headers; both URLs are printed.
      --faults injects failures into Lease requests (--fault-seed, default 0, seeds the
      p= draws); the faults fired are printed at exit. See `host-test help faults`.
  host-test chaos [--seconds N] [--seed S] [--instances N] [--leases N] [--faults SPEC]
      run N instances (default 16) of the component contending on locks (default 4 leases)
      for N seconds (default 30) while the emulator injects faults at random (seeded by S,
      default: from the clock; printed) and restarts; check every hold against the write
      history and print the figures. Exit status 1 on an overlap, a phantom hold, a token
      regression, or an instance that trapped or hung.
  host-test lease --server https://HOST[:PORT] --sa-dir DIR OPERATION
  host-test lease --server http://127.0.0.1:8001 [--sa-dir DIR | --namespace NS] OPERATION
      run the component against an apiserver as in a pod (DIR holds token, ca.crt, namespace;
      TLS trusts only DIR/ca.crt), or through a `kubectl proxy` (no token sent; namespace from
      DIR/namespace, else NS, else default). A failure (including `get` of an absent lease) is
      one `error: ...` line on stderr and exit status 1. OPERATION is one of:
    get NAME | list | delete NAME
      print the lease or LeaseList as JSON; delete it.
    lock NAME [--identity ID] [--duration S] [--hold S] [--wait S]
      take the lock (one try; with --wait, wait up to S seconds, by watch, for the holder to
      release it or its lease to expire), print the hold as one JSON line (name, identity,
      resourceVersion, acquireTime, validUntil, fencingToken), keep it --hold S seconds
      renewing it (Ctrl-C ends early), then release it. --identity defaults to a random one,
      --duration (leaseDurationSeconds) to 300. Not acquired: `error: held: ...` naming the
      holder; a hold lost while kept: `error: lost: ...`.
    unlock NAME --identity ID
      release ID's hold on the lease (fails if someone else holds it).
      Try it from two terminals on your own cluster: `lock NAME --hold 30` in one, then
      `lock NAME --wait 60` in the other gets it when the first releases, with a larger
      fencingToken.
  host-test serve --server https://HOST[:PORT] --sa-dir DIR [OPTIONS]
  host-test serve --server http://127.0.0.1:8001 [--sa-dir DIR | --namespace NS] [OPTIONS]
      serve the HTTP lock service (the kube-lease-proxy component, a fresh instance per
      request) until Ctrl-C, printing `serving the lock service on http://ADDR/`. It reaches
      the apiserver as `lease` does (https: as in a pod, trusting only DIR/ca.crt; http: a
      `kubectl proxy`, as KUBE_LEASE_BASE_URL). OPTIONS:
    --listen ADDR            IP:PORT to listen on (default 127.0.0.1:8080; port 0: any)
    --front-token-file F     the token callers must send as `Authorization: Bearer ...`,
                             read on every request (its directory is mounted read-only);
                             without it, KUBE_LEASE_FRONT_TOKEN from this environment
    --prefixes P             comma-separated allowed lease-name prefixes (default cert-lock-)";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("lease") {
        // Reports its own failures: one line, never a cause chain.
        return host_test::lease_cli::main(&args[1..]).await;
    }
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:?}");
            ExitCode::FAILURE
        }
    }
}

/// The other subcommands.
async fn run(args: &[String]) -> anyhow::Result<()> {
    match args.first().map(String::as_str) {
        Some("demo") => demo::run(demo_options(&args[1..])?).await,
        Some("name") => names(&args[1..]).await,
        Some("bench") => bench(&args[1..]).await,
        Some("apiserver") => apiserver(&args[1..]).await,
        Some("chaos") => chaos(&args[1..]).await,
        Some("serve") => host_test::serve_cli::run(&args[1..]).await,
        Some("-h" | "--help" | "help") => {
            if args.get(1).map(String::as_str) == Some("faults") {
                println!("{}", host_test::apiserver::FAULT_SPEC_HELP);
            } else {
                println!("{USAGE}");
            }
            Ok(())
        }
        _ => bail!("{USAGE}"),
    }
}

/// `--flag value` pairs.
fn flags(args: &[String], known: &[&str]) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if !known.contains(&flag.as_str()) {
            bail!("unknown argument {flag:?}\n{USAGE}");
        }
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        out.push((flag.clone(), value.clone()));
    }
    Ok(out)
}

fn demo_options(args: &[String]) -> anyhow::Result<DemoOptions> {
    let mut opts = DemoOptions::default();
    for (flag, value) in flags(
        args,
        &[
            "--replicas",
            "--rounds",
            "--lease-seconds",
            "--keep-serving",
        ],
    )? {
        let number = || {
            value
                .parse::<usize>()
                .with_context(|| format!("{flag} {value:?} is not a number"))
        };
        match flag.as_str() {
            "--replicas" => opts.replicas = number()?.max(2),
            "--rounds" => opts.rounds = number()?.max(1),
            "--lease-seconds" => opts.lease_seconds = i32::try_from(number()?.max(1))?,
            _ => opts.keep_serving = Some(PathBuf::from(value)),
        }
    }
    Ok(opts)
}

/// `bench [--quick] [--out DIR]`.
async fn bench(args: &[String]) -> anyhow::Result<()> {
    let quick = args.iter().any(|a| a == "--quick");
    let rest: Vec<String> = args.iter().filter(|a| *a != "--quick").cloned().collect();
    let mut options = BenchOptions {
        quick,
        // The workspace's target directory: host-test lives one level below the root.
        out_dir: Path::new(env!("CARGO_MANIFEST_DIR")).parent().map_or_else(
            || PathBuf::from("target/bench"),
            |root| root.join("target/bench"),
        ),
    };
    for (_, value) in flags(&rest, &["--out"])? {
        options.out_dir = PathBuf::from(value);
    }
    host_test::bench::run(&options).await.map(drop)
}

/// `chaos [--seconds N] [--seed S] [--instances N] [--leases N] [--faults SPEC]`.
async fn chaos(args: &[String]) -> anyhow::Result<()> {
    let mut options = host_test::chaos::ChaosOptions {
        seed: host_test::history::now_micros().unsigned_abs(),
        ..Default::default()
    };
    let known = ["--seconds", "--seed", "--instances", "--leases", "--faults"];
    for (flag, value) in flags(args, &known)? {
        let number = || {
            value
                .parse::<u64>()
                .with_context(|| format!("{flag} {value:?} is not a number"))
        };
        match flag.as_str() {
            "--seconds" => options.duration = std::time::Duration::from_secs(number()?.max(1)),
            "--seed" => options.seed = number()?,
            "--instances" => options.instances = usize::try_from(number()?.max(1))?,
            "--leases" => options.leases = usize::try_from(number()?.max(1))?,
            _ => options.faults = value,
        }
    }
    println!(
        "chaos seed {} (rerun with --seed {})",
        options.seed, options.seed
    );
    let report = host_test::chaos::run(&options).await?;
    print!("{report}");
    if !report.is_clean() {
        bail!("the chaos run found unsafe holds or instances in an unknown state");
    }
    Ok(())
}

/// Each domain's lease name, computed by the component.
async fn names(domains: &[String]) -> anyhow::Result<()> {
    if domains.is_empty() {
        bail!("{USAGE}");
    }
    let host = LeaseHost::from_built()?;
    let mut replica = host.instantiate(Sandbox::default()).await?;
    for domain in domains {
        println!("{domain} {}", replica.lease_name_for_domain(domain).await?);
    }
    Ok(())
}

async fn apiserver(args: &[String]) -> anyhow::Result<()> {
    let (mut kubeconfig, mut sa_dir, mut namespace) = (None, None, "default".to_owned());
    let mut limits = host_test::apiserver::Limits::default();
    let mut proxy_port = None;
    let (mut faults, mut fault_seed) = (Vec::new(), 0);
    let known = [
        "--kubeconfig",
        "--sa-dir",
        "--namespace",
        "--history",
        "--proxy-port",
        "--faults",
        "--fault-seed",
    ];
    for (flag, value) in flags(args, &known)? {
        match flag.as_str() {
            "--kubeconfig" => kubeconfig = Some(PathBuf::from(value)),
            "--sa-dir" => sa_dir = Some(PathBuf::from(value)),
            "--history" => {
                limits.history_window = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .with_context(|| format!("--history {value:?} is not a positive number"))?;
            }
            "--proxy-port" => {
                let port = value.parse::<u16>();
                proxy_port =
                    Some(port.with_context(|| format!("--proxy-port {value:?} is not a port"))?);
            }
            "--faults" => {
                faults = host_test::apiserver::parse_fault_spec(&value)
                    .map_err(|e| anyhow::anyhow!("--faults: {e}"))?;
            }
            "--fault-seed" => {
                let seed = value.parse::<u64>();
                fault_seed =
                    seed.with_context(|| format!("--fault-seed {value:?} is not a number"))?;
            }
            _ => namespace = value,
        }
    }
    host_test::apiserver::run_standalone(
        kubeconfig, sa_dir, namespace, limits, proxy_port, faults, fault_seed,
    )
    .await
}
