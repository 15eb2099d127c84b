//! The benchmark's results: the terminal table and `results.json`, every figure also as a
//! ratio to the floor and to kube-rs measured in the same run.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use super::locks::LockResults;
use super::stats::Samples;
use super::{OPERATIONS, SIDES};
use crate::host::InstanceAllocation;

/// Latencies by side, then operation.
#[derive(Debug, Default)]
pub struct Latencies(BTreeMap<String, BTreeMap<String, Samples>>);

impl Latencies {
    /// Records one latency of `op` on `side`.
    pub fn push(&mut self, side: &str, op: &str, latency: Duration) {
        self.0
            .entry(side.to_owned())
            .or_default()
            .entry(op.to_owned())
            .or_default()
            .push(latency);
    }

    /// The samples of `op` on `side` (empty if none).
    pub fn of(&self, side: &str, op: &str) -> Samples {
        self.0
            .get(side)
            .and_then(|ops| ops.get(op))
            .cloned()
            .unwrap_or_default()
    }
}

/// `InstancePre::instantiate_async` alone, with a fresh WASI context, on each allocator.
#[derive(Debug)]
pub struct Instantiation {
    /// With wasmtime's default (on-demand) allocator.
    pub on_demand: Samples,
    /// With the pooling allocator ([`InstanceAllocation::pooling`]).
    pub pooling: Samples,
    /// The allocator `component-fresh` ran on: the faster of the two.
    pub fresh: InstanceAllocation,
}

impl Instantiation {
    /// The name of the allocator `component-fresh` ran on.
    pub fn fresh_allocator(&self) -> &'static str {
        match self.fresh {
            InstanceAllocation::OnDemand => "on-demand",
            InstanceAllocation::Pooling(_) => "pooling",
        }
    }
}

/// One run's results.
#[derive(Debug)]
pub struct Report {
    /// Per side and operation.
    pub latencies: Latencies,
    /// Instantiation alone, on each allocator.
    pub instantiate: Instantiation,
    /// Compiling the component once.
    pub compile: Duration,
    /// The release `.wasm` size in bytes.
    pub wasm_bytes: u64,
    /// The linear memory of an idle instance (instantiated, client built), in bytes.
    pub idle_memory_bytes: usize,
    /// The lock contention runs.
    pub locks: LockResults,
    /// Whether this was the `--quick` run.
    pub quick: bool,
}

impl Report {
    /// Gathers the results.
    pub fn new(
        latencies: Latencies,
        instantiate: Instantiation,
        compile: Duration,
        wasm_bytes: u64,
        idle_memory_bytes: usize,
        locks: LockResults,
        quick: bool,
    ) -> Self {
        Self {
            latencies,
            instantiate,
            compile,
            wasm_bytes,
            idle_memory_bytes,
            locks,
            quick,
        }
    }

    /// The p50 ratio of `op` on `side` to `baseline`'s.
    pub fn ratio(&self, side: &str, op: &str, baseline: &str) -> f64 {
        self.latencies.of(side, op).p50() / self.latencies.of(baseline, op).p50()
    }

    /// The terminal table: p50 / p99 per operation and side, with the ratio to plain.
    pub fn table(&self) -> String {
        let mut out = format!(
            "component-fresh: a fresh instance per operation on the {} allocator\n",
            self.instantiate.fresh_allocator()
        );
        out.push_str(&format!(
            "{:<10} {:<16} {:>8} {:>10} {:>10} {:>10} {:>10}\n",
            "operation", "side", "samples", "p50 µs", "p99 µs", "p50/plain", "p50/kube"
        ));
        for op in OPERATIONS {
            for side in SIDES {
                let s = self.latencies.of(side, op);
                out.push_str(&format!(
                    "{op:<10} {side:<16} {:>8} {:>10.0} {:>10.0} {:>9.2}× {:>9.2}×\n",
                    s.len(),
                    s.p50(),
                    s.p99(),
                    self.ratio(side, op, "plain"),
                    self.ratio(side, op, "kube-rs")
                ));
            }
        }
        for (allocator, s) in [
            ("on-demand", &self.instantiate.on_demand),
            ("pooling", &self.instantiate.pooling),
        ] {
            out.push_str(&format!(
                "instantiate ({allocator}): p50 {:.0} µs, p99 {:.0} µs ({} samples)\n",
                s.p50(),
                s.p99(),
                s.len()
            ));
        }
        out.push_str(&format!(
            "compile {:.0} ms; .wasm {} bytes; idle instance memory {} KiB",
            self.compile.as_secs_f64() * 1e3,
            self.wasm_bytes,
            self.idle_memory_bytes / 1024
        ));
        out.push('\n');
        out.push_str(&self.locks.table());
        out
    }

    /// `results.json`: per operation and side `p50_us`, `p99_us`, `ratio_p50_vs_plain` and
    /// `ratio_p50_vs_kube_rs`; instantiation on each allocator, and which one
    /// `component-fresh` ran on.
    pub fn json(&self) -> Value {
        let mut operations = serde_json::Map::new();
        for op in OPERATIONS {
            let mut sides = serde_json::Map::new();
            for side in SIDES {
                let s = self.latencies.of(side, op);
                sides.insert(
                    side.to_owned(),
                    json!({
                        "samples": s.len(),
                        "p50_us": s.p50(),
                        "p99_us": s.p99(),
                        "ratio_p50_vs_plain": self.ratio(side, op, "plain"),
                        "ratio_p50_vs_kube_rs": self.ratio(side, op, "kube-rs"),
                    }),
                );
            }
            operations.insert(op.to_owned(), Value::Object(sides));
        }
        json!({
            "quick": self.quick,
            "operations": operations,
            "component_fresh_allocator": self.instantiate.fresh_allocator(),
            "instantiate_p50_us": self.instantiate.on_demand.p50(),
            "instantiate_pooling_p50_us": self.instantiate.pooling.p50(),
            "instantiate": samples_json(&self.instantiate.on_demand),
            "instantiate_pooling": samples_json(&self.instantiate.pooling),
            "compile_ms": self.compile.as_secs_f64() * 1e3,
            "wasm_bytes": self.wasm_bytes,
            "idle_instance_memory_bytes": self.idle_memory_bytes,
            "locks": self.locks.json(),
        })
    }
}

/// `samples`, `p50_us` and `p99_us` of `s`.
fn samples_json(s: &Samples) -> Value {
    json!({
        "samples": s.len(),
        "p50_us": s.p50(),
        "p99_us": s.p99(),
    })
}
