//! The per-instance store data: the WASI context built from a [`Sandbox`], the `wasi:http`
//! context with its [`TlsSender`] hooks, and the captured guest output.

use std::time::{Duration, SystemTime};

use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{FsPerms, HostWallClock, WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::Sandbox;
use super::hooks::TlsSender;
use super::limits::{self, CallDeadline, GuestLimits};
use super::meter::MemoryMeter;

/// Where the guest finds the pod's service account files.
pub const SERVICE_ACCOUNT_GUEST_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// How much guest stdout + stderr is kept; writing more traps the guest.
const OUTPUT_CAPACITY: usize = 4 << 20;

/// The data of one component instance's store.
pub struct HostState {
    /// WASI context: env, preopens, stdio, clocks; no sockets.
    wasi: WasiCtx,
    /// `wasi:http` context.
    http: WasiHttpCtx,
    /// Resources shared by WASI and `wasi:http`.
    table: ResourceTable,
    /// Sends the guest's outgoing requests.
    sender: TlsSender,
    /// Guest stdout and stderr, interleaved.
    output: MemoryOutputPipe,
    /// The instance's linear memory, as it grew, and its cap.
    pub(crate) memory: MemoryMeter,
    /// The instance's memory cap and call deadline.
    pub(crate) limits: GuestLimits,
    /// The deadline of the running (or last) call.
    pub(crate) deadline: CallDeadline,
}

impl HostState {
    /// Builds the state for `sandbox`, whose outgoing requests `sender` sends, within `limits`.
    ///
    /// # Errors
    ///
    /// When a directory to preopen cannot be opened.
    fn new(sandbox: &Sandbox, sender: TlsSender, limits: GuestLimits) -> anyhow::Result<Self> {
        let output = MemoryOutputPipe::new(OUTPUT_CAPACITY);
        let mut builder = WasiCtx::builder();
        builder
            .stdout(output.clone())
            .stderr(output.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            // Reading the service account's three small files on the calling thread, rather
            // than through tokio's blocking pool, saves a thread hop per file call (a fresh
            // instance makes about a dozen while building its client).
            .allow_blocking_current_thread(true);
        for (key, value) in &sandbox.env {
            builder.env(key, value);
        }
        if let Some(dir) = &sandbox.service_account_dir {
            builder.preopened_dir(dir, SERVICE_ACCOUNT_GUEST_DIR, FsPerms::ReadOnly)?;
        }
        for (host, guest) in &sandbox.extra_dirs {
            builder.preopened_dir(host, guest, FsPerms::ReadOnly)?;
        }
        if sandbox.wall_clock_offset_micros != 0 {
            builder.wall_clock(SkewedWallClock {
                offset_micros: sandbox.wall_clock_offset_micros,
            });
        }
        Ok(Self {
            wasi: builder.build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            sender,
            output,
            memory: MemoryMeter::capped(limits.max_memory_bytes),
            limits,
            deadline: CallDeadline::starting_now(limits.call_deadline),
        })
    }

    /// A store for one instance of `engine`'s guests in `sandbox`, whose outgoing requests
    /// `sender` sends, with its linear memory metered and capped and every call stopped at
    /// its deadline (`engine` must have epoch interruption on, as [`super::compile`] makes
    /// it); the first deadline, for instantiation, starts now.
    ///
    /// # Errors
    ///
    /// When a directory to preopen cannot be opened.
    pub(crate) fn store(
        engine: &Engine,
        sandbox: &Sandbox,
        sender: TlsSender,
        limits: GuestLimits,
    ) -> anyhow::Result<Store<Self>> {
        let mut store = Store::new(engine, Self::new(sandbox, sender, limits)?);
        store.limiter(|state| &mut state.memory);
        limits::enforce_deadlines(&mut store);
        Ok(store)
    }

    /// Everything the guest wrote to stdout and stderr so far.
    pub(crate) fn output(&self) -> String {
        String::from_utf8_lossy(&self.output.contents()).into_owned()
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            hooks: &mut self.sender,
            table: &mut self.table,
            ctx: &mut self.http,
        }
    }
}

/// The host's wall clock shifted by a fixed offset (to test clock skew between replicas).
struct SkewedWallClock {
    /// Added to the host's time; negative runs behind.
    offset_micros: i64,
}

impl HostWallClock for SkewedWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_micros(1)
    }

    fn now(&self) -> Duration {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let offset = Duration::from_micros(self.offset_micros.unsigned_abs());
        if self.offset_micros >= 0 {
            now.saturating_add(offset)
        } else {
            now.saturating_sub(offset)
        }
    }
}
