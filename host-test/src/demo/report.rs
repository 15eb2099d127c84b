//! The demo's summary: each replica's tally, each domain's lease as the history checker replays
//! it from the apiserver's write log, the fencing tokens, the watches, and `overlaps: N` from
//! the checker (takeovers before expiry in the log, and reported holds live at the same time).

use std::fmt::Write as _;
use std::time::Duration;

use super::turns::{Board, Tally};
use crate::cluster::Cluster;
use crate::history;

/// The summary, ending with the line `overlaps: N`.
pub fn summary(
    cluster: &Cluster,
    leases: &[(String, String)],
    tallies: &[(String, Tally)],
    board: &Board,
    took: Duration,
) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_summary(&mut out, cluster, leases, tallies, board, took);
    out
}

fn write_summary(
    out: &mut String,
    cluster: &Cluster,
    leases: &[(String, String)],
    tallies: &[(String, Tally)],
    board: &Board,
    took: Duration,
) -> std::fmt::Result {
    writeln!(out, "summary after {:.2}s:", took.as_secs_f64())?;
    writeln!(
        out,
        "  {:<10} {:>5} {:>9} {:>11}",
        "replica", "locks", "takeovers", "waited (ms)"
    )?;
    for (id, t) in tallies {
        let note = match &t.crashed {
            Some(domain) => format!("  (crashed holding {domain})"),
            None => String::new(),
        };
        writeln!(
            out,
            "  {id:<10} {:>5} {:>9} {:>11}{note}",
            t.locks,
            t.takeovers,
            t.waited.as_millis()
        )?;
    }
    let history = cluster.api.history();
    let mut overlaps = Vec::new();
    for (domain, lease) in leases {
        let verdict = history::check(&history, lease);
        let mut holds: Vec<_> = board.holds.iter().filter(|h| &h.lease == lease).collect();
        holds.sort_by_key(|h| h.acquired_at);
        let increasing = holds.windows(2).all(|w| w[0].token < w[1].token);
        let tokens: Vec<String> = holds.iter().map(|h| h.token.to_string()).collect();
        writeln!(
            out,
            "  {domain:<12} {} acquisitions ({} after expiry), {} releases; fencing tokens {}",
            verdict.acquisitions,
            verdict.expired_takeovers,
            verdict.releases,
            tokens.join(if increasing { " < " } else { ", " }),
        )?;
        overlaps.extend(verdict.violations.iter().map(|v| format!("{domain}: {v}")));
    }
    let holds = history::check_holds(&history, &board.holds);
    overlaps.extend(holds.overlaps.iter().cloned());
    writeln!(
        out,
        "  history checker: {} holds against {} logged writes; {} token regressions, {} holds \
         without their acquiring write",
        holds.holds,
        history.len(),
        holds.token_regressions.len(),
        holds.unlogged.len()
    )?;
    let watches = cluster
        .api
        .requests()
        .iter()
        .filter(|r| r.path_and_query.contains("watch=true"))
        .count();
    let mut handoffs = board.handoffs.clone();
    handoffs.sort();
    let median = handoffs
        .get(handoffs.len() / 2)
        .map_or_else(|| "-".to_owned(), |d| format!("{} ms", d.as_millis()));
    writeln!(
        out,
        "  waiting: {watches} watch requests; release to next holder: median {median} over {} handoffs",
        handoffs.len()
    )?;
    for v in overlaps
        .iter()
        .chain(&holds.token_regressions)
        .chain(&holds.unlogged)
    {
        writeln!(out, "  VIOLATION {v}")?;
    }
    write!(out, "overlaps: {}", overlaps.len())
}
