//! The server's own faults: a restart on the same port with the same CA (keeping its store or
//! losing it) and a certificate rotation.
//!
//! A restart that loses the store keeps the revision counter going and marks everything before
//! it compacted, as `etcdutl snapshot restore --bump-revision --mark-compacted` does (what the
//! Kubernetes docs ask for when restoring etcd): resourceVersions never go back, so a
//! client's stale resourceVersion can never match a new object by accident, every watch from
//! before the loss gets `410 Expired`, and the write history ([`ApiServer::history`], a test
//! record rather than server state) stays one unambiguous sequence.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;

use super::{AcceptTask, ApiServer, lock, routes};

/// How long a restart keeps trying to bind its old port.
const REBIND_FOR: Duration = Duration::from_secs(5);

impl ApiServer {
    /// Restarts the server on the same port with the same CA: the port closes, every open
    /// connection (a watch, a request in flight) is cut, and new connections are served again
    /// once this returns. With `keep_store` false the leases are lost (see the module
    /// documentation for the revision). Fault rules, tokens and the logs are kept.
    ///
    /// # Errors
    /// When the port cannot be bound again.
    pub async fn restart(&self, keep_store: bool) -> anyhow::Result<()> {
        self.stop_accepting().await;
        if !keep_store {
            lock(&self.shared.store).lose_objects();
        }
        let listener = bind_again(self.addr).await?;
        let front = routes::Front::Tls(Arc::clone(&self.tls));
        let task = tokio::spawn(routes::accept_loop(
            listener,
            front,
            Arc::clone(&self.shared),
        ));
        *lock(&self.accept) = Some(AcceptTask(task));
        let kind = if keep_store {
            "restart-keep-store"
        } else {
            "restart-lose-store"
        };
        lock(&self.shared.faults).count(kind);
        Ok(())
    }

    /// Serves a new certificate to new connections (open ones keep theirs): signed by the same
    /// CA, or with `new_ca` by a newly minted CA, which [`ApiServer::ca_pem`] then returns;
    /// clients that trust only the old CA fail the TLS handshake.
    ///
    /// # Errors
    /// When the certificates cannot be made.
    pub fn rotate_certificate(&self, new_ca: bool) -> anyhow::Result<()> {
        self.tls.rotate(new_ca)?;
        let kind = if new_ca {
            "rotate-ca"
        } else {
            "rotate-certificate"
        };
        lock(&self.shared.faults).count(kind);
        Ok(())
    }

    /// Stops the HTTPS accept loop and waits until its port and connections are closed.
    pub(crate) async fn stop_accepting(&self) {
        let running = lock(&self.accept).take();
        if let Some(mut running) = running {
            running.0.abort();
            let _ = (&mut running.0).await;
        }
    }
}

/// Binds `addr` again, retrying while the old socket lingers.
async fn bind_again(addr: std::net::SocketAddr) -> anyhow::Result<TcpListener> {
    let deadline = tokio::time::Instant::now() + REBIND_FOR;
    loop {
        match TcpListener::bind(addr).await {
            Ok(listener) => return Ok(listener),
            Err(e) if tokio::time::Instant::now() >= deadline => {
                return Err(e).with_context(|| format!("binding {addr} again after a restart"));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}
