//! The one kernel state, and the kernel's entry points that borrow it.
//!
//! Everything the kernel knows lives in one `kernel_core::kernel::Kernel`,
//! in a static here, reached only through [`with`], which refuses re-entry:
//! the kernel runs with interrupts off on a single CPU, so a nested call can
//! only be a bug (a fault inside the kernel), and it panics instead of
//! aliasing the state.
//!
//! One part of it is written without a borrow: the current thread's saved
//! registers. The entry stubs save them into that thread's frame (the
//! per-CPU block points at it) before they call in here, and restore them
//! after the borrow has ended; while a borrow lives, no stub runs on this
//! CPU.
//!
//! The upcalls (`kernel_*`) are the entry points the architecture layer
//! declares and calls (`arch::x86_64::upcalls`): each handles one entry
//! through `kernel_core::events` and returns the frame to resume.

use crate::arch::{self, X86};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};
use kernel_core::events::{self, Event, Resume};
use kernel_core::kernel::Kernel;
use kernel_core::trapframe::TrapFrame;

struct KernelCell {
    busy: AtomicBool,
    kernel: UnsafeCell<Kernel<X86>>,
}

// SAFETY: the kernel runs on one CPU with interrupts off, and `with` hands
// out the state to one caller at a time.
unsafe impl Sync for KernelCell {}

static KERNEL: KernelCell = KernelCell {
    busy: AtomicBool::new(false),
    kernel: UnsafeCell::new(Kernel::new(X86)),
};

/// Runs `f` with exclusive access to the kernel state.
#[inline(always)]
pub fn with<R>(f: impl FnOnce(&mut Kernel<X86>) -> R) -> R {
    if KERNEL.busy.swap(true, Ordering::Acquire) {
        panic!("kernel state re-entered");
    }
    // SAFETY: `busy` was false, so no other reference to the state exists,
    // and it stays true until this one is gone.
    let result = f(unsafe { &mut *KERNEL.kernel.get() });
    KERNEL.busy.store(false, Ordering::Release);
    result
}

/// The frame the CPU resumes for `resume`; stops the machine when the run is
/// over.
#[inline(always)]
fn frame_of(k: &mut Kernel<X86>, resume: Resume) -> *mut TrapFrame {
    match resume {
        Resume::Thread(thread) => &raw mut k.thread_mut(thread).frame,
        Resume::Idle => arch::idle_frame(),
        Resume::Finished(status) => arch::exit(status),
    }
}

/// Starts the first thread; never returns.
pub fn run() -> ! {
    let frame = with(|k| {
        let resume = events::schedule(k);
        frame_of(k, resume)
    });
    // SAFETY: `schedule` made a thread current (or chose the idle loop); its
    // frame is complete and stays in place.
    unsafe { arch::resume(frame) }
}

/// Upcall: a syscall the quick path declined.
#[unsafe(no_mangle)]
extern "C" fn kernel_syscall() -> *mut TrapFrame {
    with(|k| {
        let resume = events::syscall(k);
        frame_of(k, resume)
    })
}

/// Upcall: an IPC syscall.
#[unsafe(no_mangle)]
extern "C" fn kernel_syscall_ipc() -> *mut TrapFrame {
    with(|k| {
        let resume = events::ipc(k);
        frame_of(k, resume)
    })
}

/// Upcall: an interrupt, `int 0x80` or an exception from ring 3.
#[unsafe(no_mangle)]
extern "C" fn kernel_event(event: Event) -> *mut TrapFrame {
    with(|k| {
        let resume = events::enter(k, event);
        frame_of(k, resume)
    })
}

/// Upcall: a timer tick or a device interrupt while the CPU idled.
#[unsafe(no_mangle)]
extern "C" fn kernel_idle_event(event: Event) -> *mut TrapFrame {
    with(|k| {
        let resume = events::idle_event(k, event);
        frame_of(k, resume)
    })
}

/// Upcall: an NMI, the host's request for every thread's state before it
/// stops a run that timed out. The NMI may have interrupted the kernel
/// itself; then the state is in use and only that is reported.
#[unsafe(no_mangle)]
extern "C" fn kernel_dump() -> ! {
    arch::force_unlock_log();
    if KERNEL.busy.swap(true, Ordering::Acquire) {
        kernel_core::error!("dump: the NMI arrived inside the kernel; no thread states");
    } else {
        // SAFETY: `busy` was false: nothing else refers to the state, and
        // nothing will (the machine stops below).
        events::dump(unsafe { &*KERNEL.kernel.get() });
    }
    arch::exit(abi::machine::EXIT_DUMPED)
}
