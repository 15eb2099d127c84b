//! The wasmtime 48 embedding of the kube-lease component.
//!
//! [`LeaseHost`] compiles the component once; [`LeaseHost::instantiate`] gives each
//! [`Sandbox`] a fresh, cheap [`Replica`] whose methods call the component's exports. The guest
//! sees only the environment variables and read-only directories of its sandbox, and its
//! outgoing HTTP goes only to the origins its sandbox lists (none: no network), HTTPS trusting
//! only the sandbox's CA, over connections pooled by hyper-util's client.
//!
//! [`ProxyHost`] does the same for a `wasi:http/proxy` component (the HTTP lock service): one
//! fresh instance per incoming request, and [`ProxyServer`] serves it over HTTP/1.1.

mod allocation;
mod bindings;
mod component;
mod connector;
mod errors;
mod hooks;
mod limits;
#[cfg(test)]
mod limits_tests;
mod locks;
mod meter;
mod network;
mod policy;
mod proxy;
#[cfg(test)]
mod sender_tests;
mod serve;
mod state;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
mod timed_body;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context as _;
use wasmtime::component::{Component, Linker, ResourceAny};
use wasmtime::{Engine, Store};

pub use allocation::{InstanceAllocation, PoolingConfig};
pub use bindings::exports::kube::lease::leases::Config;
use bindings::exports::kube::lease::leases::Guest as LeasesGuest;
pub use bindings::exports::kube::lease::locks::{
    Backoff, Election, ExpiryRule, Hold, LockerOptions, Role,
};
pub use bindings::exports::kube::lease::types::{
    ApiStatus, Entry, Error as LeaseError, Lease, LeaseList, LeaseSpec, MicroTime, Preconditions,
    StatusCause, StatusKind,
};
pub use bindings::{LeaseClient, LeaseClientPre};
pub use component::{KUBE_LEASE_COMPONENT, KUBE_LEASE_PROXY_COMPONENT};
pub(crate) use connector::Connector;
pub use connector::client_config_trusting;
pub use limits::{EPOCH_TICK, GuestLimitExceeded, GuestLimits};
pub use locks::{ElectorHandle, LockerHandle};
pub use network::DEFAULT_IDLE_TIMEOUT;
pub(crate) use network::pooled_client;
pub(crate) use policy::Policy;
pub use proxy::{LOCK_SERVICE_MAX_WAIT, ProxyHost};
pub use serve::{ProxyServer, ServeOptions};
pub use state::{HostState, SERVICE_ACCOUNT_GUEST_DIR};

/// What one component instance may see. `Debug` shows the environment's names only: a value
/// may be a secret (the lock service's front token).
#[derive(Clone, Default)]
pub struct Sandbox {
    /// Environment variables, e.g. `KUBERNETES_SERVICE_HOST` / `KUBERNETES_SERVICE_PORT`.
    pub env: Vec<(String, String)>,
    /// Host directory preopened read-only at [`SERVICE_ACCOUNT_GUEST_DIR`].
    pub service_account_dir: Option<PathBuf>,
    /// Other read-only preopens: (host directory, guest path).
    pub extra_dirs: Vec<(PathBuf, String)>,
    /// PEM of the only roots outgoing HTTPS trusts; `None` makes every HTTPS request fail.
    pub trusted_ca_pem: Option<Vec<u8>>,
    /// The origins outgoing requests may go to, each `http://host:port` or `https://host:port`
    /// (the scheme's default port when none is given); scheme, host and port must all match.
    /// Any other request is refused (`HttpRequestDenied`) before a connection is tried; empty
    /// (the default) means no network at all.
    pub allowed_origins: Vec<String>,
    /// Shifts this instance's wall clock by this many microseconds (negative: behind).
    pub wall_clock_offset_micros: i64,
    /// Opens a new connection for every request instead of reusing the host's pooled ones.
    pub fresh_connections: bool,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let env: Vec<String> = self.env.iter().map(|(k, _)| format!("{k}=…")).collect();
        f.debug_struct("Sandbox")
            .field("env", &env)
            .field("service_account_dir", &self.service_account_dir)
            .field("extra_dirs", &self.extra_dirs)
            .field(
                "trusted_ca_pem",
                &self.trusted_ca_pem.as_ref().map(Vec::len),
            )
            .field("allowed_origins", &self.allowed_origins)
            .field("wall_clock_offset_micros", &self.wall_clock_offset_micros)
            .field("fresh_connections", &self.fresh_connections)
            .finish()
    }
}

/// The compiled component, ready to instantiate many times.
pub struct LeaseHost {
    /// The engine the component was compiled for.
    engine: Engine,
    /// The component with all imports resolved.
    pre: LeaseClientPre<HostState>,
    /// Pooled HTTP clients by sandbox policy and CA, shared between instances.
    networks: network::Networks,
    /// How instances get their memory.
    allocation: InstanceAllocation,
    /// The memory cap and call deadline of every instance.
    limits: GuestLimits,
}

impl LeaseHost {
    /// Compiles the component at `component_path` and links it against WASI and `wasi:http`.
    ///
    /// # Errors
    ///
    /// When the file cannot be read or compiled, or its imports cannot be satisfied.
    pub fn new(component_path: &Path) -> anyhow::Result<Self> {
        Self::new_with(component_path, InstanceAllocation::OnDemand)
    }

    /// [`LeaseHost::new`] with instances allocated by `allocation` (e.g.
    /// [`InstanceAllocation::pooling`]: a fresh instance costs less, but at most
    /// [`PoolingConfig::max_instances`] live at once).
    ///
    /// # Errors
    ///
    /// As [`LeaseHost::new`], and when the pool cannot be reserved.
    pub fn new_with(component_path: &Path, allocation: InstanceAllocation) -> anyhow::Result<Self> {
        let (engine, component) = compile(component_path, allocation)?;
        Self::link(engine, &component, allocation)
    }

    /// [`LeaseHost::new`] with the component `build.rs` built ([`KUBE_LEASE_COMPONENT`]),
    /// compiled once per process: every host made this way shares the compiled code (tests
    /// make one host each, and compiling takes seconds in a debug build).
    ///
    /// # Errors
    ///
    /// As [`LeaseHost::new`].
    pub fn from_built() -> anyhow::Result<Self> {
        Self::from_built_with(InstanceAllocation::OnDemand)
    }

    /// [`LeaseHost::from_built`] with instances allocated by `allocation`, compiled once per
    /// process and allocation.
    ///
    /// # Errors
    ///
    /// As [`LeaseHost::new_with`].
    pub fn from_built_with(allocation: InstanceAllocation) -> anyhow::Result<Self> {
        static COMPILED: CompiledCache = Mutex::new(Vec::new());
        let path = Path::new(KUBE_LEASE_COMPONENT);
        let (engine, component) = compiled_once(&COMPILED, path, allocation)?;
        Self::link(engine, &component, allocation)
    }

    /// Links a compiled component against WASI and `wasi:http`.
    fn link(
        engine: Engine,
        component: &Component,
        allocation: InstanceAllocation,
    ) -> anyhow::Result<Self> {
        let pre = LeaseClientPre::new(linker(&engine)?.instantiate_pre(component)?)?;
        Ok(Self {
            engine,
            pre,
            networks: network::Networks::new(DEFAULT_IDLE_TIMEOUT),
            allocation,
            limits: allocation.bound(GuestLimits::default()),
        })
    }

    /// Gives instances made after this call `limits` (default [`GuestLimits::default`]: 128 MiB
    /// of linear memory, 120 s per call plus the call's own timeout). A guest past either is
    /// stopped: its call fails with a trap whose root cause is a [`GuestLimitExceeded`]. With
    /// a pool, a memory cap above [`PoolingConfig::max_memory_bytes`] is lowered to it.
    #[must_use]
    pub fn with_limits(mut self, limits: GuestLimits) -> Self {
        self.limits = self.allocation.bound(limits);
        self
    }

    /// How instances get their memory.
    pub fn allocation(&self) -> InstanceAllocation {
        self.allocation
    }

    /// The limits each new instance gets.
    pub fn limits(&self) -> GuestLimits {
        self.limits
    }

    /// Closes pooled connections once idle for `idle_timeout` (default
    /// [`DEFAULT_IDLE_TIMEOUT`]); applies to instances made after this call.
    #[must_use]
    pub fn with_idle_timeout(mut self, idle_timeout: Duration) -> Self {
        self.networks = network::Networks::new(idle_timeout);
        self
    }

    /// The engine the component was compiled with.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// A fresh instance seeing only what `sandbox` allows.
    ///
    /// # Errors
    ///
    /// When an allowed origin is malformed (the error names it), the CA PEM is unusable, a
    /// directory cannot be preopened, or instantiation traps.
    pub async fn instantiate(&self, sandbox: Sandbox) -> anyhow::Result<Replica> {
        let sender = self.networks.sender_for(&sandbox)?;
        let mut store = HostState::store(&self.engine, &sandbox, sender, self.limits)?;
        let bindings = self.pre.instantiate_async(&mut store).await?;
        Ok(Replica { store, bindings })
    }
}

/// A new engine (epoch interruption on, its ticker running, instances allocated by
/// `allocation`) with the component at `path` compiled for it.
fn compile(path: &Path, allocation: InstanceAllocation) -> anyhow::Result<(Engine, Component)> {
    let engine = new_engine(allocation)?;
    let component = Component::from_file(&engine, path)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("compiling {}", path.display()))?;
    Ok((engine, component))
}

/// An engine whose stores stop guests at their limits: epoch interruption on, and a thread
/// advancing its epoch every [`EPOCH_TICK`] for as long as the engine lives; its instances
/// allocated by `allocation`.
pub(crate) fn new_engine(allocation: InstanceAllocation) -> anyhow::Result<Engine> {
    let mut config = limits::engine_config();
    allocation.configure(&mut config);
    let engine = Engine::new(&config)?;
    limits::start_ticker(&engine)?;
    Ok(engine)
}

/// Components compiled once per process: an engine and the component for each allocation.
type CompiledCache = Mutex<Vec<(InstanceAllocation, Engine, Component)>>;

/// The component at `path` compiled once per process and allocation: the first call compiles
/// it into `cache`, later ones share the compiled code (compiling takes seconds in a debug
/// build).
fn compiled_once(
    cache: &CompiledCache,
    path: &Path,
    allocation: InstanceAllocation,
) -> anyhow::Result<(Engine, Component)> {
    let mut compiled = cache.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, engine, component)) = compiled.iter().find(|(a, ..)| *a == allocation) {
        return Ok((engine.clone(), component.clone()));
    }
    let (engine, component) = compile(path, allocation)?;
    compiled.push((allocation, engine.clone(), component.clone()));
    Ok((engine, component))
}

/// A linker providing WASI 0.2 and `wasi:http` (the outgoing side through [`HostState`]'s
/// hooks) to the guests of `engine`.
fn linker(engine: &Engine) -> anyhow::Result<Linker<HostState>> {
    let mut linker = Linker::<HostState>::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    Ok(linker)
}

/// A `lease-client` resource owned by one [`Replica`].
#[derive(Clone, Copy, Debug)]
pub struct ClientHandle(ResourceAny);

/// One component instance; its exports as plain async methods.
///
/// The outer `anyhow::Result` of each method is a trap; the inner `Result` is the component's
/// typed error.
pub struct Replica {
    /// The instance's store.
    store: Store<HostState>,
    /// The instance's exports.
    bindings: LeaseClient,
}

/// A call's result: the outer error is a trap, the inner one the component's answer.
pub type CallResult<T> = anyhow::Result<Result<T, LeaseError>>;

impl Replica {
    /// Starts the deadline of the call about to be made: the limits' `call_deadline` plus
    /// `own_timeout`, the call's own.
    fn arm(&mut self, own_timeout: Duration) {
        limits::arm(&mut self.store, own_timeout);
    }

    /// The `leases` exports and the store to call them with, the call's deadline started (as
    /// [`Replica::locks`] does for the lock exports), so no export call can miss it.
    fn leases(&mut self) -> (&LeasesGuest, &mut Store<HostState>) {
        self.arm(Duration::ZERO);
        (self.bindings.kube_lease_leases(), &mut self.store)
    }

    /// `in-cluster`: whether `KUBERNETES_SERVICE_HOST` is set.
    ///
    /// # Errors
    ///
    /// When the guest traps.
    pub async fn in_cluster(&mut self) -> anyhow::Result<bool> {
        let (leases, store) = self.leases();
        Ok(leases.call_in_cluster(store).await?)
    }

    /// `lease-name-for-domain`: `cert-lock-` and 16 hex digits of the domain's SHA-256.
    ///
    /// # Errors
    ///
    /// When the guest traps.
    pub async fn lease_name_for_domain(&mut self, domain: &str) -> anyhow::Result<String> {
        let (leases, store) = self.leases();
        Ok(leases.call_lease_name_for_domain(store, domain).await?)
    }

    /// `lease-client.in-cluster`: a client from the service account.
    ///
    /// # Errors
    ///
    /// When the guest traps.
    pub async fn client_in_cluster(&mut self) -> CallResult<ClientHandle> {
        let (leases, store) = self.leases();
        let result = leases.lease_client().call_in_cluster(store).await?;
        Ok(result.map(ClientHandle))
    }

    /// `lease-client.with-config`: a client from explicit configuration.
    ///
    /// # Errors
    ///
    /// When the guest traps.
    pub async fn client_with_config(&mut self, config: &Config) -> CallResult<ClientHandle> {
        let (leases, store) = self.leases();
        let result = leases
            .lease_client()
            .call_with_config(store, config)
            .await?;
        Ok(result.map(ClientHandle))
    }

    /// `lease-client.namespace`.
    ///
    /// # Errors
    ///
    /// When the guest traps.
    pub async fn namespace(&mut self, client: &ClientHandle) -> anyhow::Result<String> {
        let (leases, store) = self.leases();
        Ok(leases
            .lease_client()
            .call_namespace(store, client.0)
            .await?)
    }

    /// `lease-client.base-url`.
    ///
    /// # Errors
    ///
    /// When the guest traps.
    pub async fn base_url(&mut self, client: &ClientHandle) -> anyhow::Result<String> {
        let (leases, store) = self.leases();
        Ok(leases.lease_client().call_base_url(store, client.0).await?)
    }

    /// `lease-client.get`: the lease, or `None` when it does not exist.
    ///
    /// # Errors
    ///
    /// When the guest traps.
    pub async fn get(&mut self, client: &ClientHandle, name: &str) -> CallResult<Option<Lease>> {
        let (leases, store) = self.leases();
        Ok(leases
            .lease_client()
            .call_get(store, client.0, name)
            .await?)
    }

    /// `lease-client.create`: what the server stored.
    ///
    /// # Errors
    ///
    /// When the guest traps.
    pub async fn create(&mut self, client: &ClientHandle, lease: &Lease) -> CallResult<Lease> {
        let (leases, store) = self.leases();
        Ok(leases
            .lease_client()
            .call_create(store, client.0, lease)
            .await?)
    }

    /// `lease-client.update`: what the server stored.
    ///
    /// # Errors
    ///
    /// When the guest traps.
    pub async fn update(&mut self, client: &ClientHandle, lease: &Lease) -> CallResult<Lease> {
        let (leases, store) = self.leases();
        Ok(leases
            .lease_client()
            .call_update(store, client.0, lease)
            .await?)
    }

    /// `lease-client.delete`, only if `preconditions` hold.
    ///
    /// # Errors
    ///
    /// When the guest traps.
    pub async fn delete(
        &mut self,
        client: &ClientHandle,
        name: &str,
        preconditions: &Preconditions,
    ) -> CallResult<()> {
        let (leases, store) = self.leases();
        Ok(leases
            .lease_client()
            .call_delete(store, client.0, name, preconditions)
            .await?)
    }

    /// `lease-client.list`: every lease in the client's namespace.
    ///
    /// # Errors
    ///
    /// When the guest traps.
    pub async fn list(&mut self, client: &ClientHandle) -> CallResult<LeaseList> {
        let (leases, store) = self.leases();
        Ok(leases.lease_client().call_list(store, client.0).await?)
    }

    /// Drops the guest's `lease-client` resource.
    ///
    /// # Errors
    ///
    /// When the handle is not live in this instance or the destructor traps.
    pub async fn drop_client(&mut self, client: ClientHandle) -> anyhow::Result<()> {
        self.arm(Duration::ZERO);
        client.0.resource_drop_async(&mut self.store).await?;
        Ok(())
    }

    /// Everything the guest wrote to stdout and stderr (print it when a test fails).
    pub fn stderr(&self) -> String {
        self.store.data().output()
    }

    /// The instance's linear memory in bytes: what it grew to so far.
    pub fn memory_bytes(&self) -> usize {
        self.store.data().memory.bytes
    }
}
