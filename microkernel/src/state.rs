//! The one kernel state, and the kernel's entry points that borrow it.
//!
//! Everything the kernel knows lives in one `kernel_core::kernel::Kernel`,
//! in a static here. It is reached in two modes.
//!
//! **Exclusive** ([`with`]): the big kernel lock. Every entry but one takes
//! it, with interrupts off, for the whole entry, and gets the state to
//! itself. It is a ticket lock (CPUs are served in the order they asked),
//! and a CPU that holds its ticket then waits for every CPU in shared mode
//! to leave it (one load of the claims word). The kernel never waits
//! inside an entry (a wait is a blocked thread, not a blocked CPU), so an
//! entry ends in bounded time. A CPU waiting for the lock serves TLB
//! shootdowns meanwhile (the holder may be waiting for it to flush, and its
//! interrupts are off). Taking the lock again on the same CPU, or taking it
//! while in shared mode, can only be a bug (a fault inside the kernel): it
//! panics instead of aliasing the state.
//!
//! **Shared** ([`shared`]): the IPC fast path of a register-only message
//! (`kernel_core::ipc::fastpath::try_shared`) runs on several CPUs at once.
//! A CPU announces it with its claim (its bit in one word, set by an atomic
//! OR), then looks whether any CPU holds or waits for the lock; if one
//! does, it withdraws its claim, waits until the lock is free and no CPU
//! waits for it, and claims again. So shared mode never runs while a CPU
//! has the state to itself, and a CPU waiting for the lock waits at most for
//! the fast paths already running, each a bounded run with no wait in it.
//! The claim and the lock's ticket are each written by one atomic
//! read-modify-write and then the other read, all sequentially consistent,
//! so of a CPU claiming and a CPU taking a ticket at least one sees the
//! other (the Dekker pattern). What the fast path may touch in shared mode,
//! and why two CPUs never touch the same thing, is in
//! `kernel_core::ipc::fastpath`; the endpoint it works on is the one other
//! claim it takes, and it never waits for that one (it declines to the lock
//! instead). There is no lock order: an exclusive entry holds the lock and
//! waits only for CPU claims; a CPU with a claim waits for nothing, and a
//! CPU waiting to claim holds nothing. Memory: a claim is released with
//! release ordering and read with acquire (SeqCst) by the CPU that takes the
//! lock, and the lock is released with release ordering and its ticket read
//! with acquire by the claiming CPU, so each mode sees all the other wrote.
//!
//! One part of the state is written in neither mode: each CPU's current
//! thread's saved registers. The entry stubs save them into that thread's
//! frame (the per-CPU block points at it) before they call in here, and
//! restore them after the lock or claim is released; a thread is current on
//! one CPU at a time, and the kernel writes a running thread's frame only on
//! its own CPU.
//!
//! The upcalls (`kernel_*`) are the entry points the architecture layer
//! declares and calls (`arch::x86_64::upcalls`): each handles one entry
//! through `kernel_core::events` and returns the frame to resume.

use crate::arch::{self, X86};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicUsize, Ordering};
use kernel_core::config::MAX_CPUS;
use kernel_core::events::{self, Event, Resume};
use kernel_core::ipc::fastpath;
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

/// The CPUs in shared mode, one bit each: a CPU sets and clears only its
/// own (an atomic OR and AND), and a CPU taking the lock reads them all in
/// one load. On a cache line of its own, apart from the lock's counters.
#[repr(align(64))]
struct Claims(AtomicU8);

static CLAIMS: Claims = Claims(AtomicU8::new(0));

// The fast path in shared mode reaches the machine on every CPU at once
// (`Kernel::machine_shared`): that is sound only because the x86 machine
// keeps nothing in itself (its state is per CPU, behind GS).
const _: () = assert!(core::mem::size_of::<X86>() == 0);

/// Runs `f` with exclusive access to the kernel state: takes the big
/// kernel lock (CPUs are served in the order they asked), and serves TLB
/// shootdowns while it waits.
#[inline(always)]
pub fn with<R>(f: impl FnOnce(&mut Kernel<X86>) -> R) -> R {
    let cpu = arch::cpu_id();
    if KERNEL.owner.load(Ordering::Relaxed) == cpu || CLAIMS.0.load(Ordering::Relaxed) & claim_bit(cpu) != 0 {
        panic!("kernel state re-entered");
    }
    locked(cpu, f)
}

/// Runs `f` in shared mode on `cpu` with a pointer to the kernel state,
/// once no CPU holds or waits for the lock (`f` says `None` to take the
/// lock instead). `f` must touch only what shared mode allows
/// (`kernel_core::ipc::fastpath`).
#[inline(always)]
fn shared<R>(cpu: usize, f: impl FnOnce(*mut Kernel<X86>) -> Option<R>) -> Option<R> {
    let bit = claim_bit(cpu);
    CLAIMS.0.fetch_or(bit, Ordering::SeqCst);
    // A ticket handed out and not yet served: a CPU holds the lock or waits
    // for it, perhaps for this claim.
    if KERNEL.next.load(Ordering::SeqCst) != KERNEL.serving.load(Ordering::SeqCst) {
        wait_for_no_lock(bit);
    }
    let result = f(KERNEL.kernel.get());
    CLAIMS.0.fetch_and(!bit, Ordering::Release);
    result
}

/// This CPU's bit in [`CLAIMS`].
#[inline(always)]
fn claim_bit(cpu: usize) -> u8 {
    1 << (cpu % MAX_CPUS)
}

/// Withdraws the claim `bit`, waits until no CPU holds or waits for the
/// lock (serving TLB shootdowns meanwhile), and claims again. Waiting here
/// instead of taking the lock keeps one CPU's exclusive entry from sending
/// the others' fast paths to the lock too, and theirs the next ones'.
#[cold]
#[inline(never)]
fn wait_for_no_lock(bit: u8) {
    loop {
        CLAIMS.0.fetch_and(!bit, Ordering::SeqCst);
        while KERNEL.next.load(Ordering::SeqCst) != KERNEL.serving.load(Ordering::SeqCst) {
            arch::serve_shootdown();
            core::hint::spin_loop();
        }
        CLAIMS.0.fetch_or(bit, Ordering::SeqCst);
        if KERNEL.next.load(Ordering::SeqCst) == KERNEL.serving.load(Ordering::SeqCst) {
            return;
        }
    }
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
    let ticket = KERNEL.next.fetch_add(1, Ordering::SeqCst);
    if KERNEL.serving.load(Ordering::Acquire) != ticket {
        wait_for(ticket);
    }
    // The CPUs in shared mode (never this one: it is here): none enters it
    // now (the ticket is out), and those in it finish.
    if CLAIMS.0.load(Ordering::SeqCst) != 0 {
        wait_for_claims();
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

/// Waits until no CPU is in shared mode, serving TLB shootdowns meanwhile
/// (out of line, as [`wait_for`]).
#[cold]
#[inline(never)]
fn wait_for_claims() {
    while CLAIMS.0.load(Ordering::SeqCst) != 0 {
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
        .compare_exchange(serving, serving.wrapping_add(1), Ordering::SeqCst, Ordering::Relaxed)
        .is_ok()
        && CLAIMS.0.load(Ordering::SeqCst) == 0
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
/// at its MsgInfo): the fast path in shared mode if it takes it, else the
/// lock.
#[unsafe(no_mangle)]
extern "C" fn kernel_syscall_ipc() -> *mut TrapFrame {
    let cpu = arch::cpu_id();
    // Not when the last message the fast path took here woke a peer that
    // could not run here: shared mode would decline this one too.
    if !arch::ipc_prefers_lock() {
        // SAFETY: this CPU holds its claim inside `shared`, which is what
        // `try_shared` asks; the peer it switched to is current here now,
        // and its frame is reached as a place (no reference).
        let frame = shared(cpu, |k| unsafe {
            let next = fastpath::try_shared(k, cpu)?;
            Some(&raw mut Kernel::thread_shared(k, next).frame)
        });
        if let Some(frame) = frame {
            return frame;
        }
    }
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
