//! The plots' data, built from the results alone: latency CDFs and contention curves.

use super::super::locks::{CLIENTS, CONTENDERS, LockResults, RunFigures};
use super::super::stats::Samples;

/// An empirical CDF of `samples` as (value, fraction at or below it), at most `points` points
/// (every k-th order statistic, always ending at the maximum).
pub fn cdf(samples: &Samples, points: usize) -> Vec<(f64, f64)> {
    let mut sorted = samples.values().to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n == 0 || points == 0 {
        return Vec::new();
    }
    let step = n.div_ceil(points);
    let mut out: Vec<(f64, f64)> = (step - 1..n)
        .step_by(step)
        .map(|i| (sorted[i], (i + 1) as f64 / n as f64))
        .collect();
    if out.last().is_none_or(|&(_, f)| f < 1.0) {
        out.push((sorted[n - 1], 1.0));
    }
    out
}

/// Per client, `metric` of its runs against the contender count, leaving out runs whose
/// figure is not a positive number (no handoff, no acquisition: nothing to put on a log axis).
pub fn contention(
    results: &LockResults,
    metric: fn(&RunFigures) -> f64,
) -> Vec<(&'static str, Vec<(f64, f64)>)> {
    CLIENTS
        .iter()
        .map(|&client| {
            let points = CONTENDERS
                .iter()
                .map(|&n| (n as f64, metric(&results.of(n, client))))
                .filter(|&(_, y)| y.is_finite() && y > 0.0)
                .collect();
            (client, points)
        })
        .collect()
}

/// The smallest and largest of the `y`s (or `x`s with `xs`) over all series, for an axis.
pub fn bounds<'a>(
    series: impl IntoIterator<Item = &'a Vec<(f64, f64)>>,
    xs: bool,
) -> Option<(f64, f64)> {
    series
        .into_iter()
        .flatten()
        .map(|&(x, y)| if xs { x } else { y })
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((f64::min(lo, v), f64::max(hi, v))),
        })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::bench::locks::{Budget, Cycle};

    fn samples(micros: impl IntoIterator<Item = u64>) -> Samples {
        let mut s = Samples::default();
        for m in micros {
            s.push(Duration::from_micros(m));
        }
        s
    }

    #[test]
    fn cdf_is_sorted_bounded_and_ends_at_one() {
        let c = cdf(&samples((1..=1000).rev()), 100);
        assert!(c.len() <= 101);
        assert!(c.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 < w[1].1));
        assert_eq!(c.last(), Some(&(1000.0, 1.0)));
        assert_eq!(c[0], (10.0, 0.01));
        assert_eq!(cdf(&samples([5, 3]), 100), vec![(3.0, 0.5), (5.0, 1.0)]);
        assert!(cdf(&Samples::default(), 10).is_empty());
    }

    #[test]
    fn contention_curves_skip_runs_without_a_figure() {
        let mut r = LockResults::new(Budget::new(true));
        let cycle = |at: i64| Cycle {
            lease: "l".into(),
            identity: format!("holder-{at}"),
            token: None,
            acquired_at: at,
            release_sent_at: at + 1,
            released_at: at + 2,
        };
        r.insert(
            4,
            "go-loop",
            RunFigures::new(&[cycle(0), cycle(1002)], Duration::from_secs(1), 8),
        );
        r.insert(
            16,
            "go-loop",
            RunFigures::new(&[cycle(0)], Duration::from_secs(1), 3),
        );
        let handoff = contention(&r, RunFigures::handoff_p50_ms);
        let go = handoff.iter().find(|(c, _)| *c == "go-loop").unwrap();
        assert_eq!(go.1, vec![(4.0, 1.0)]);
        let requests = contention(&r, RunFigures::requests_per_acquisition);
        let go = requests.iter().find(|(c, _)| *c == "go-loop").unwrap();
        assert_eq!(go.1, vec![(4.0, 4.0), (16.0, 3.0)]);
        assert_eq!(
            bounds(requests.iter().map(|(_, s)| s), false),
            Some((3.0, 4.0))
        );
        assert_eq!(
            bounds(requests.iter().map(|(_, s)| s), true),
            Some((4.0, 16.0))
        );
        assert!(
            requests
                .iter()
                .find(|(c, _)| *c == "component")
                .unwrap()
                .1
                .is_empty()
        );
    }
}
