//! What the emulator keeps and how long it waits: the history window (watch replay and the
//! write record), the request-log window, the timeouts that cut off slow clients, and the
//! watch's bookmark schedule.

use std::collections::VecDeque;
use std::time::Duration;

/// Bounds on memory and on how long a client may stall. The defaults suit the standalone
/// server; tests shrink them to force `410 Expired` or a disconnect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// How many writes (watch events and [`super::WriteRecord`]s) are kept, oldest dropped
    /// first; a watch or a continued list from an older resourceVersion gets `410 Expired`.
    /// At least 1.
    pub history_window: usize,
    /// How many requests [`super::ApiServer::requests`] keeps, oldest dropped first.
    pub request_log_window: usize,
    /// How long a client may take to send a request's headers (also how long an idle
    /// keep-alive connection stays open).
    pub header_read_timeout: Duration,
    /// How long a client may take to complete the TLS handshake.
    pub tls_accept_timeout: Duration,
    /// How often a watch with `allowWatchBookmarks=true` gets a BOOKMARK (the watch cache's
    /// ~60 s).
    pub bookmark_interval: Duration,
    /// How long before a watch's deadline (`timeoutSeconds`) its last BOOKMARK goes out (the
    /// watch cache's 2 s).
    pub bookmark_before_deadline: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            history_window: 10_000,
            request_log_window: 1_000,
            header_read_timeout: Duration::from_secs(30),
            tls_accept_timeout: Duration::from_secs(10),
            bookmark_interval: Duration::from_secs(60),
            bookmark_before_deadline: Duration::from_secs(2),
        }
    }
}

/// Appends `item`, dropping the oldest entries beyond `window` (at least one entry is kept).
/// Returns how many were dropped.
pub(crate) fn push_bounded<T>(log: &mut VecDeque<T>, item: T, window: usize) -> usize {
    log.push_back(item);
    let excess = log.len().saturating_sub(window.max(1));
    log.drain(..excess);
    excess
}
