//! A `wasi:http/proxy` component (the kube-lease HTTP lock service) compiled once and run in
//! a fresh instance per incoming request, in the same sandbox as the kube-lease component:
//! what a host embedding wasmtime does instead of `wasmtime serve`.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use serde_json::json;
use tokio::sync::oneshot;
use tokio::task::AbortHandle;
use wasmtime::Engine;
use wasmtime::component::Component;
use wasmtime_wasi_http::WasiHttpView as _;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

use super::hooks::TlsSender;
use super::limits::{GuestLimitExceeded, GuestLimits};
use super::network::Networks;
use super::state::HostState;
use super::{
    CompiledCache, DEFAULT_IDLE_TIMEOUT, InstanceAllocation, KUBE_LEASE_PROXY_COMPONENT, Sandbox,
    compile, compiled_once,
};

/// The response every request gets: the guest's, or the host's JSON error.
pub type ProxyResponse = hyper::Response<HyperOutgoingBody>;

/// The longest a request to the lock service may legitimately wait (its `waitSeconds` cap),
/// added to [`GuestLimits::DEFAULT_CALL_DEADLINE`] in [`ProxyHost::default_limits`].
pub const LOCK_SERVICE_MAX_WAIT: Duration = Duration::from_secs(300);

/// A compiled `wasi:http/proxy` component and the sandbox each of its instances gets.
pub struct ProxyHost {
    /// The engine the component was compiled for.
    engine: Engine,
    /// The component with all imports resolved.
    pre: ProxyPre<HostState>,
    /// What every instance may see.
    sandbox: Sandbox,
    /// The sandbox's outgoing HTTP, its pooled connections shared by every instance.
    sender: TlsSender,
    /// Instances alive now.
    live: Arc<AtomicUsize>,
    /// How instances get their memory.
    allocation: InstanceAllocation,
    /// The memory cap and call deadline of every instance.
    limits: GuestLimits,
}

impl ProxyHost {
    /// Compiles the `wasi:http/proxy` component at `path`; its instances will see `sandbox`.
    ///
    /// # Errors
    ///
    /// When the file cannot be read or compiled, it does not export
    /// `wasi:http/incoming-handler`, its imports cannot be satisfied, or the sandbox's origins
    /// or CA are unusable.
    pub fn new(path: &Path, sandbox: Sandbox) -> anyhow::Result<Self> {
        Self::new_with(path, sandbox, InstanceAllocation::OnDemand)
    }

    /// [`ProxyHost::new`] with instances allocated by `allocation`.
    ///
    /// # Errors
    ///
    /// As [`ProxyHost::new`], and when the pool cannot be reserved.
    pub fn new_with(
        path: &Path,
        sandbox: Sandbox,
        allocation: InstanceAllocation,
    ) -> anyhow::Result<Self> {
        let (engine, component) = compile(path, allocation)?;
        Self::link(engine, &component, sandbox, allocation)
    }

    /// [`ProxyHost::new`] with the HTTP lock service `build.rs` built
    /// ([`KUBE_LEASE_PROXY_COMPONENT`]), compiled once per process.
    ///
    /// # Errors
    ///
    /// As [`ProxyHost::new`].
    pub fn from_built(sandbox: Sandbox) -> anyhow::Result<Self> {
        Self::from_built_with(sandbox, InstanceAllocation::OnDemand)
    }

    /// [`ProxyHost::from_built`] with instances allocated by `allocation`, compiled once per
    /// process and allocation.
    ///
    /// # Errors
    ///
    /// As [`ProxyHost::new_with`].
    pub fn from_built_with(
        sandbox: Sandbox,
        allocation: InstanceAllocation,
    ) -> anyhow::Result<Self> {
        static COMPILED: CompiledCache = Mutex::new(Vec::new());
        let path = Path::new(KUBE_LEASE_PROXY_COMPONENT);
        let (engine, component) = compiled_once(&COMPILED, path, allocation)?;
        Self::link(engine, &component, sandbox, allocation)
    }

    /// Links a compiled component and prepares the sandbox's sender.
    fn link(
        engine: Engine,
        component: &Component,
        sandbox: Sandbox,
        allocation: InstanceAllocation,
    ) -> anyhow::Result<Self> {
        let pre = ProxyPre::new(super::linker(&engine)?.instantiate_pre(component)?)?;
        let sender = Networks::new(DEFAULT_IDLE_TIMEOUT).sender_for(&sandbox)?;
        Ok(Self {
            engine,
            pre,
            sandbox,
            sender,
            live: Arc::default(),
            allocation,
            limits: allocation.bound(Self::default_limits()),
        })
    }

    /// The limits instances get unless [`ProxyHost::with_limits`] says otherwise: 128 MiB, and
    /// a deadline per request of [`GuestLimits::DEFAULT_CALL_DEADLINE`] plus
    /// [`LOCK_SERVICE_MAX_WAIT`] (7 minutes).
    pub fn default_limits() -> GuestLimits {
        GuestLimits {
            call_deadline: GuestLimits::DEFAULT_CALL_DEADLINE + LOCK_SERVICE_MAX_WAIT,
            ..GuestLimits::default()
        }
    }

    /// Gives every instance `limits` (default [`ProxyHost::default_limits`]); `call_deadline`
    /// bounds a whole request (instantiation, then `handle`). A guest past either limit is
    /// stopped and its request answered 500 `{"error": "limit", "message": …}`. With a pool, a
    /// memory cap above [`super::PoolingConfig::max_memory_bytes`] is lowered to it.
    #[must_use]
    pub fn with_limits(mut self, limits: GuestLimits) -> Self {
        self.limits = self.allocation.bound(limits);
        self
    }

    /// How many instances are alive (handling a request, or finishing after answering).
    pub fn live_instances(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }

    /// Answers `request` from a fresh instance, dropped when its `handle` returns (or when the
    /// caller goes away before the response head). A trap answers 500 `{"error": "trap",
    /// "message": …}` (logged with the guest's output), a guest stopped at its memory cap or
    /// deadline 500 `limit`; a failure to set up the instance 500 `host`, an error code the
    /// guest answers instead of a response 500 `internal`.
    pub async fn handle(&self, request: hyper::Request<Incoming>) -> ProxyResponse {
        let store = HostState::store(
            &self.engine,
            &self.sandbox,
            self.sender.clone(),
            self.limits,
        );
        let mut store = match store {
            Ok(store) => store,
            Err(e) => return failed("host", &format!("cannot set up the instance: {e:#}")),
        };
        let (sender, receiver) = oneshot::channel();
        let mut http = store.data_mut().http();
        let params = http
            .new_incoming_request(Scheme::Http, request)
            .and_then(|req| Ok((req, http.new_response_outparam(sender)?)));
        let (req, out) = match params {
            Ok(params) => params,
            Err(e) => return error_response(400, "bad-request", &format!("{e:#}")),
        };
        let pre = self.pre.clone();
        let live = Live::enter(&self.live);
        let task = tokio::spawn(async move {
            let result = async {
                let proxy = pre.instantiate_async(&mut store).await?;
                proxy
                    .wasi_http_incoming_handler()
                    .call_handle(&mut store, req, out)
                    .await
            }
            .await;
            let output = store.data().output();
            drop(store);
            drop(live);
            (result, output)
        });
        // A caller that goes away before the head (e.g. while a lock waits) ends the instance.
        let abort = AbortOnDrop(Some(task.abort_handle()));
        let answered = receiver.await;
        abort.disarm();
        match answered {
            Ok(Ok(response)) => response,
            Ok(Err(code)) => failed("internal", &format!("the component answered {code:?}")),
            Err(_) => match task.await {
                Ok((Err(e), output)) if e.downcast_ref::<GuestLimitExceeded>().is_some() => {
                    eprintln!("the lock service was stopped: {e:?}\n{output}");
                    failed(
                        "limit",
                        &format!("the component was stopped: {}", e.root_cause()),
                    )
                }
                Ok((Err(e), output)) => {
                    eprintln!("the lock service trapped: {e:?}\n{output}");
                    failed(
                        "trap",
                        &format!("the component trapped: {}", e.root_cause()),
                    )
                }
                Ok((Ok(()), _)) => failed("trap", "the component returned without answering"),
                Err(e) => failed("host", &format!("the instance's task failed: {e}")),
            },
        }
    }
}

/// 500 with a host-side `kind` and `message`.
fn failed(kind: &str, message: &str) -> ProxyResponse {
    error_response(500, kind, message)
}

/// `{"error": kind, "message": message}` with `status`, as the lock service shapes its errors.
fn error_response(status: u16, kind: &str, message: &str) -> ProxyResponse {
    let body = json!({ "error": kind, "message": message }).to_string();
    let mut response = hyper::Response::new(
        Full::new(Bytes::from(body))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

/// Counts one live instance until dropped.
struct Live(Arc<AtomicUsize>);

impl Live {
    /// One more live instance in `count`.
    fn enter(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(count.clone())
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Aborts a task when dropped, unless disarmed first.
struct AbortOnDrop(Option<AbortHandle>);

impl AbortOnDrop {
    /// Lets the task run on.
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}
