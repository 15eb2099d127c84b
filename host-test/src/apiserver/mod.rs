//! The emulated kube-apiserver for coordination.k8s.io/v1 Leases.
//!
//! One in-memory store behind TLS (a freshly minted CA and serving certificate), bearer-token
//! authentication with optional per-token namespace allow-lists, the Lease REST verbs with the
//! real server's Status bodies, legacy discovery, Table output for `kubectl get`, and a record of
//! the recent requests and accepted writes for later checking. On demand, a plain-http listener
//! in front of it behaves like a `kubectl proxy` (no token needed; see
//! [`ApiServer::start_proxy_listener`]). What it keeps and how long it
//! waits for a slow client are bounded by [`Limits`]: a watch or list from a resourceVersion
//! older than the history window gets `410 Expired`.
//!
//! See `/work/shared/k8s-lease-api.md` for the behaviour this follows.

mod apply;
mod discovery;
mod exchange;
mod fault_replies;
mod fault_wire;
mod faults;
mod faults_spec;
mod gojson;
mod handlers;
mod lease;
mod lifecycle;
mod limits;
mod managed_fields;
mod microtime;
mod patch;
mod proxy_listener;
mod routes;
mod selectors;
mod standalone;
mod status;
mod store;
mod table;
mod tls;
mod validate;
mod watch;
mod watch_options;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub(crate) use faults::SplitMix64;
pub use faults::{Fault, FaultRule};
pub use faults_spec::{FAULT_SPEC_HELP, parse_fault_spec};
pub use limits::Limits;
pub use standalone::run_standalone;

/// Server switches.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The `CoordinatedLeaderElection` feature gate: keep `spec.strategy` and
    /// `spec.preferredHolder` (and validate them). Off by default, as in 1.34: they are dropped.
    pub coordinated_leader_election: bool,
    /// Write `metadata.managedFields` out, as every real server does. Off by default (the
    /// earlier byte-for-byte fixtures predate it); ownership is tracked either way, so
    /// server-side apply conflicts work regardless.
    pub managed_fields: bool,
    /// Serve as a server without the `WatchList` feature (before 1.34, where its gate is off
    /// by default): a watch with `sendInitialEvents` gets 422, and one from resourceVersion
    /// `""`/`"0"` gets its synthetic ADDEDs with no initial-events-end BOOKMARK.
    pub without_watch_list: bool,
}

/// The kind of an accepted write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    /// A lease was created (POST, or PUT to a missing name).
    Create,
    /// A lease was changed (PUT or PATCH).
    Update,
    /// A lease was deleted.
    Delete,
}

/// One accepted write, as stored (for a delete: the object as it was, with the deleting revision).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteRecord {
    /// Position in the history, from 1.
    pub seq: u64,
    /// Server wall clock at the write, microseconds since the Unix epoch.
    pub at_unix_micros: i64,
    /// What the write did.
    pub verb: Verb,
    /// The lease's namespace.
    pub namespace: String,
    /// The lease's name.
    pub name: String,
    /// The store revision the write produced.
    pub resource_version: String,
    /// The lease's uid.
    pub uid: String,
    /// The authenticated user that wrote.
    pub user: String,
    /// `spec.holderIdentity` after the write.
    pub holder: Option<String>,
    /// `spec.acquireTime` after the write (MicroTime text).
    pub acquire_time: Option<String>,
    /// `spec.renewTime` after the write (MicroTime text).
    pub renew_time: Option<String>,
    /// `spec.leaseDurationSeconds` after the write.
    pub lease_duration_seconds: Option<i32>,
    /// `spec.leaseTransitions` after the write.
    pub lease_transitions: Option<i32>,
}

/// One request the server received (never the token itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRecord {
    /// HTTP method.
    pub method: String,
    /// Path and query, as sent.
    pub path_and_query: String,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The `Accept` header, if any.
    pub accept: Option<String>,
    /// The `User-Agent` header, if any.
    pub user_agent: Option<String>,
    /// Whether an `Authorization` header was present (as the client sent it: through a proxy
    /// listener, the proxy's own credentials do not count).
    pub has_authorization: bool,
    /// The user the request was served as; `None` when it was not authenticated.
    pub user: Option<String>,
    /// The raw request body.
    pub body: Vec<u8>,
    /// The response status code (0 when a fault sent no reply: a reset or a hang).
    pub status: u16,
    /// The kind of fault that hit the request ([`Fault::kind`]), if one did.
    pub fault: Option<&'static str>,
}

/// Who a bearer token authenticates as.
#[derive(Clone, Debug)]
pub(crate) struct Identity {
    /// User name, e.g. `system:serviceaccount:default:replica-1`.
    pub user: String,
    /// Namespaces the user may touch; `None` = all.
    pub namespaces: Option<Vec<String>>,
}

/// State shared by the accept loop, the connections and the handle.
pub(crate) struct Shared {
    pub options: Options,
    pub limits: Limits,
    pub tokens: Mutex<HashMap<String, Identity>>,
    pub store: Mutex<store::Store>,
    pub requests: Mutex<VecDeque<RequestRecord>>,
    /// Watches whose streaming task is still running.
    pub open_watches: AtomicUsize,
    /// How many of the next watches are answered as if their resourceVersion were compacted.
    pub expire_watches: AtomicUsize,
    /// The fault rules and the counts of fired faults.
    pub faults: Mutex<faults::Faults>,
}

/// A running emulated apiserver. Clones share the server; the accept loop stops when the last
/// clone is dropped (or on [`ApiServer::shutdown`]).
#[derive(Clone)]
pub struct ApiServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    tls: Arc<tls::Serving>,
    /// The HTTPS accept loop (replaced on a restart).
    accept: Arc<Mutex<Option<AcceptTask>>>,
    /// The `kubectl proxy`-like listener, while one runs.
    proxy: Arc<Mutex<Option<proxy_listener::ProxyListener>>>,
}

/// Aborts the accept loop when dropped.
struct AcceptTask(JoinHandle<()>);

impl Drop for AcceptTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl ApiServer {
    /// Mints a CA and a serving certificate (SANs 127.0.0.1, ::1, localhost) and serves HTTPS
    /// (HTTP/1.1) on 127.0.0.1 at an OS-chosen port, on the current tokio runtime.
    ///
    /// # Errors
    /// When the certificates cannot be made or the port cannot be bound.
    pub async fn start(options: Options) -> anyhow::Result<ApiServer> {
        ApiServer::start_with_limits(options, Limits::default()).await
    }

    /// [`ApiServer::start`] with the history window, request-log window and timeouts of
    /// `limits`.
    ///
    /// # Errors
    /// When the certificates cannot be made or the port cannot be bound.
    pub async fn start_with_limits(options: Options, limits: Limits) -> anyhow::Result<ApiServer> {
        let tls = Arc::new(tls::Serving::mint()?);
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            options,
            tokens: Mutex::new(HashMap::new()),
            store: Mutex::new(store::Store::new(limits.history_window)),
            requests: Mutex::new(VecDeque::new()),
            open_watches: AtomicUsize::new(0),
            expire_watches: AtomicUsize::new(0),
            faults: Mutex::new(faults::Faults::default()),
            limits,
        });
        let front = routes::Front::Tls(Arc::clone(&tls));
        let task = tokio::spawn(routes::accept_loop(listener, front, Arc::clone(&shared)));
        Ok(ApiServer {
            shared,
            addr,
            tls,
            accept: Arc::new(Mutex::new(Some(AcceptTask(task)))),
            proxy: Arc::new(Mutex::new(None)),
        })
    }

    /// The base URL, `https://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The CA certificate (PEM) that signed the serving certificate: what goes into `ca.crt`
    /// (a new one after [`ApiServer::rotate_certificate`] with a new CA).
    pub fn ca_pem(&self) -> String {
        self.tls.ca_pem()
    }

    /// Accepts `token` as `user`; `namespaces` limits the namespaces it may use (`None` = all),
    /// anything else gets 403 Forbidden. Re-adding a token replaces its identity.
    pub fn add_token(&self, token: &str, user: &str, namespaces: Option<Vec<String>>) {
        let identity = Identity {
            user: user.to_owned(),
            namespaces,
        };
        lock(&self.shared.tokens).insert(token.to_owned(), identity);
    }

    /// Stops accepting `token` (its requests then get 401 Unauthorized).
    pub fn remove_token(&self, token: &str) {
        lock(&self.shared.tokens).remove(token);
    }

    /// The accepted writes in the history window (the last [`Limits::history_window`]), in
    /// commit order.
    pub fn history(&self) -> Vec<WriteRecord> {
        lock(&self.shared.store).history().cloned().collect()
    }

    /// The requests in the request-log window (the last [`Limits::request_log_window`]), in
    /// order of completion.
    pub fn requests(&self) -> Vec<RequestRecord> {
        lock(&self.shared.requests).iter().cloned().collect()
    }

    /// The JSON a GET of the lease would return (without the trailing newline), if it exists.
    pub fn stored(&self, namespace: &str, name: &str) -> Option<String> {
        let store = lock(&self.shared.store);
        store
            .get(namespace, name)
            .map(|lease| lease.to_json_string(true))
    }

    /// How many watches are streaming now (a watch stops counting when its deadline passes or
    /// its client goes away).
    pub fn open_watches(&self) -> usize {
        self.shared.open_watches.load(Ordering::SeqCst)
    }

    /// Answers the next `n` watches with 200 and a single 410 `Expired` ERROR event, as if
    /// their resourceVersion had just left the history window (a fault a real cluster shows
    /// under churn; tests cannot time a real compaction between a client's read and watch).
    pub fn expire_next_watches(&self, n: usize) {
        self.shared.expire_watches.store(n, Ordering::SeqCst);
    }

    /// The current store revision (what a list would report as its resourceVersion).
    pub fn revision(&self) -> u64 {
        lock(&self.shared.store).revision()
    }

    /// Writes a service-account directory (`token`, `ca.crt`, `namespace`) into `dir`, which
    /// must exist.
    ///
    /// # Errors
    /// When a file cannot be written.
    pub fn write_service_account_dir(
        &self,
        dir: &Path,
        token: &str,
        namespace: &str,
    ) -> anyhow::Result<()> {
        standalone::write_service_account_dir(dir, &self.ca_pem(), token, namespace)
    }

    /// Writes a kubeconfig for this server: the URL, the CA as `certificate-authority-data`,
    /// `token`, and a current context with `namespace`.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn write_kubeconfig(
        &self,
        path: &Path,
        token: &str,
        namespace: &str,
    ) -> anyhow::Result<()> {
        standalone::write_kubeconfig(path, &self.url(), &self.ca_pem(), token, namespace)
    }

    /// Stops serving: closes the ports (the proxy listener's too) and cuts the open
    /// connections, as a stopped apiserver does.
    pub async fn shutdown(self) {
        self.stop_accepting().await;
        self.stop_proxy_listener().await;
    }
}

/// Locks a mutex, ignoring poisoning (no handler panics while holding a lock, and the data
/// stays consistent because every mutation is one step).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
