//! Fault injection: the failures a real cluster produces, fired per request by rules a test
//! (or `host-test apiserver --faults SPEC`) sets with [`ApiServer::inject`].
//!
//! A rule names a [`Fault`], which requests it may hit (an apiserver verb, a lease name) and
//! when it fires (the next `n` matching requests, or each with a seeded probability). Rules are
//! tried in the order they were added, only on authenticated Lease API requests, before the
//! request is dispatched; the first that fires decides. What each fault does on the wire, and
//! whether a write it hits is applied, is in [`Fault`]'s documentation. Every fired fault is
//! counted by kind ([`ApiServer::faults_fired`]) and named in the request log
//! ([`super::RequestRecord::fault`]).

use std::collections::BTreeMap;

use super::{ApiServer, lock};

/// One failure the emulator can inject.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// 500, Status reason `InternalError`; a write is not applied.
    InternalError,
    /// 503, Status reason `ServiceUnavailable`; a write is not applied.
    Unavailable,
    /// 429 with `Retry-After`; a write is not applied. `plain_text`: API Priority and
    /// Fairness' `text/plain` body (`Too many requests, please try again later.`), else a
    /// Status with reason `TooManyRequests` and `details.retryAfterSeconds`.
    TooManyRequests {
        /// The `Retry-After` seconds (also `details.retryAfterSeconds` in the Status form).
        retry_after_s: u32,
        /// The plain-text APF form instead of a Status.
        plain_text: bool,
    },
    /// 504, Status reason `Timeout` (a request that timed out server-side); a write is not
    /// applied.
    ServerTimeout,
    /// The connection is closed with no reply; a write is not applied.
    ResetBeforeApply,
    /// The write is applied (the history shows it), then the connection is closed with no
    /// reply.
    ResetAfterApply,
    /// No reply at all until the client disconnects (or, at the latest, a minute passes;
    /// then the connection is closed); a write is not applied.
    Hang,
    /// The real reply (a write is applied), dribbled out in 16-byte chunks with
    /// `chunk_delay_ms` between them; a watch's events likewise.
    SlowBody {
        /// The pause before each chunk, in milliseconds.
        chunk_delay_ms: u64,
    },
    /// The real reply's headers (with its full `Content-Length`) and the first half of its
    /// body, then the connection is closed (a write is applied). On a watch: as `WatchCut`.
    CutBody,
    /// 200 with truncated JSON (`application/json`); a write is not applied.
    MalformedJson,
    /// 200 with a well-formed JSON object of `bytes` bytes; a write is not applied.
    OversizedBody {
        /// The body's size.
        bytes: usize,
    },
    /// A watch that streams its initial events (and any backlog after its resourceVersion),
    /// then is cut: the connection closes without the chunked body's end. Watches only.
    WatchCut,
    /// A watch that sends 200 and its headers, then nothing (no events, no bookmarks), until
    /// the client disconnects (at the latest after a minute, then it ends). Watches only.
    WatchSilent,
    /// A watch answered 200 with one ERROR event carrying a 410 `Expired` Status, as if its
    /// resourceVersion had just been compacted. Watches only.
    WatchExpired,
}

impl Fault {
    /// The kind's name, as counted by [`ApiServer::faults_fired`]: kebab-case, e.g.
    /// `reset-after-apply`; the two 429 forms are `too-many-requests` and
    /// `too-many-requests-text`.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::InternalError => "internal-error",
            Fault::Unavailable => "unavailable",
            Fault::TooManyRequests {
                plain_text: true, ..
            } => "too-many-requests-text",
            Fault::TooManyRequests { .. } => "too-many-requests",
            Fault::ServerTimeout => "server-timeout",
            Fault::ResetBeforeApply => "reset-before-apply",
            Fault::ResetAfterApply => "reset-after-apply",
            Fault::Hang => "hang",
            Fault::SlowBody { .. } => "slow-body",
            Fault::CutBody => "cut-body",
            Fault::MalformedJson => "malformed-json",
            Fault::OversizedBody { .. } => "oversized-body",
            Fault::WatchCut => "watch-cut",
            Fault::WatchSilent => "watch-silent",
            Fault::WatchExpired => "watch-expired",
        }
    }

    /// Whether the fault only makes sense on a watch (it never fires on other requests).
    fn watch_only(&self) -> bool {
        matches!(
            self,
            Fault::WatchCut | Fault::WatchSilent | Fault::WatchExpired
        )
    }
}

/// When a rule fires.
#[derive(Clone, Debug, PartialEq)]
enum Trigger {
    /// On the next this many matching requests.
    Next(usize),
    /// On each matching request with this probability.
    Chance(f64),
}

/// A fault, which requests it may hit, and when it fires.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultRule {
    fault: Fault,
    trigger: Trigger,
    verb: Option<String>,
    name: Option<String>,
}

impl FaultRule {
    /// Fires on the next `n` matching requests.
    pub fn next(n: usize, fault: Fault) -> Self {
        FaultRule {
            fault,
            trigger: Trigger::Next(n),
            verb: None,
            name: None,
        }
    }

    /// Fires on each matching request with probability `p` (clamped to 0..=1), drawn from
    /// the server's seeded generator ([`ApiServer::seed_faults`]).
    pub fn chance(p: f64, fault: Fault) -> Self {
        let p = if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) };
        FaultRule {
            fault,
            trigger: Trigger::Chance(p),
            verb: None,
            name: None,
        }
    }

    /// Only requests with this apiserver verb: `get`, `list`, `watch`, `create`, `update`,
    /// `patch` or `delete`.
    pub fn on_verb(mut self, verb: &str) -> Self {
        self.verb = Some(verb.to_owned());
        self
    }

    /// Only requests for this lease name (its path, or a list/watch selecting it by
    /// `fieldSelector=metadata.name=…`).
    pub fn on_name(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    /// The fault this rule injects.
    pub fn fault(&self) -> &Fault {
        &self.fault
    }

    fn matches(&self, target: &Target<'_>) -> bool {
        self.verb.as_deref().is_none_or(|v| v == target.verb)
            && self.name.as_deref().is_none_or(|n| n == target.name)
            && (!self.fault.watch_only() || target.verb == "watch")
    }
}

/// What a Lease API request is, for matching rules.
pub(crate) struct Target<'a> {
    /// The apiserver verb.
    pub verb: &'a str,
    /// The lease name (empty for a list or watch of many).
    pub name: &'a str,
}

/// The rules, the seeded generator and the counts of fired faults.
#[derive(Default)]
pub(crate) struct Faults {
    rules: Vec<FaultRule>,
    rng: SplitMix64,
    fired: BTreeMap<String, u64>,
}

impl Faults {
    /// The fault for a request, if a rule fires (and counts it).
    pub fn pick(&mut self, target: &Target<'_>) -> Option<Fault> {
        if self.rules.is_empty() {
            return None;
        }
        let mut fault = None;
        for rule in self.rules.iter_mut().filter(|r| r.matches(target)) {
            let fires = match &mut rule.trigger {
                Trigger::Next(0) => false,
                Trigger::Next(n) => {
                    *n -= 1;
                    true
                }
                Trigger::Chance(p) => self.rng.next_f64() < *p,
            };
            if fires {
                fault = Some(rule.fault.clone());
                break;
            }
        }
        self.rules.retain(|r| r.trigger != Trigger::Next(0));
        let fault = fault?;
        self.count(fault.kind());
        Some(fault)
    }

    /// Counts one fired fault (or server event) of `kind`.
    pub fn count(&mut self, kind: &str) {
        *self.fired.entry(kind.to_owned()).or_default() += 1;
    }
}

/// A small seeded generator (SplitMix64): reproducible draws without a dependency.
#[derive(Default)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn next_f64(&mut self) -> f64 {
        // The top 53 bits: every value exactly representable.
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

impl ApiServer {
    /// Adds a fault rule (after those already set).
    pub fn inject(&self, rule: FaultRule) {
        lock(&self.shared.faults).rules.push(rule);
    }

    /// Removes every fault rule (the counts stay).
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).rules.clear();
    }

    /// Restarts the generator `chance` rules draw from (seed 0 until called): the same seed
    /// and the same order of requests fire the same faults.
    pub fn seed_faults(&self, seed: u64) {
        lock(&self.shared.faults).rng = SplitMix64(seed);
    }

    /// How many faults fired, by [`Fault::kind`]; restarts and certificate rotations count
    /// too (`restart-keep-store`, `restart-lose-store`, `rotate-certificate`, `rotate-ca`).
    pub fn faults_fired(&self) -> BTreeMap<String, u64> {
        lock(&self.shared.faults).fired.clone()
    }
}

/// The fault for a request, if a rule fires.
pub(crate) fn pick(shared: &super::Shared, target: &Target<'_>) -> Option<Fault> {
    lock(&shared.faults).pick(target)
}
