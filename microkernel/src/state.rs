//! The one kernel state, and the kernel's entry points that borrow it.
//!
//! Everything the kernel knows lives in one `kernel_core::kernel::Kernel`,
//! in a static here, reached only through [`with`]: the big kernel lock.
//! Every CPU enters the kernel with interrupts off and takes the lock for
//! the whole entry; the kernel never waits inside it (a wait is a blocked
//! thread, not a blocked CPU), so an entry ends in bounded time and the
//! lock is the only one the kernel state has: no lock order, no deadlock.
//! A CPU waiting for the lock serves TLB shootdowns meanwhile (the holder
//! may be waiting for it to flush, and its interrupts are off). Taking the
//! lock again on the same CPU can only be a bug (a fault inside the
//! kernel): it panics instead of aliasing the state.
//!
//! One part of it is written without the lock: each CPU's current thread's
//! saved registers. The entry stubs save them into that thread's frame
//! (the per-CPU block points at it) before they call in here, and restore
//! them after the lock is released; a thread is current on one CPU at a
//! time, and the kernel writes a running thread's frame only on its own
//! CPU.
//!
//! The upcalls (`kernel_*`) are the entry points the architecture layer
//! declares and calls (`arch::x86_64::upcalls`): each handles one entry
//! through `kernel_core::events` and returns the frame to resume.

use crate::arch::{self, X86};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use kernel_core::events::{self, Event, Resume};
use kernel_core::kernel::Kernel;
use kernel_core::trapframe::TrapFrame;

struct KernelCell {
    /// A ticket lock: the next ticket to hand out, and the one served.
    next: AtomicU32,
    serving: AtomicU32,
    /// The CPU holding the lock, `usize::MAX` if none.
    owner: AtomicUsize,
    kernel: UnsafeCell<Kernel<X86>>,
}

// SAFETY: `with` hands the state to one CPU at a time, under the lock.
unsafe impl Sync for KernelCell {}

static KERNEL: KernelCell = KernelCell {
    next: AtomicU32::new(0),
    serving: AtomicU32::new(0),
    owner: AtomicUsize::new(usize::MAX),
    kernel: UnsafeCell::new(Kernel::new(X86)),
};

/// Runs `f` with exclusive access to the kernel state: takes the big
/// kernel lock (CPUs are served in the order they asked), and serves TLB
/// shootdowns while it waits.
#[inline(always)]
pub fn with<R>(f: impl FnOnce(&mut Kernel<X86>) -> R) -> R {
    let cpu = arch::cpu_id();
    if KERNEL.owner.load(Ordering::Relaxed) == cpu {
        panic!("kernel state re-entered");
    }
    locked(cpu, f)
}

/// [`with`] for the `syscall` entries, without the re-entry check: a
/// `syscall` comes from ring 3 only (the kernel runs with interrupts off and
/// never executes one), so this CPU was outside the kernel and cannot hold
/// the lock. It still records the owner, so that any other entry on this CPU
/// while it holds the lock panics as in [`with`].
#[inline(always)]
fn with_from_syscall<R>(f: impl FnOnce(&mut Kernel<X86>) -> R) -> R {
    locked(arch::cpu_id(), f)
}

/// Takes the lock for `cpu`, runs `f`, releases it.
#[inline(always)]
fn locked<R>(cpu: usize, f: impl FnOnce(&mut Kernel<X86>) -> R) -> R {
    let ticket = KERNEL.next.fetch_add(1, Ordering::Relaxed);
    if KERNEL.serving.load(Ordering::Acquire) != ticket {
        wait_for(ticket);
    }
    KERNEL.owner.store(cpu, Ordering::Relaxed);
    // SAFETY: this CPU holds the lock: no other reference to the state
    // exists until it is released below.
    let result = f(unsafe { &mut *KERNEL.kernel.get() });
    KERNEL.owner.store(usize::MAX, Ordering::Relaxed);
    KERNEL.serving.fetch_add(1, Ordering::Release);
    result
}

/// Waits until `ticket` is served, serving TLB shootdowns meanwhile (out of
/// line: an uncontended entry does not pay for the loop).
#[cold]
#[inline(never)]
fn wait_for(ticket: u32) {
    while KERNEL.serving.load(Ordering::Acquire) != ticket {
        arch::serve_shootdown();
        core::hint::spin_loop();
    }
}

/// Takes the lock if it is free, for the NMI dump (which may interrupt a
/// holder, on this CPU or another).
fn try_lock() -> bool {
    let serving = KERNEL.serving.load(Ordering::Acquire);
    KERNEL
        .next
        .compare_exchange(serving, serving.wrapping_add(1), Ordering::Acquire, Ordering::Relaxed)
        .is_ok()
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

/// Starts the first thread on the boot CPU and lets the others schedule;
/// never returns.
pub fn run() -> ! {
    arch::release_other_cpus();
    let frame = with(|k| {
        events::entered(k);
        let resume = events::schedule(k);
        frame_of(k, resume)
    });
    // SAFETY: `schedule` made a thread current (or chose the idle loop); its
    // frame is complete and stays in place.
    unsafe { arch::resume(frame) }
}

/// Upcall: another CPU is up; it schedules like the boot CPU.
#[unsafe(no_mangle)]
extern "Rust" fn kernel_ap_main(cpu: usize) -> ! {
    let frame = with(|k| {
        events::entered(k);
        k.sched.bring_online(cpu);
        let resume = events::schedule(k);
        frame_of(k, resume)
    });
    // SAFETY: as in `run`.
    unsafe { arch::resume(frame) }
}

/// Upcall: a syscall the quick path declined.
#[unsafe(no_mangle)]
extern "C" fn kernel_syscall() -> *mut TrapFrame {
    with_from_syscall(|k| {
        let resume = events::syscall(k);
        frame_of(k, resume)
    })
}

/// Upcall: a `write`.
#[unsafe(no_mangle)]
extern "C" fn kernel_syscall_write() -> *mut TrapFrame {
    with_from_syscall(|k| {
        let resume = events::write(k);
        frame_of(k, resume)
    })
}

/// Upcall: an IPC syscall of a register-only message (the entry stub looked
/// at its MsgInfo).
#[unsafe(no_mangle)]
extern "C" fn kernel_syscall_ipc() -> *mut TrapFrame {
    with_from_syscall(|k| {
        let resume = events::ipc_shaped::<_, false>(k);
        frame_of(k, resume)
    })
}

/// Upcall: an IPC syscall of any other message.
#[unsafe(no_mangle)]
extern "C" fn kernel_syscall_ipc_bytes() -> *mut TrapFrame {
    with_from_syscall(|k| {
        let resume = events::ipc_shaped::<_, true>(k);
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

/// Upcall: the current thread's frame may not be resumed in ring 3.
#[unsafe(no_mangle)]
extern "C" fn kernel_bad_frame() -> *mut TrapFrame {
    with(|k| {
        events::entered(k);
        let resume = events::bad_frame(k);
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

/// Upcall: a kick while the CPU idled (its own upcall: the event is known).
#[unsafe(no_mangle)]
extern "C" fn kernel_idle_kick() -> *mut TrapFrame {
    with(|k| {
        let resume = events::idle_kick(k);
        frame_of(k, resume)
    })
}

/// Upcall: an NMI, the host's request for every thread's state before it
/// stops a run that timed out. The NMI may have interrupted the kernel
/// itself; then the state is in use and only that is reported.
#[unsafe(no_mangle)]
extern "C" fn kernel_dump() -> ! {
    // Every CPU gets the NMI; the first reports, the others stop.
    static DUMPING: AtomicBool = AtomicBool::new(false);
    if DUMPING.swap(true, Ordering::AcqRel) {
        arch::halt_forever();
    }
    arch::force_unlock_log();
    if try_lock() {
        // SAFETY: the lock is ours: nothing else refers to the state, and
        // nothing will (the machine stops below).
        events::dump(unsafe { &*KERNEL.kernel.get() });
    } else {
        kernel_core::error!("dump: the NMI arrived while a CPU held the kernel; no thread states");
    }
    arch::exit(abi::machine::EXIT_DUMPED)
}
