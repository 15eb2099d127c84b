//! When a failed request may be sent again, and how long to wait first: pure rules over the
//! verb, the failure and the caller's deadline. The shell (`shell::Client`) runs them, drawing
//! the jitter from `wasi:random`; here the randomness is a parameter, so tests are exact.
//!
//! - Reads (get, list) are repeated after any transport failure, a timeout that left time,
//!   429, 500 / 502 / 503 / 504, and a 2xx whose body could not be decoded (malformed or cut
//!   JSON): a read changes nothing, so repeating it is always safe. A body over the size cap is
//!   the server's answer and is not asked for again.
//! - Writes (create, update, delete) are repeated only when they surely did nothing: 429 (API
//!   Priority and Fairness refuses before processing), 503, and a transport failure before the
//!   request left (DNS, connect, TLS). A reset after sending, a timeout, a 500 or a 504 leaves
//!   the outcome unknown: the write is not repeated, and the lock layer reads the lease back.
//! - The wait is `Retry-After` when the server gave one (the header, else the Status's
//!   `details.retryAfterSeconds`), else exponential backoff with equal jitter (50 ms doubling
//!   to 1 s, each wait between half and all of that); at most [`RetryPolicy::max_attempts`]
//!   tries, and never a wait that ends at or past the deadline. Advice longer than the
//!   longest backoff (1 s) is not waited out here: the caller gets it in
//!   `retry-after-seconds` and schedules itself. Whatever stops the retries, the caller gets
//!   the last error.

use crate::error::Error;
use crate::prelude::*;

/// What a request does to the lease.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    /// GET of one lease, of the list, or the start of a watch: changes nothing.
    Read,
    /// POST, PUT or DELETE: changes the lease.
    Write,
}

/// A failed request: the typed error, and whether the request may have reached the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failed {
    /// What the caller is told.
    pub error: Error,
    /// `false` only when the request surely never left: refused before sending, no name,
    /// no connection, no TLS session. Every other failure counts as sent.
    pub sent: bool,
    /// `true` when a 2xx answer arrived whole but its body could not be decoded (malformed
    /// or cut JSON): a read so answered may be tried again.
    pub garbled: bool,
}

impl Failed {
    /// A failure after the request may have reached the server.
    pub fn sent(error: Error) -> Self {
        Self {
            error,
            sent: true,
            garbled: false,
        }
    }

    /// A failure before the request left.
    pub fn unsent(error: Error) -> Self {
        Self {
            error,
            sent: false,
            garbled: false,
        }
    }

    /// A 2xx answer whose body could not be decoded.
    pub fn garbled(error: Error) -> Self {
        Self {
            error,
            sent: true,
            garbled: true,
        }
    }

    /// Whether a write that failed so may nevertheless have been applied: a transport
    /// failure or timeout after sending, a 2xx whose body could not be read, or a 5xx other
    /// than 503. A 4xx (429 included) and a 503 mean nothing was written.
    pub fn outcome_unknown(&self) -> bool {
        if !self.sent {
            return false;
        }
        match &self.error {
            Error::Transport(_) | Error::Timeout(_) | Error::Decode(_) => true,
            Error::Api(s) => s.code >= 500 && s.code != 503,
            Error::Config(_) | Error::InvalidArgument(_) | Error::Lost(_) => false,
        }
    }
}

impl From<Failed> for Error {
    fn from(failed: Failed) -> Self {
        failed.error
    }
}

/// Whether `failed` may be tried again for a request of `verb` (time and attempts aside).
pub fn retryable(verb: Verb, failed: &Failed) -> bool {
    let status = failed.error.status().map(|s| s.code);
    match (verb, &failed.error) {
        (Verb::Read, Error::Decode(_)) => failed.garbled,
        (_, Error::Config(_) | Error::InvalidArgument(_) | Error::Lost(_) | Error::Decode(_)) => {
            false
        }
        (_, Error::Api(_)) if matches!(status, Some(429 | 503)) => true,
        (Verb::Read, Error::Api(_)) => matches!(status, Some(500 | 502 | 504)),
        (Verb::Read, Error::Transport(_) | Error::Timeout(_)) => true,
        (Verb::Write, Error::Transport(_) | Error::Timeout(_)) => !failed.sent,
        (Verb::Write, Error::Api(_)) => false,
    }
}

/// How many times, and how far apart, a request is tried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The first backoff, in milliseconds.
    pub initial_ms: u32,
    /// The longest backoff, and the longest `Retry-After` waited out, in milliseconds.
    pub max_ms: u32,
    /// Tries in all, the first included.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    /// 50 ms doubling to 1 s, four tries.
    fn default() -> Self {
        Self {
            initial_ms: 50,
            max_ms: 1_000,
            max_attempts: 4,
        }
    }
}

const NS_PER_MS: u64 = 1_000_000;

/// The deadline (monotonic ns) for the requests of an operation started at `now_ns`, their
/// retries and any read-back included: the request timeout away, or the deadline of the call
/// they serve (`acquire`'s, a renewal's) when that comes sooner.
pub fn request_deadline(now_ns: u64, timeout_ms: u32, call_deadline: Option<u64>) -> u64 {
    let own = now_ns.saturating_add(u64::from(timeout_ms) * NS_PER_MS);
    call_deadline.map_or(own, |call| own.min(call))
}

/// How many whole milliseconds a request started at `now_ns` has before `deadline` (at most
/// the request timeout), for messages; 0 when the deadline has passed.
pub fn allowed_ms(now_ns: u64, deadline: u64, timeout_ms: u32) -> u32 {
    let left = deadline.saturating_sub(now_ns) / NS_PER_MS;
    u32::try_from(left).unwrap_or(u32::MAX).min(timeout_ms)
}

/// The error for a request that was never sent because its deadline had passed: a
/// `Timeout`, since the operation it serves ran out of time.
pub fn out_of_time(path: &str) -> Failed {
    Failed::unsent(Error::Timeout(format!(
        "the deadline passed before the request to {path} was sent"
    )))
}

impl RetryPolicy {
    /// The backoff before try `attempt + 1` after `attempt` (1-based) failed tries, in ms:
    /// equal jitter over `initial_ms · 2^(attempt-1)` capped at `max_ms`, from `random`.
    pub fn backoff_ms(&self, attempt: u32, random: u64) -> u64 {
        let exponent = attempt.saturating_sub(1).min(20);
        let cap = u64::from(self.initial_ms)
            .saturating_mul(1 << exponent)
            .min(u64::from(self.max_ms.max(self.initial_ms)));
        let half = cap / 2;
        half + random % (cap - half + 1)
    }

    /// How long to wait (ns) before trying again after try number `attempt` (1-based) of a
    /// `verb` request failed with `failed` at `now_ns`; `None` to stop and report `failed`:
    /// not retryable, out of tries, advice longer than `max_ms`, or the wait would reach
    /// `deadline_ns` (monotonic ns).
    pub fn next_wait_ns(
        &self,
        verb: Verb,
        failed: &Failed,
        attempt: u32,
        now_ns: u64,
        deadline_ns: u64,
        random: u64,
    ) -> Option<u64> {
        if attempt >= self.max_attempts || !retryable(verb, failed) {
            return None;
        }
        let advised = failed.error.status().and_then(|s| s.retry_after_seconds);
        let wait_ms = match advised {
            Some(seconds) if u64::from(seconds) * 1_000 > u64::from(self.max_ms) => return None,
            Some(seconds) => u64::from(seconds) * 1_000,
            None => self.backoff_ms(attempt, random),
        };
        let wait_ns = wait_ms.saturating_mul(NS_PER_MS);
        (now_ns.saturating_add(wait_ns) < deadline_ns).then_some(wait_ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ApiStatus, StatusKind};

    fn api(code: u16, retry_after_seconds: Option<u32>) -> Failed {
        Failed::sent(Error::Api(ApiStatus {
            kind: StatusKind::Server,
            code,
            retry_after_seconds,
            ..ApiStatus::default()
        }))
    }

    fn transport(sent: bool) -> Failed {
        Failed {
            error: Error::Transport("reset".into()),
            sent,
            garbled: false,
        }
    }

    fn timeout() -> Failed {
        Failed::sent(Error::Timeout("slow".into()))
    }

    const S: u64 = 1_000_000_000;

    #[test]
    fn reads_retry_transport_timeouts_429_and_transient_5xx() {
        for f in [
            transport(true),
            transport(false),
            timeout(),
            api(429, None),
            api(500, None),
            api(502, None),
            api(503, None),
            api(504, None),
        ] {
            assert!(retryable(Verb::Read, &f), "{f:?}");
        }
        for code in [400, 401, 403, 404, 409, 410, 422, 501] {
            assert!(!retryable(Verb::Read, &api(code, None)), "{code}");
        }
    }

    #[test]
    fn writes_retry_only_what_surely_did_nothing() {
        for f in [api(429, Some(1)), api(503, None), transport(false)] {
            assert!(retryable(Verb::Write, &f), "{f:?}");
            assert!(!f.outcome_unknown(), "{f:?}");
        }
        let unsent_timeout = Failed::unsent(Error::Timeout("connect".into()));
        assert!(retryable(Verb::Write, &unsent_timeout));
        for f in [transport(true), timeout(), api(500, None), api(504, None)] {
            assert!(!retryable(Verb::Write, &f), "{f:?}");
            assert!(f.outcome_unknown(), "{f:?}");
        }
        for code in [400, 404, 409, 422] {
            assert!(!retryable(Verb::Write, &api(code, None)), "{code}");
            assert!(!api(code, None).outcome_unknown(), "{code}");
        }
    }

    #[test]
    fn a_garbled_success_is_read_again_but_never_written_again() {
        let f = Failed::garbled(Error::Decode("not JSON".into()));
        assert!(f.outcome_unknown(), "a write so answered may have happened");
        assert!(!retryable(Verb::Write, &f));
        assert!(retryable(Verb::Read, &f));
        let p = RetryPolicy::default();
        assert!(p.next_wait_ns(Verb::Read, &f, 1, 0, 10 * S, 0).is_some());
        assert_eq!(p.next_wait_ns(Verb::Write, &f, 1, 0, 10 * S, 0), None);
    }

    #[test]
    fn an_oversized_success_is_the_servers_answer_and_is_not_asked_again() {
        let f = Failed::sent(Error::Decode("larger than 1048576 bytes".into()));
        assert!(f.outcome_unknown());
        assert!(!retryable(Verb::Read, &f));
        assert!(!retryable(Verb::Write, &f));
    }

    #[test]
    fn requests_end_by_the_sooner_of_the_request_timeout_and_the_calls_deadline() {
        // No call deadline: the request timeout.
        assert_eq!(request_deadline(5 * S, 10_000, None), 15 * S);
        // acquire's 1.5 s deadline cuts a 10 s request timeout short.
        assert_eq!(request_deadline(S, 10_000, Some(S + S / 2)), S + S / 2);
        // A far call deadline leaves the request timeout in force.
        assert_eq!(request_deadline(S, 1_000, Some(60 * S)), 2 * S);
        // A passed call deadline leaves no time at all.
        assert_eq!(request_deadline(3 * S, 10_000, Some(2 * S)), 2 * S);
        assert_eq!(request_deadline(u64::MAX - 1, 10_000, None), u64::MAX);
    }

    #[test]
    fn the_time_a_request_is_given_is_capped_by_its_timeout_and_floored_at_zero() {
        assert_eq!(allowed_ms(0, S + S / 2, 10_000), 1_500);
        assert_eq!(allowed_ms(0, 60 * S, 10_000), 10_000);
        assert_eq!(allowed_ms(3 * S, 2 * S, 10_000), 0);
        let f = out_of_time("/apis/coordination.k8s.io/v1/namespaces/ns/leases/l");
        assert!(!f.sent && !f.outcome_unknown());
        assert!(matches!(&f.error, Error::Timeout(m) if m.contains("leases/l")));
    }

    #[test]
    fn local_failures_are_never_retried_and_never_unknown() {
        for e in [
            Error::Config("no token".into()),
            Error::InvalidArgument("bad name".into()),
            Error::Lost("gone".into()),
        ] {
            let f = Failed::unsent(e);
            assert!(!retryable(Verb::Read, &f) && !f.outcome_unknown(), "{f:?}");
            assert!(!Failed::sent(f.error.clone()).outcome_unknown());
        }
    }

    #[test]
    fn backoff_doubles_from_50_ms_to_1_s_with_equal_jitter() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff_ms(1, 0), 25);
        assert_eq!(p.backoff_ms(1, 25), 50);
        assert_eq!(p.backoff_ms(1, 26), 25);
        assert_eq!(p.backoff_ms(2, 0), 50);
        assert_eq!(p.backoff_ms(2, 75), 74);
        assert_eq!(p.backoff_ms(2, u64::MAX), 50); // 2^64 - 1 is a multiple of 51
        assert_eq!(p.backoff_ms(5, 0), 400);
        for n in 6..40 {
            assert_eq!(p.backoff_ms(n, 0), 500);
            assert_eq!(p.backoff_ms(n, 500), 1_000);
        }
    }

    #[test]
    fn retry_after_is_honoured_from_the_header_or_the_status() {
        let p = RetryPolicy::default();
        let wait = p.next_wait_ns(Verb::Write, &api(429, Some(1)), 1, 0, 10 * S, 7);
        assert_eq!(wait, Some(S));
        let wait = p.next_wait_ns(Verb::Read, &api(503, Some(1)), 2, 0, 10 * S, 7);
        assert_eq!(wait, Some(S));
        // Longer advice goes back to the caller at once, whatever the deadline.
        let wait = p.next_wait_ns(Verb::Read, &api(503, Some(2)), 1, 0, 60 * S, 7);
        assert_eq!(wait, None);
        // Without advice, the backoff.
        let wait = p.next_wait_ns(Verb::Read, &api(503, None), 1, 0, 10 * S, 7);
        assert_eq!(wait, Some(32 * NS_PER_MS));
    }

    #[test]
    fn no_wait_reaches_the_deadline_and_tries_are_bounded() {
        let p = RetryPolicy::default();
        // Retry-After 1 s with half a second left: stop now with the 429.
        assert_eq!(
            p.next_wait_ns(Verb::Write, &api(429, Some(1)), 1, 9 * S + S / 2, 10 * S, 0),
            None
        );
        // A wait ending exactly at the deadline leaves no time for the try.
        assert_eq!(
            p.next_wait_ns(Verb::Write, &api(429, Some(1)), 1, 9 * S, 10 * S, 0),
            None
        );
        assert_eq!(
            p.next_wait_ns(Verb::Read, &transport(true), 1, 0, 10 * NS_PER_MS, 0),
            None
        );
        assert!(
            p.next_wait_ns(Verb::Read, &transport(true), 3, 0, 10 * S, 0)
                .is_some()
        );
        assert_eq!(
            p.next_wait_ns(Verb::Read, &transport(true), 4, 0, 10 * S, 0),
            None
        );
        // Not retryable at all.
        assert_eq!(
            p.next_wait_ns(Verb::Write, &api(500, None), 1, 0, 10 * S, 0),
            None
        );
    }
}
