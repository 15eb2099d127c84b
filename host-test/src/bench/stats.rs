//! Latency samples and their percentiles (nearest rank).

use std::time::Duration;

/// The latencies of one operation, in microseconds.
#[derive(Clone, Debug, Default)]
pub struct Samples {
    micros: Vec<f64>,
}

impl Samples {
    /// Adds one latency.
    pub fn push(&mut self, latency: Duration) {
        self.micros.push(latency.as_secs_f64() * 1e6);
    }

    /// How many latencies were taken.
    pub fn len(&self) -> usize {
        self.micros.len()
    }

    /// Whether none was.
    pub fn is_empty(&self) -> bool {
        self.micros.is_empty()
    }

    /// The `p`-th percentile (0 < p ≤ 100) by nearest rank; `NaN` without samples.
    pub fn percentile(&self, p: f64) -> f64 {
        if self.micros.is_empty() {
            return f64::NAN;
        }
        let mut sorted = self.micros.clone();
        sorted.sort_by(f64::total_cmp);
        // Nearest rank: the smallest value with at least p% of the samples at or below it.
        let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
        sorted[rank.min(sorted.len()) - 1]
    }

    /// The median.
    pub fn p50(&self) -> f64 {
        self.percentile(50.0)
    }

    /// The 99th percentile.
    pub fn p99(&self) -> f64 {
        self.percentile(99.0)
    }

    /// The samples, in the order taken.
    pub fn values(&self) -> &[f64] {
        &self.micros
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(micros: &[u64]) -> Samples {
        let mut s = Samples::default();
        for &m in micros {
            s.push(Duration::from_micros(m));
        }
        s
    }

    #[test]
    fn nearest_rank_percentiles() {
        let s = of(&(1..=100).rev().collect::<Vec<_>>());
        assert_eq!(s.p50(), 50.0);
        assert_eq!(s.p99(), 99.0);
        assert_eq!(s.percentile(100.0), 100.0);
        assert_eq!(of(&[7]).p99(), 7.0);
        assert_eq!(of(&[1, 2]).p50(), 1.0);
    }

    #[test]
    fn no_samples_is_nan_not_a_panic() {
        assert!(Samples::default().p50().is_nan());
    }
}
