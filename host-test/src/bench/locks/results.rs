//! The lock runs' results: the terminal table and the `locks` part of `results.json`, with
//! the component's handoff and request figures as ratios to each peer's from the same run.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Budget, CLIENTS, CONTENDERS, HOLD, LEASE_SECONDS, RunFigures};

/// Figures by contender count, then client.
#[derive(Debug)]
pub struct LockResults {
    /// The budget every run had.
    pub budget: Budget,
    runs: BTreeMap<usize, BTreeMap<String, RunFigures>>,
}

impl LockResults {
    /// No runs yet, under `budget`.
    pub fn new(budget: Budget) -> Self {
        Self {
            budget,
            runs: BTreeMap::new(),
        }
    }

    /// Records the run of `client` with `contenders`.
    pub fn insert(&mut self, contenders: usize, client: &str, figures: RunFigures) {
        self.runs
            .entry(contenders)
            .or_default()
            .insert(client.to_owned(), figures);
    }

    /// The run of `client` with `contenders` (empty figures if it did not run).
    pub fn of(&self, contenders: usize, client: &str) -> RunFigures {
        self.runs
            .get(&contenders)
            .and_then(|c| c.get(client))
            .cloned()
            .unwrap_or_default()
    }

    /// The component's handoff p50 over `peer`'s, with `contenders`.
    pub fn handoff_ratio(&self, contenders: usize, peer: &str) -> f64 {
        self.of(contenders, "component").handoff_p50_ms()
            / self.of(contenders, peer).handoff_p50_ms()
    }

    /// The component's requests per acquisition over `peer`'s, with `contenders`.
    pub fn requests_ratio(&self, contenders: usize, peer: &str) -> f64 {
        self.of(contenders, "component").requests_per_acquisition()
            / self.of(contenders, peer).requests_per_acquisition()
    }

    /// The terminal table: per contender count and client, with the component's ratios.
    pub fn table(&self) -> String {
        let mut out = format!(
            "locks: one lease, {LEASE_SECONDS} s lease duration, hold {} ms, up to {} \
             acquisitions or {} s per run\n{:>4} {:<20} {:>6} {:>12} {:>12} {:>10} {:>9} {:>12} {:>11}\n",
            HOLD.as_millis(),
            self.budget.target,
            self.budget.cap.as_secs_f64(),
            "n",
            "client",
            "acq",
            "handoff p50",
            "handoff p99",
            "cycles/s",
            "req/acq",
            "comp/this",
            "req c/this"
        );
        for n in CONTENDERS {
            for client in CLIENTS {
                let f = self.of(n, client);
                out.push_str(&format!(
                    "{n:>4} {client:<20} {:>6} {:>12} {:>12} {:>10} {:>9} {:>12} {:>11}\n",
                    f.acquisitions,
                    cell(f.handoff_p50_ms(), 2, " ms"),
                    cell(f.handoff_p99_ms(), 2, " ms"),
                    cell(f.cycles_per_s(), 1, ""),
                    cell(f.requests_per_acquisition(), 1, ""),
                    cell(self.handoff_ratio(n, client), 4, "×"),
                    cell(self.requests_ratio(n, client), 2, "×"),
                ));
            }
        }
        out
    }

    /// The `locks` object of `results.json`.
    pub fn json(&self) -> Value {
        let mut runs = serde_json::Map::new();
        for n in CONTENDERS {
            let mut clients = serde_json::Map::new();
            for client in CLIENTS {
                let f = self.of(n, client);
                clients.insert(
                    client.to_owned(),
                    json!({
                        "acquisitions": f.acquisitions,
                        "handoffs": f.handoffs.len(),
                        "handoff_p50_ms": finite(f.handoff_p50_ms()),
                        "handoff_p99_ms": finite(f.handoff_p99_ms()),
                        "cycles_per_s": finite(f.cycles_per_s()),
                        "requests": f.requests,
                        "requests_per_acquisition": finite(f.requests_per_acquisition()),
                        "elapsed_s": f.elapsed.as_secs_f64(),
                        "ratio_component_handoff_p50": finite(self.handoff_ratio(n, client)),
                        "ratio_component_requests_per_acquisition":
                            finite(self.requests_ratio(n, client)),
                    }),
                );
            }
            runs.insert(n.to_string(), Value::Object(clients));
        }
        json!({
            "lease_duration_seconds": LEASE_SECONDS,
            "hold_ms": HOLD.as_secs_f64() * 1e3,
            "target_acquisitions": self.budget.target,
            "cap_s": self.budget.cap.as_secs_f64(),
            "contenders": Value::Object(runs),
        })
    }
}

/// `x` with `decimals` and `unit` for the table, `-` when it is not a number (no samples).
fn cell(x: f64, decimals: usize, unit: &str) -> String {
    if x.is_finite() {
        format!("{x:.decimals$}{unit}")
    } else {
        "-".to_owned()
    }
}

/// `x` as JSON, `null` when it is not a number (no samples).
fn finite(x: f64) -> Value {
    if x.is_finite() { json!(x) } else { Value::Null }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::bench::locks::Cycle;

    fn figures(handoff_us: &[i64], requests: usize) -> RunFigures {
        let mut at = 0;
        let cycles: Vec<Cycle> = handoff_us
            .iter()
            .map(|gap| {
                at += gap + 10;
                Cycle {
                    lease: "l".into(),
                    identity: format!("holder-{at}"),
                    token: None,
                    acquired_at: at - 10,
                    release_sent_at: at - 1,
                    released_at: at,
                }
            })
            .collect();
        RunFigures::new(&cycles, Duration::from_secs(1), requests)
    }

    #[test]
    fn ratios_are_the_component_over_each_peer_of_the_same_count() {
        let mut r = LockResults::new(Budget::new(true));
        r.insert(4, "component", figures(&[0, 1000, 1000], 9));
        r.insert(4, "go-loop", figures(&[0, 500_000, 500_000], 30));
        assert_eq!(r.handoff_ratio(4, "go-loop"), 0.002);
        assert_eq!(r.requests_ratio(4, "go-loop"), 0.3);
        assert_eq!(r.handoff_ratio(4, "component"), 1.0);
        let json = r.json();
        let run = &json["contenders"]["4"]["go-loop"];
        assert_eq!(run["acquisitions"], 3);
        assert_eq!(run["handoff_p50_ms"], 500.0);
        assert_eq!(run["requests_per_acquisition"], 10.0);
        // Runs that did not happen are nulls, not NaN (which JSON cannot hold).
        assert_eq!(
            json["contenders"]["16"]["component"]["handoff_p50_ms"],
            Value::Null
        );
        assert!(r.table().contains("go-loop"));
    }
}
