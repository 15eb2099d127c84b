//! How much linear memory an instance holds, capped: a `ResourceLimiter` that keeps the total
//! (for the benchmark's memory per idle instance) and traps a growth past the cap with
//! [`GuestLimitExceeded::Memory`].

use wasmtime::ResourceLimiter;

use super::limits::GuestLimitExceeded;

/// The linear memory of one store's instances, in bytes, and its cap.
#[derive(Debug)]
pub(crate) struct MemoryMeter {
    /// The sum of the current sizes of every linear memory in the store.
    pub(crate) bytes: usize,
    /// The most `bytes` may grow to.
    cap: usize,
}

impl MemoryMeter {
    /// A meter allowing up to `cap` bytes in all.
    pub(crate) fn capped(cap: usize) -> Self {
        Self { bytes: 0, cap }
    }
}

impl ResourceLimiter for MemoryMeter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self.bytes.saturating_sub(current).saturating_add(desired);
        if total > self.cap {
            return Err(GuestLimitExceeded::Memory {
                cap: self.cap,
                desired: total,
            }
            .into());
        }
        self.bytes = total;
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
        let mut meter = MemoryMeter::capped(usize::MAX);
        assert!(meter.memory_growing(0, 1 << 16, None).unwrap());
        assert!(meter.memory_growing(0, 2 << 16, None).unwrap());
        assert!(meter.memory_growing(1 << 16, 3 << 16, None).unwrap());
        assert_eq!(meter.bytes, 5 << 16);
    }

    #[test]
    fn a_growth_past_the_cap_is_refused_with_the_cap_and_the_total() {
        let mut meter = MemoryMeter::capped(4 << 16);
        assert!(meter.memory_growing(0, 3 << 16, None).unwrap());
        let e = meter.memory_growing(3 << 16, 5 << 16, None).unwrap_err();
        let exceeded = e.downcast_ref::<GuestLimitExceeded>().unwrap();
        assert_eq!(
            exceeded,
            &GuestLimitExceeded::Memory {
                cap: 4 << 16,
                desired: 5 << 16
            }
        );
        assert_eq!(
            e.to_string(),
            "guest exceeded memory cap 262144 bytes (it asked for 327680 bytes)"
        );
        assert_eq!(meter.bytes, 3 << 16, "a refused growth is not counted");
    }
}
