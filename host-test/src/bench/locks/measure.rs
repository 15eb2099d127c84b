//! What one contention run measured, from the cycles its contenders reported: handoff
//! latencies, cycles per second and apiserver requests per acquisition.

use std::time::Duration;

use crate::apiserver::RequestRecord;
use crate::bench::Samples;
use crate::history::HoldRecord;

/// One acquire → hold → release cycle, on the test's clock (`history::now_micros`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cycle {
    /// The lease held.
    pub lease: String,
    /// The holder identity written to the lease.
    pub identity: String,
    /// The hold's fencing token, when the client reports one.
    pub token: Option<u64>,
    /// When the acquisition returned.
    pub acquired_at: i64,
    /// When the holder stopped acting (just before its release was sent).
    pub release_sent_at: i64,
    /// When the release returned.
    pub released_at: i64,
}

impl Cycle {
    /// The hold as the history checker takes it, if the client reports fencing tokens.
    pub fn hold_record(&self) -> Option<HoldRecord> {
        self.token.map(|token| HoldRecord {
            lease: self.lease.clone(),
            identity: self.identity.clone(),
            token,
            acquired_at: self.acquired_at,
            released_at: self.release_sent_at,
        })
    }
}

/// Handoff latencies: for each acquisition (in the order they returned) by another holder
/// than the one before it, the time from that holder's release returning to this acquisition
/// returning (0 when the acquisition returned before the release call did). A holder taking
/// the lease again right after its own release is no handoff.
pub fn handoffs(cycles: &[Cycle]) -> Samples {
    let mut sorted: Vec<&Cycle> = cycles.iter().collect();
    sorted.sort_by_key(|c| c.acquired_at);
    let mut samples = Samples::default();
    for pair in sorted.windows(2).filter(|p| p[0].identity != p[1].identity) {
        let micros = (pair[1].acquired_at - pair[0].released_at).max(0);
        samples.push(Duration::from_micros(micros.unsigned_abs()));
    }
    samples
}

/// Whether `request` concerns lease `name`: its item path, or a list or watch selecting it
/// by name.
pub fn concerns(request: &RequestRecord, name: &str) -> bool {
    let path = request.path_and_query.as_str();
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    path.ends_with(&format!("/leases/{name}"))
        || query
            .split('&')
            .any(|pair| pair == format!("fieldSelector=metadata.name%3D{name}"))
}

/// How many of `requests` concern lease `name`.
pub fn requests_for(requests: &[RequestRecord], name: &str) -> usize {
    requests.iter().filter(|r| concerns(r, name)).count()
}

/// The figures of one run of one client at one contender count.
#[derive(Clone, Debug, Default)]
pub struct RunFigures {
    /// Acquisitions reached (bounded by the run's target and its wall-clock cap).
    pub acquisitions: usize,
    /// Handoff latencies, in microseconds.
    pub handoffs: Samples,
    /// The run's length.
    pub elapsed: Duration,
    /// Apiserver requests about the run's lease during the run.
    pub requests: usize,
}

impl RunFigures {
    /// Gathers the figures of `cycles` that took `elapsed` with `requests` requests.
    pub fn new(cycles: &[Cycle], elapsed: Duration, requests: usize) -> Self {
        Self {
            acquisitions: cycles.len(),
            handoffs: handoffs(cycles),
            elapsed,
            requests,
        }
    }

    /// Median handoff in milliseconds (`NaN` with fewer than two acquisitions).
    pub fn handoff_p50_ms(&self) -> f64 {
        self.handoffs.p50() / 1e3
    }

    /// 99th-percentile handoff in milliseconds.
    pub fn handoff_p99_ms(&self) -> f64 {
        self.handoffs.p99() / 1e3
    }

    /// Acquire + release cycles completed per second of the run.
    pub fn cycles_per_s(&self) -> f64 {
        self.acquisitions as f64 / self.elapsed.as_secs_f64()
    }

    /// Requests per successful acquisition (`NaN` without any).
    pub fn requests_per_acquisition(&self) -> f64 {
        if self.acquisitions == 0 {
            return f64::NAN;
        }
        self.requests as f64 / self.acquisitions as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cycle(acquired_at: i64, released_at: i64) -> Cycle {
        Cycle {
            lease: "l".into(),
            identity: format!("c{acquired_at}"),
            token: Some(acquired_at.unsigned_abs()),
            acquired_at,
            release_sent_at: released_at - 1,
            released_at,
        }
    }

    fn request(path_and_query: &str) -> RequestRecord {
        RequestRecord {
            method: "GET".into(),
            path_and_query: path_and_query.into(),
            content_type: None,
            accept: None,
            user_agent: None,
            has_authorization: true,
            user: None,
            body: Vec::new(),
            status: 200,
            fault: None,
        }
    }

    #[test]
    fn handoffs_follow_acquisition_order_not_report_order() {
        // Reported out of order; the second acquisition came 500 µs after the first release
        // returned, the third before the second's release call returned.
        let cycles = [
            cycle(3_000, 3_600),
            cycle(1_000, 2_000),
            cycle(2_500, 3_200),
        ];
        assert_eq!(handoffs(&cycles).values(), &[500.0, 0.0]);
        assert!(handoffs(&cycles[..1]).is_empty());
    }

    #[test]
    fn taking_the_lease_again_after_ones_own_release_is_no_handoff() {
        let mut again = cycle(2_500, 3_000);
        again.identity = cycle(1_000, 2_000).identity;
        let cycles = [cycle(1_000, 2_000), again, cycle(4_000, 5_000)];
        assert_eq!(handoffs(&cycles).values(), &[1000.0]);
    }

    #[test]
    fn figures_per_acquisition_and_second() {
        let cycles = [cycle(0, 1_000), cycle(2_000, 3_000)];
        let f = RunFigures::new(&cycles, Duration::from_millis(500), 7);
        assert_eq!(f.acquisitions, 2);
        assert_eq!(f.cycles_per_s(), 4.0);
        assert_eq!(f.requests_per_acquisition(), 3.5);
        assert_eq!(f.handoff_p50_ms(), 1.0);
        assert!(RunFigures::default().requests_per_acquisition().is_nan());
    }

    #[test]
    fn requests_are_matched_to_their_lease_exactly() {
        let leases = "/apis/coordination.k8s.io/v1/namespaces/bench/leases";
        let log = [
            request(&format!("{leases}/go-loop-x1")),
            request(&format!("{leases}/go-loop-x16")),
            request(&format!("{leases}/go-loop-x1?&fieldManager=m")),
            request(&format!(
                "{leases}?watch=true&fieldSelector=metadata.name%3Dgo-loop-x1&timeoutSeconds=2"
            )),
            request(&format!(
                "{leases}?watch=true&fieldSelector=metadata.name%3Dgo-loop-x16"
            )),
            request(leases),
        ];
        assert_eq!(requests_for(&log, "go-loop-x1"), 3);
        assert_eq!(requests_for(&log, "go-loop-x16"), 2);
    }

    #[test]
    fn only_fenced_cycles_become_hold_records() {
        let mut c = cycle(10, 20);
        assert_eq!(c.hold_record().unwrap().released_at, 19);
        c.token = None;
        assert!(c.hold_record().is_none());
    }
}
