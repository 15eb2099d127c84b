//! A plain-http listener on 127.0.0.1 that stands in for a `kubectl proxy` in front of the
//! emulator, for clients that cannot trust its CA (`wasmtime serve` trusts only public roots),
//! the way a pod reaches the apiserver through a `kubectl proxy` sidecar.
//!
//! It behaves as `kubectl proxy` with its default filter does: a request whose host (the
//! `Host` value without its port, split as Go's `net.SplitHostPort` splits it) is not exactly
//! `localhost`, `127.0.0.1` or `[::1]` gets 403 with the plain-text body `Forbidden`, and never
//! reaches the server. A request without an `Authorization` header is served as the proxy's
//! user; one with the header is passed on as it is (client-go's bearer-token transport leaves
//! a present header alone, so a bad token gets 401 through a real `kubectl proxy` too).
//! Everything else is the TLS endpoint's pipeline: same routes, Status bodies, watch streams,
//! request log and history.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use tokio::net::TcpListener;

use super::routes::{Front, accept_loop};
use super::{AcceptTask, ApiServer, Identity, lock};

/// A running proxy listener: its address and accept loop (which owns its connections).
pub(crate) struct ProxyListener {
    addr: SocketAddr,
    task: AcceptTask,
}

/// Whether `kubectl proxy`'s default `--accept-hosts` (`^localhost$,^127\.0\.0\.1$,^\[::1\]$`)
/// lets a request naming `host` (a `Host` header value) through.
pub(crate) fn accepts_host(host: &str) -> bool {
    matches!(without_port(host), "localhost" | "127.0.0.1" | "[::1]")
}

/// `host` without its port, as Go's `net.SplitHostPort` splits it (`[::1]:8001` → `::1`), or
/// all of it when that fails (no port, as in `localhost` or `[::1]`).
fn without_port(host: &str) -> &str {
    let split = match host.strip_prefix('[') {
        Some(bracketed) => bracketed.split_once("]:").map(|(h, _)| h),
        None => host
            .split_once(':')
            .filter(|(_, port)| !port.contains(':'))
            .map(|(h, _)| h),
    };
    split.unwrap_or(host)
}

impl ApiServer {
    /// Starts the proxy listener at an OS-chosen port on 127.0.0.1, acting as `user` (any
    /// namespace); returns its base URL, `http://127.0.0.1:<port>`.
    ///
    /// # Errors
    /// When one is already running or the port cannot be bound.
    pub async fn start_proxy_listener(&self, user: &str) -> anyhow::Result<String> {
        self.start_proxy_listener_at(user, 0).await
    }

    /// [`ApiServer::start_proxy_listener`] at `port` (0 = OS-chosen): e.g. the port of a proxy
    /// listener stopped before, to bring the "sidecar" back where clients expect it.
    ///
    /// # Errors
    /// When one is already running or the port cannot be bound.
    pub async fn start_proxy_listener_at(&self, user: &str, port: u16) -> anyhow::Result<String> {
        if let Some(url) = self.proxy_url() {
            bail!("a proxy listener is already running at {url}");
        }
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .with_context(|| format!("binding the proxy listener to 127.0.0.1:{port}"))?;
        let addr = listener.local_addr()?;
        let identity = Arc::new(Identity {
            user: user.to_owned(),
            namespaces: None,
        });
        let mut slot = lock(&self.proxy);
        if let Some(running) = slot.as_ref() {
            bail!(
                "a proxy listener is already running at http://{}",
                running.addr
            );
        }
        let front = Front::Proxy(identity);
        let task = tokio::spawn(accept_loop(listener, front, Arc::clone(&self.shared)));
        *slot = Some(ProxyListener {
            addr,
            task: AcceptTask(task),
        });
        Ok(format!("http://{addr}"))
    }

    /// The proxy listener's base URL, while one runs.
    pub fn proxy_url(&self) -> Option<String> {
        self.proxy_addr().map(|addr| format!("http://{addr}"))
    }

    /// The proxy listener's address, while one runs.
    pub fn proxy_addr(&self) -> Option<SocketAddr> {
        lock(&self.proxy).as_ref().map(|l| l.addr)
    }

    /// Stops the proxy listener, as when the sidecar dies: once this returns, its port refuses
    /// connections; its open connections (a watch, say) are cut. The TLS endpoint keeps
    /// serving. Nothing happens when none runs.
    pub async fn stop_proxy_listener(&self) {
        let running = lock(&self.proxy).take();
        if let Some(mut running) = running {
            running.task.0.abort();
            // Returns once the loop is dropped, and with it the listening socket.
            let _ = (&mut running.task.0).await;
        }
    }
}
