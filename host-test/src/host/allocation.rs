//! How a host's engine allocates its instances' linear memories, tables and async stacks:
//! mapped for each instance and unmapped when its store drops (wasmtime's default), or taken
//! from a pool reserved once per engine and reset for the next instance (wasmtime's pooling
//! allocator), which makes a fresh instance cheaper.

use wasmtime::{
    Config as EngineConfig, Enabled, InstanceAllocationStrategy, PoolingAllocationConfig,
};

use super::limits::GuestLimits;

/// How instances get their memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum InstanceAllocation {
    /// Map each instance's memory, tables and stack when it is made and unmap them when its
    /// store drops: no limit on how many live at once, nothing kept between instances.
    #[default]
    OnDemand,
    /// Take them from a pool reserved when the engine is made: see [`PoolingConfig`].
    Pooling(PoolingConfig),
}

/// The pooling allocator's sizes. A pool slot holds one instance's linear memory, its tables
/// and its async stack; a dropped instance's slot is reset (its first
/// [`PoolingConfig::keep_resident_bytes`] of memory written back, the rest given back to the
/// kernel) and reused by the next instance of the same component without mapping anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PoolingConfig {
    /// How many instances may be alive at once (default 1,000). One more fails to instantiate
    /// ("maximum concurrent limit … reached"). The engine reserves about 4 GiB of address
    /// space (not memory) per instance up front.
    pub max_instances: u32,
    /// The most linear memory one instance's slot holds (default
    /// [`GuestLimits::DEFAULT_MAX_MEMORY_BYTES`], 128 MiB). It bounds the memory cap: a
    /// [`GuestLimits::max_memory_bytes`] above it is lowered to it.
    pub max_memory_bytes: usize,
    /// How much of a slot's linear memory, and of its tables, is reset by writing it back
    /// rather than released to the kernel when an instance drops (default 1 MiB): the next
    /// instance then finds those pages resident. Only the pages an instance touched are
    /// written back, found with Linux's `PAGEMAP_SCAN` where the kernel has it (6.7 on).
    pub keep_resident_bytes: usize,
}

impl PoolingConfig {
    /// The most instances alive at once by default.
    pub const DEFAULT_MAX_INSTANCES: u32 = 1_000;
    /// What is kept resident per slot by default.
    pub const DEFAULT_KEEP_RESIDENT_BYTES: usize = 1 << 20;
    /// Core module instances one component instance may hold (a Rust component has three:
    /// its code, and the shim and fix-up modules `wit-component` adds).
    const CORE_INSTANCES_PER_COMPONENT: u32 = 4;
    /// Tables one component instance may hold (a Rust component has two).
    const TABLES_PER_COMPONENT: u32 = 4;
}

impl Default for PoolingConfig {
    fn default() -> Self {
        Self {
            max_instances: Self::DEFAULT_MAX_INSTANCES,
            max_memory_bytes: GuestLimits::DEFAULT_MAX_MEMORY_BYTES,
            keep_resident_bytes: Self::DEFAULT_KEEP_RESIDENT_BYTES,
        }
    }
}

impl InstanceAllocation {
    /// The pool's default sizes.
    pub fn pooling() -> Self {
        Self::Pooling(PoolingConfig::default())
    }

    /// Sets `config`'s allocation strategy to this one.
    pub(crate) fn configure(&self, config: &mut EngineConfig) {
        let Self::Pooling(pooling) = self else {
            config.allocation_strategy(InstanceAllocationStrategy::OnDemand);
            return;
        };
        let n = pooling.max_instances;
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(n)
            .total_core_instances(n.saturating_mul(PoolingConfig::CORE_INSTANCES_PER_COMPONENT))
            .total_memories(n)
            .total_tables(n.saturating_mul(PoolingConfig::TABLES_PER_COMPONENT))
            .total_stacks(n)
            .max_memory_size(pooling.max_memory_bytes)
            .linear_memory_keep_resident(pooling.keep_resident_bytes)
            .table_keep_resident(pooling.keep_resident_bytes)
            .pagemap_scan(Enabled::Auto);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }

    /// `limits` as this allocation enforces them: with a pool, a memory cap above a slot is
    /// lowered to the slot, so a guest growing past it still traps with the cap it met.
    pub(crate) fn bound(&self, limits: GuestLimits) -> GuestLimits {
        match self {
            Self::OnDemand => limits,
            Self::Pooling(pooling) => GuestLimits {
                max_memory_bytes: limits.max_memory_bytes.min(pooling.max_memory_bytes),
                ..limits
            },
        }
    }
}
