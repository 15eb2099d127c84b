//! What std would provide the component, and nothing more: the allocator, `cabi_realloc` for
//! the canonical ABI, wasi-libc's `mem*` functions, and a panic handler that traps. Without std
//! the component is about 20 KB smaller (no std runtime, no panic printing, no stdio imports).
#![allow(unsafe_code)]

use core::alloc::Layout;

/// std's own allocator on wasm.
#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

// memcpy, memcmp and friends come from wasi-libc, as they would with std.
#[link(name = "c")]
unsafe extern "C" {}

/// A panic can only trap in a wasm instance; the host reports the trap.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

/// The canonical ABI's allocator entry point (std exports the same on wasm32-wasip2): the host
/// calls it to place arguments and strings in the instance's memory.
///
/// # Safety
/// Called by the host per the component model: `old_ptr`/`old_len`/`align` describe an
/// allocation this function returned (or `old_len` is 0), and `align` is a power of two.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cabi_realloc(
    old_ptr: *mut u8,
    old_len: usize,
    align: usize,
    new_len: usize,
) -> *mut u8 {
    let ptr = if old_len == 0 {
        if new_len == 0 {
            return align as *mut u8;
        }
        // SAFETY: the component model passes a power-of-two alignment and a non-zero size.
        unsafe { alloc::alloc::alloc(Layout::from_size_align_unchecked(new_len, align)) }
    } else {
        // SAFETY: `old_ptr` was allocated here with this size and alignment.
        unsafe {
            alloc::alloc::realloc(
                old_ptr,
                Layout::from_size_align_unchecked(old_len, align),
                new_len,
            )
        }
    };
    if ptr.is_null() {
        core::arch::wasm32::unreachable();
    }
    ptr
}
