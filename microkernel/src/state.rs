//! The kernel's global state, in one place behind one accessor.
//!
//! Everything the kernel knows lives in [`Kernel`], reached only through
//! [`with`], which refuses re-entry: the kernel runs with interrupts off on a
//! single CPU, so a nested call can only be a bug (a fault inside the
//! kernel), and it panics instead of aliasing the state.

use crate::frames::FrameAllocator;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};

/// Words of the frame bitmap: enough for the 4 GiB the direct map covers.
pub const FRAME_WORDS: usize = (4 << 30) / 4096 / 64;

/// All kernel state.
pub struct Kernel {
    pub frames: FrameAllocator<FRAME_WORDS>,
}

impl Kernel {
    const fn new() -> Kernel {
        Kernel { frames: FrameAllocator::new() }
    }
}

struct KernelCell {
    busy: AtomicBool,
    kernel: UnsafeCell<Kernel>,
}

// SAFETY: the kernel runs on one CPU with interrupts off, and `with` hands out
// the state to one caller at a time.
unsafe impl Sync for KernelCell {}

static KERNEL: KernelCell = KernelCell { busy: AtomicBool::new(false), kernel: UnsafeCell::new(Kernel::new()) };

/// Runs `f` with exclusive access to the kernel state.
pub fn with<R>(f: impl FnOnce(&mut Kernel) -> R) -> R {
    if KERNEL.busy.swap(true, Ordering::Acquire) {
        panic!("kernel state re-entered");
    }
    // SAFETY: `busy` was false, so no other reference to the state exists,
    // and it stays true until this one is gone.
    let result = f(unsafe { &mut *KERNEL.kernel.get() });
    KERNEL.busy.store(false, Ordering::Release);
    result
}
