//! Idle HTTP/1.1 connections kept for reuse, keyed by where they go and which TLS configuration
//! (hence which trusted CA) verified them. A fresh TLS handshake dominates a request's cost.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper::client::conn::http1::SendRequest;
use rustls::ClientConfig;
use wasmtime_wasi_http::WasiBody;

/// Idle connections kept per destination.
const MAX_IDLE_PER_KEY: usize = 8;
/// An idle connection older than this is closed rather than reused.
const MAX_IDLE_TIME: Duration = Duration::from_secs(30);

/// Where a pooled connection goes and how it was verified.
#[derive(Clone, Debug)]
pub(crate) struct PoolKey {
    /// `https` (else `http`).
    pub(crate) https: bool,
    /// The host as written in the URI, lower-cased.
    pub(crate) host: String,
    /// The port.
    pub(crate) port: u16,
    /// The TLS configuration the server was verified with (compared by identity).
    pub(crate) tls: Option<Arc<ClientConfig>>,
}

impl PoolKey {
    /// Same destination, verified by the very same TLS configuration.
    fn matches(&self, other: &PoolKey) -> bool {
        self.https == other.https
            && self.port == other.port
            && self.host == other.host
            && match (&self.tls, &other.tls) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                (None, None) => true,
                _ => false,
            }
    }
}

/// One idle connection.
struct Idle {
    /// Its destination.
    key: PoolKey,
    /// The handle to send the next request on it.
    sender: SendRequest<WasiBody>,
    /// When it became idle.
    since: Instant,
}

/// Idle connections shared by every instance of a [`super::LeaseHost`].
#[derive(Default)]
pub struct ConnectionPool {
    /// Most recently idle last.
    idle: Mutex<Vec<Idle>>,
}

impl std::fmt::Debug for ConnectionPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionPool")
            .field("idle", &self.lock().len())
            .finish()
    }
}

impl ConnectionPool {
    /// An empty pool.
    pub fn new() -> Self {
        Self::default()
    }

    /// The most recently idle open connection to `key`, dropping closed or expired ones.
    pub(crate) fn take(&self, key: &PoolKey) -> Option<SendRequest<WasiBody>> {
        let mut idle = self.lock();
        idle.retain(|i| !i.sender.is_closed() && i.since.elapsed() < MAX_IDLE_TIME);
        let at = idle.iter().rposition(|i| i.key.matches(key))?;
        Some(idle.remove(at).sender)
    }

    /// Keeps `sender` for reuse unless its connection closed or the destination has enough.
    pub(crate) fn put(&self, key: PoolKey, sender: SendRequest<WasiBody>) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.lock();
        if idle.iter().filter(|i| i.key.matches(&key)).count() >= MAX_IDLE_PER_KEY {
            return;
        }
        idle.push(Idle {
            key,
            sender,
            since: Instant::now(),
        });
    }

    /// The idle list, even if a holder panicked.
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }
}
