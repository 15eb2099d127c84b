//! A test cluster: the emulated apiserver, the compiled component, and service-account
//! directories for as many replicas as needed. The demo and the end-to-end tests share it.

use std::os::unix::fs::PermissionsExt as _;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;

use crate::apiserver::{ApiServer, Limits, Options};
use crate::host::{ClientHandle, LeaseHost, Replica, Sandbox};

/// An emulated apiserver plus a compiled component, with a scratch directory.
pub struct Cluster {
    /// The emulated kube-apiserver.
    pub api: ApiServer,
    /// The compiled component.
    pub host: Arc<LeaseHost>,
    /// The namespace replicas work in.
    pub namespace: String,
    dir: tempfile::TempDir,
}

/// A replica's credentials on the host side (`Debug` shows the token's length only).
#[derive(Clone)]
pub struct Account {
    /// The service-account directory (token, ca.crt, namespace).
    pub dir: PathBuf,
    /// The token the apiserver accepts for it.
    pub token: String,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("dir", &self.dir)
            .field("token", &format_args!("<{} bytes>", self.token.len()))
            .finish()
    }
}

impl Cluster {
    /// Starts an apiserver with `options` and compiles the component built by `build.rs`.
    ///
    /// # Errors
    /// When the server cannot start or the component cannot be compiled.
    pub async fn start(namespace: &str, options: Options) -> anyhow::Result<Self> {
        Cluster::start_with_limits(namespace, options, Limits::default()).await
    }

    /// [`Cluster::start`] with the emulator's history and request-log windows and timeouts of
    /// `limits`.
    ///
    /// # Errors
    /// When the server cannot start or the component cannot be compiled.
    pub async fn start_with_limits(
        namespace: &str,
        options: Options,
        limits: Limits,
    ) -> anyhow::Result<Self> {
        let api = ApiServer::start_with_limits(options, limits).await?;
        let host = Arc::new(LeaseHost::from_built()?);
        // It holds tokens: private to this user, whatever the umask.
        let dir = tempfile::Builder::new()
            .prefix("kube-lease-")
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir()?;
        Ok(Self {
            api,
            host,
            namespace: namespace.to_owned(),
            dir,
        })
    }

    /// A scratch path inside the cluster's directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A service account `name` with a fresh token the apiserver accepts, written out as a
    /// service-account directory.
    ///
    /// # Errors
    /// When the directory cannot be written.
    pub fn account(&self, name: &str) -> anyhow::Result<Account> {
        let token = format!("{name}.{}", uuid::Uuid::new_v4().simple());
        let user = format!("system:serviceaccount:{}:{name}", self.namespace);
        self.api.add_token(&token, &user, None);
        let dir = self.path(&format!("sa-{name}"));
        std::fs::create_dir_all(&dir)?;
        self.api
            .write_service_account_dir(&dir, &token, &self.namespace)
            .with_context(|| format!("writing {}", dir.display()))?;
        Ok(Account { dir, token })
    }

    /// What an in-cluster pod with `account` sees: the service-account mount, the
    /// `KUBERNETES_SERVICE_*` variables, TLS trusting only the cluster CA, and only the
    /// apiserver reachable.
    pub fn sandbox(&self, account: &Account) -> Sandbox {
        let addr = self.api.addr();
        Sandbox {
            env: vec![
                ("KUBERNETES_SERVICE_HOST".into(), addr.ip().to_string()),
                ("KUBERNETES_SERVICE_PORT".into(), addr.port().to_string()),
            ],
            service_account_dir: Some(account.dir.clone()),
            trusted_ca_pem: Some(self.api.ca_pem().into_bytes()),
            allowed_origins: vec![self.api.url()],
            ..Sandbox::default()
        }
    }

    /// A fresh component instance for `account` with an in-cluster client.
    ///
    /// # Errors
    /// When instantiation traps or the component cannot build its client.
    pub async fn replica(&self, account: &Account) -> anyhow::Result<(Replica, ClientHandle)> {
        self.replica_on(&self.host, account).await
    }

    /// [`Cluster::replica`] on `host` (e.g. one with another instance allocation).
    ///
    /// # Errors
    /// When instantiation traps or the component cannot build its client.
    pub async fn replica_on(
        &self,
        host: &LeaseHost,
        account: &Account,
    ) -> anyhow::Result<(Replica, ClientHandle)> {
        let mut replica = host.instantiate(self.sandbox(account)).await?;
        let client = replica
            .client_in_cluster()
            .await?
            .map_err(|e| anyhow::anyhow!("in-cluster client: {e:?}"))?;
        Ok((replica, client))
    }
}
