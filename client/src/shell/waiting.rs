//! The watch an `acquire` waits on, kept open across its attempts so that a lost race or
//! another holder's write arrives as an event instead of costing a read and a new watch.

use crate::error::{Error, StatusKind};
use crate::lease::Lease;
use crate::shell::Client;
use crate::shell::clock;
use crate::shell::watch::{Next, Watch};
use crate::watch::WatchEvent;

/// The longest watch asked for (kube-rs's bound: servers refuse more than 295 s).
const MAX_WATCH_SECONDS: u64 = 290;

/// A watch that ends sooner than this was refused or cut: back off before the next.
const SHORT_WATCH_NS: u64 = 1_000_000_000;

/// How a wait on a lease ended.
pub(crate) enum Waited {
    /// The lease changed: its new state (`None`: deleted).
    Changed(Option<Lease>),
    /// Nothing happened by the wake-up time, or the stream ended: read again.
    Quiet,
    /// The watch failed (an ERROR event such as 410 Expired, or it ended at once): back off.
    Broken,
}

/// How long a watch that should open with the lease's current state may take to give it;
/// a server that sends nothing by then ignores `sendInitialEvents`.
const INITIAL_STATE_NS: u64 = 2_000_000_000;

/// What a watch opened with the lease's current state gave.
pub(crate) enum Initial {
    /// The lease as it stands (`None`: absent); the watch stays open after it (if any).
    State(Option<Lease>),
    /// The server does not serve initial events (422, or no state in time): read instead,
    /// from now on.
    Unsupported,
    /// The watch failed otherwise: read instead, this time.
    Failed,
}

/// One lease's watch, open or not; while open, it stands at the last state it gave.
pub(crate) struct Watching<'a> {
    client: &'a Client,
    name: &'a str,
    open: Option<(Watch, u64)>,
}

impl<'a> Watching<'a> {
    /// No watch yet on lease `name`.
    pub(crate) fn new(client: &'a Client, name: &'a str) -> Self {
        Self {
            client,
            name,
            open: None,
        }
    }

    /// Whether a watch is open (its position is the last state it gave).
    pub(crate) fn is_open(&self) -> bool {
        self.open.is_some()
    }

    /// Drops the watch: the next wait opens a new one.
    pub(crate) fn close(&mut self) {
        self.open = None;
    }

    /// Opens a watch that starts with the lease's current state (WatchList) and gives that
    /// state; the watch stays open for [`Watching::next_change`], lasting until about `wake`.
    /// The answer must come by `by` (monotonic ns).
    pub(crate) fn open_initial(&mut self, wake: u64, by: u64) -> Initial {
        let opened = clock::monotonic_ns();
        let mut watch = match self
            .client
            .watch_initial(self.name, watch_seconds(opened, wake), by)
        {
            Ok(watch) => watch,
            Err(e) if e.is(StatusKind::Invalid) => return Initial::Unsupported,
            // No such collection (a missing namespace, say): no such lease either, as a GET's
            // 404 would say; a create then names the cause.
            Err(e) if e.is_not_found() => return Initial::State(None),
            Err(_) => return Initial::Failed,
        };
        let cap = opened.saturating_add(INITIAL_STATE_NS);
        let state = match watch.next(by.min(cap)) {
            Ok(Next::Event(WatchEvent::Added(l) | WatchEvent::Modified(l))) => Some(l),
            // The initial-events-end bookmark first: there is no such lease.
            Ok(Next::Event(WatchEvent::Bookmark(_) | WatchEvent::Deleted(_))) => None,
            Ok(Next::Deadline) if clock::monotonic_ns() >= cap => return Initial::Unsupported,
            Ok(Next::Deadline | Next::Ended | Next::Event(WatchEvent::Error(_))) | Err(_) => {
                return Initial::Failed;
            }
        };
        self.open = Some((watch, opened));
        Initial::State(state)
    }

    /// The next change of the lease, or why there is none, by `wake` (monotonic ns). With no
    /// watch open, opens one from `rv`; the watch stays open unless it ended or failed.
    pub(crate) fn next_change(&mut self, rv: &str, wake: u64) -> Result<Waited, Error> {
        let (watch, opened) = match &mut self.open {
            Some(open) => open,
            None => {
                let opened = clock::monotonic_ns();
                let seconds = watch_seconds(opened, wake);
                let watch = self.client.watch(self.name, rv, seconds, wake)?;
                self.open.insert((watch, opened))
            }
        };
        let opened = *opened;
        let waited = loop {
            match watch.next(wake) {
                Ok(Next::Event(WatchEvent::Added(l) | WatchEvent::Modified(l))) => {
                    return Ok(Waited::Changed(Some(l)));
                }
                Ok(Next::Event(WatchEvent::Deleted(_))) => return Ok(Waited::Changed(None)),
                Ok(Next::Event(WatchEvent::Bookmark(_))) => {}
                Ok(Next::Deadline) => return Ok(Waited::Quiet),
                Ok(Next::Event(WatchEvent::Error(_))) => break Ok(Waited::Broken),
                Ok(Next::Ended) if clock::monotonic_ns() < opened + SHORT_WATCH_NS => {
                    break Ok(Waited::Broken);
                }
                Ok(Next::Ended) => break Ok(Waited::Quiet),
                Err(e) => break Err(e),
            }
        };
        self.open = None;
        waited
    }
}

/// The `timeoutSeconds` of a watch opened at `opened` to wait until `wake` (monotonic ns).
fn watch_seconds(opened: u64, wake: u64) -> u32 {
    let seconds = wake
        .saturating_sub(opened)
        .div_ceil(1_000_000_000)
        .clamp(1, MAX_WATCH_SECONDS);
    u32::try_from(seconds).unwrap_or(1)
}
