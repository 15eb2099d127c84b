//! How much linear memory an instance holds: a `ResourceLimiter` that allows every growth and
//! keeps the total, for the benchmark's memory per idle instance.

use wasmtime::ResourceLimiter;

/// The linear memory of one store's instances, in bytes.
#[derive(Debug, Default)]
pub(crate) struct MemoryMeter {
    /// The sum of the current sizes of every linear memory in the store.
    pub(crate) bytes: usize,
}

impl ResourceLimiter for MemoryMeter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.bytes = self.bytes.saturating_sub(current).saturating_add(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        _desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growths_add_up_per_memory() {
        let mut meter = MemoryMeter::default();
        assert!(meter.memory_growing(0, 1 << 16, None).unwrap());
        assert!(meter.memory_growing(0, 2 << 16, None).unwrap());
        assert!(meter.memory_growing(1 << 16, 3 << 16, None).unwrap());
        assert_eq!(meter.bytes, 5 << 16);
    }
}
