//! The watch an `acquire` waits on, kept open across its attempts so that a lost race or
//! another holder's write arrives as an event instead of costing a read and a new watch.

use crate::error::Error;
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

    /// The next change of the lease, or why there is none, by `wake` (monotonic ns). With no
    /// watch open, opens one from `rv`; the watch stays open unless it ended or failed.
    pub(crate) fn next_change(&mut self, rv: &str, wake: u64) -> Result<Waited, Error> {
        let (watch, opened) = match &mut self.open {
            Some(open) => open,
            None => {
                let opened = clock::monotonic_ns();
                let seconds = wake
                    .saturating_sub(opened)
                    .div_ceil(1_000_000_000)
                    .clamp(1, MAX_WATCH_SECONDS);
                let seconds = u32::try_from(seconds).unwrap_or(1);
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
