//! An HTTP/1.1 server (hyper) in front of a [`ProxyHost`]: every request gets a fresh
//! instance of the `wasi:http/proxy` component, its response body streamed back.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use super::{GuestLimits, InstanceAllocation, ProxyHost, Sandbox};

/// How long a caller may take to send a request's headers (also ends idle keep-alives).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long to pause accepting after an accept error (e.g. out of file descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What [`ProxyServer::start`] serves, and where.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// The address to listen on (default `127.0.0.1:0`, a port the OS chooses).
    pub listen: SocketAddr,
    /// What every instance may see: environment, read-only directories, CA, origins.
    pub sandbox: Sandbox,
    /// The `wasi:http/proxy` component; `None`: the lock service `build.rs` built.
    pub component: Option<PathBuf>,
    /// Every instance's memory cap and request deadline (default
    /// [`ProxyHost::default_limits`]; see [`ProxyHost::with_limits`]).
    pub limits: GuestLimits,
    /// How instances get their memory (default [`InstanceAllocation::OnDemand`]; a pool makes
    /// each request's instance cheaper but bounds how many requests run at once).
    pub allocation: InstanceAllocation,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            sandbox: Sandbox::default(),
            component: None,
            limits: ProxyHost::default_limits(),
            allocation: InstanceAllocation::OnDemand,
        }
    }
}

/// A running server; dropping it (or [`ProxyServer::shutdown`]) stops it and closes its
/// connections.
pub struct ProxyServer {
    /// Where it listens.
    addr: SocketAddr,
    /// The compiled component.
    host: Arc<ProxyHost>,
    /// The accept loop, owning every connection's task.
    accept: JoinHandle<()>,
}

impl ProxyServer {
    /// Compiles the component, binds `options.listen` and serves in the background.
    ///
    /// # Errors
    ///
    /// When the component cannot be compiled or linked (see [`ProxyHost::new`]) or the
    /// address cannot be bound.
    pub async fn start(options: ServeOptions) -> anyhow::Result<Self> {
        let host = match &options.component {
            Some(path) => ProxyHost::new_with(path, options.sandbox, options.allocation)?,
            None => ProxyHost::from_built_with(options.sandbox, options.allocation)?,
        };
        let host = Arc::new(host.with_limits(options.limits));
        let listener = TcpListener::bind(options.listen)
            .await
            .with_context(|| format!("listening on {}", options.listen))?;
        let addr = listener.local_addr()?;
        let accept = tokio::spawn(accept_loop(listener, host.clone()));
        Ok(Self { addr, host, accept })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// How many component instances are alive (see [`ProxyHost::live_instances`]).
    pub fn live_instances(&self) -> usize {
        self.host.live_instances()
    }

    /// Stops accepting and closes every connection; instances already answering run on to
    /// their end unless their caller went away before the response head.
    pub async fn shutdown(mut self) {
        self.accept.abort();
        let _ = (&mut self.accept).await;
    }
}

impl Drop for ProxyServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Accepts connections until aborted; aborting it drops (closes) every connection.
async fn accept_loop(listener: TcpListener, host: Arc<ProxyHost>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(stream, host.clone()));
                }
                Err(e) => {
                    eprintln!("the lock service cannot accept a connection: {e}");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Serves one connection's requests, each from a fresh instance.
async fn serve_connection(stream: TcpStream, host: Arc<ProxyHost>) {
    let service = service_fn(move |request| {
        let host = host.clone();
        async move { Ok::<_, Infallible>(host.handle(request).await) }
    });
    // A caller hanging up or sending garbage is its own business; nothing to report.
    let _ = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service)
        .await;
}
