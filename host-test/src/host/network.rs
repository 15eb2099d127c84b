//! hyper-util's pooled HTTP/1.1 client, one per network policy and trusted CA, shared by every
//! instance whose sandbox has that policy and CA: a connection verified with one CA is never
//! reused by a sandbox trusting another. The clients are kept in a small bounded cache.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use wasmtime_wasi_http::WasiBody;

use super::Sandbox;
use super::connector::{Connector, client_config_trusting};
use super::hooks::TlsSender;
use super::policy::Policy;

/// How long an idle pooled connection is kept (as Go's and client-go's transports do).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// Idle time before TCP keepalive probes start, and between probes (client-go's dialer value).
const TCP_KEEPALIVE: Duration = Duration::from_secs(30);
/// Idle connections kept per origin.
const MAX_IDLE_PER_ORIGIN: usize = 8;
/// Pooled clients kept for distinct (policy, CA) pairs; the least recently used goes first.
const MAX_CLIENTS: usize = 16;

/// The pooled client type.
pub(crate) type PooledClient = Client<Connector, WasiBody>;

/// What a pooled client is shared by: the sandbox's policy and trusted CA.
#[derive(PartialEq, Eq)]
struct Key {
    /// The allowed origins.
    policy: Policy,
    /// The trusted CA, PEM.
    ca_pem: Option<Vec<u8>>,
}

/// The pooled clients of one [`super::LeaseHost`].
pub(crate) struct Networks {
    /// How long idle connections are kept.
    idle_timeout: Duration,
    /// Most recently used last, at most [`MAX_CLIENTS`].
    clients: Mutex<Vec<(Key, TlsSender)>>,
}

impl Networks {
    /// No clients yet; idle connections will be closed after `idle_timeout`.
    pub(crate) fn new(idle_timeout: Duration) -> Self {
        Self {
            idle_timeout,
            clients: Mutex::new(Vec::new()),
        }
    }

    /// The sender for a sandbox with `policy` trusting `ca_pem`: sharing its pooled
    /// connections with earlier sandboxes like it, or opening a connection per request when
    /// `fresh` is set.
    ///
    /// # Errors
    ///
    /// When `ca_pem` is not a usable CA certificate.
    pub(crate) fn sender(
        &self,
        policy: Policy,
        ca_pem: Option<&[u8]>,
        fresh: bool,
    ) -> anyhow::Result<TlsSender> {
        let key = Key {
            policy,
            ca_pem: ca_pem.map(<[u8]>::to_vec),
        };
        if fresh {
            return self.build(&key, 0);
        }
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(at) = clients.iter().position(|(k, _)| *k == key) {
            let entry = clients.remove(at);
            let sender = entry.1.clone();
            clients.push(entry);
            return Ok(sender);
        }
        let sender = self.build(&key, MAX_IDLE_PER_ORIGIN)?;
        if clients.len() >= MAX_CLIENTS {
            clients.remove(0);
        }
        clients.push((key, sender.clone()));
        Ok(sender)
    }

    /// The sender for `sandbox`'s allowed origins, trusted CA and connection choice.
    ///
    /// # Errors
    ///
    /// When an allowed origin is malformed (the error names it) or the CA PEM is unusable.
    pub(crate) fn sender_for(&self, sandbox: &Sandbox) -> anyhow::Result<TlsSender> {
        let policy = Policy::parse(&sandbox.allowed_origins)?;
        self.sender(
            policy,
            sandbox.trusted_ca_pem.as_deref(),
            sandbox.fresh_connections,
        )
    }

    /// A sender with a new client keeping up to `max_idle` idle connections per origin.
    fn build(&self, key: &Key, max_idle: usize) -> anyhow::Result<TlsSender> {
        let tls = match &key.ca_pem {
            Some(pem) => Some(client_config_trusting(pem)?),
            None => None,
        };
        let policy = Arc::new(key.policy.clone());
        let client = pooled_client(policy.clone(), tls, self.idle_timeout, max_idle);
        Ok(TlsSender::new(policy, client))
    }
}

/// A pooled client dialling only `policy`'s origins, with `tls` for `https`, keeping up to
/// `max_idle` idle connections per origin for `idle_timeout`: the guests' client, and the
/// benchmark's native baseline, so both reuse connections alike.
pub(crate) fn pooled_client<B>(
    policy: Arc<Policy>,
    tls: Option<Arc<rustls::ClientConfig>>,
    idle_timeout: Duration,
    max_idle: usize,
) -> Client<Connector, B>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
{
    let connector = Connector {
        policy,
        tls,
        keepalive: TCP_KEEPALIVE,
    };
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(idle_timeout)
        .pool_timer(TokioTimer::new())
        .pool_max_idle_per_host(max_idle)
        // Resend only a request that never left: hyper-util retries when a reused
        // connection turns out closed before any byte of the request was written.
        .retry_canceled_requests(true)
        .build(connector)
}
