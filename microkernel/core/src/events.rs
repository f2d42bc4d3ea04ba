//! What the kernel does on each entry, and what it resumes afterwards.
//!
//! Every syscall, timer tick and fault from ring 3 is an [`Event`] for the
//! current thread. The kernel handles it to completion (no kernel code ever
//! waits), then [`schedule`] decides what the CPU resumes: a thread, the idle
//! loop, or nothing ever again. The kernel binary's entry glue only takes
//! the state and turns the [`Resume`] into a frame.

use crate::ipc::fastpath::{self, Taken};
use crate::ipc::state::IpcState;
use crate::kernel::Kernel;
use crate::machine::Machine;
use crate::process;
use crate::sched::{Pick, RunState};
use crate::signals;
use crate::syscalls;
use crate::trace;
use crate::vm;
use core::sync::atomic::Ordering;

/// The page-fault vector, and the error-code bits that say what the access
/// was.
const PAGE_FAULT: u8 = 14;
const GENERAL_PROTECTION: u8 = 13;
const FAULT_PRESENT: u64 = 1 << 0;
const FAULT_WRITE: u64 = 1 << 1;

/// Why the kernel was entered from ring 3. (`repr(C)`: the architecture
/// layer passes it to the kernel binary's entry points.)
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// `syscall` or `int 0x80`; the number and arguments are in the frame.
    Syscall,
    /// The timer fired.
    Timer,
    /// Interrupt line `line` (a GSI of the I/O APIC) fired.
    Interrupt {
        /// The line.
        line: u8,
    },
    /// Another CPU asked this one to pick again (a thread it should run is
    /// ready, or its thread was ended).
    Reschedule,
    /// The thread faulted: it is killed.
    Fault {
        /// The exception vector.
        vector: u8,
        /// The CPU's error code (0 for exceptions without one).
        error_code: u64,
        /// CR2 for a page fault, else 0.
        address: u64,
    },
}

/// What the CPU does after the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resume {
    /// Return to this thread (now current).
    Thread(usize),
    /// Halt until the next interrupt: a timed wait will end.
    Idle,
    /// Nothing will ever run again: stop the machine with this exit value
    /// (`abi::machine`).
    Finished(u32),
}

/// The kernel was entered on this CPU: tells the scheduler which CPU and
/// what the clock says, so it charges the time since the last entry.
///
/// Who pays: a server that owes a caller a reply runs on that caller's
/// behalf, and a caller with a CPU budget (a `cpu_limit`) pays for it, its
/// time and its slice. A caller without a budget has nothing to pay from,
/// so the server pays itself and its own limit bounds it.
#[inline(always)]
pub fn entered<M: Machine>(k: &mut Kernel<M>) {
    let (cpu, now) = (k.machine.cpu(), k.machine.timestamp());
    let ipc = &k.ipc;
    k.sched.enter(cpu, now, |thread| ipc.payer_of(thread));
}

/// A syscall of the current thread that is not IPC (or that the IPC entry
/// did not take): the dispatcher.
#[inline(always)]
pub fn syscall<M: Machine>(k: &mut Kernel<M>) -> Resume {
    entered(k);
    // Another CPU may have ended the thread while this one waited for the
    // kernel: then there is nothing to serve.
    if let Some(current) = k.sched.current() {
        syscalls::dispatch(k, current);
    }
    schedule(k)
}

/// A `write` of the current thread (the kernel's entry stub gives it an
/// upcall of its own): a call to the console the kernel composes, which the
/// IPC fast path takes when it can; the dispatcher otherwise.
#[inline(always)]
pub fn write<M: Machine>(k: &mut Kernel<M>) -> Resume {
    fast_path_first(k, fastpath::try_write)
}

/// Handles `event` for the current thread; returns what to resume.
pub fn enter<M: Machine>(k: &mut Kernel<M>, event: Event) -> Resume {
    entered(k);
    // Timers, interrupts and requests to pick again concern the CPU; a
    // syscall or a fault concerns its thread, which another CPU may have
    // ended while this one waited for the kernel.
    match event {
        Event::Timer => return after_tick(k),
        Event::Interrupt { line } => signals::interrupt(k, line as usize),
        Event::Reschedule => {}
        Event::Syscall | Event::Fault { .. } => {
            if let Some(current) = k.sched.current() {
                thread_event(k, current, event);
            }
        }
    }
    schedule(k)
}

/// A syscall or fault of `current`.
fn thread_event<M: Machine>(k: &mut Kernel<M>, current: usize, event: Event) {
    match event {
        Event::Syscall => syscalls::dispatch(k, current),
        Event::Timer | Event::Interrupt { .. } | Event::Reschedule => unreachable!("not a thread's event"),
        Event::Fault {
            vector: PAGE_FAULT,
            error_code,
            address,
        } if vm::fault(
            k,
            current,
            address,
            error_code & FAULT_WRITE != 0,
            error_code & FAULT_PRESENT != 0,
        ) => {}
        Event::Fault {
            vector,
            error_code,
            address,
        } => {
            if k.tracing() {
                trace::fault(k, current, vector, error_code, address);
            }
            crate::debug!(
                "{} faulted: vector {vector} error {error_code:#x} address {address:#x}",
                k.describe(current)
            );
            let notice = process::fault_notice(k, current, vector, error_code, address);
            process::terminate(k, current, notice);
        }
    }
}

/// The current thread was about to be resumed in ring 3 with a frame it
/// may not have (a RIP outside user space; the exit path refuses it): its
/// process ends as if it had taken a general protection fault there, and
/// the CPU picks again.
pub fn bad_frame<M: Machine>(k: &mut Kernel<M>) -> Resume {
    if let Some(current) = k.sched.current() {
        let rip = k.frame(current).rip;
        crate::warn!("{} had a frame with RIP {rip:#x}: ended", k.describe(current));
        let notice = process::fault_notice(k, current, GENERAL_PROTECTION, 0, 0);
        process::terminate(k, current, notice);
    }
    schedule(k)
}

/// A tick, then the pick.
fn after_tick<M: Machine>(k: &mut Kernel<M>) -> Resume {
    tick(k);
    schedule(k)
}

/// An IPC syscall of the current thread: the fast path if it takes it, the
/// dispatcher otherwise.
#[inline(always)]
pub fn ipc<M: Machine>(k: &mut Kernel<M>) -> Resume {
    fast_path_first(k, fastpath::try_ipc)
}

/// [`ipc`] for a syscall whose message the caller has looked at: a
/// register-only one if not `BYTES` ([`fastpath::try_shaped`]). The
/// kernel's entry stub sends each shape to its own upcall, so that each
/// compiles with only its own fast path.
#[inline(always)]
pub fn ipc_shaped<M: Machine, const BYTES: bool>(k: &mut Kernel<M>) -> Resume {
    fast_path_first(k, fastpath::try_shaped::<M, BYTES>)
}

/// An entry for a syscall the fast path may take: the entry's accounting,
/// then `fast` for the current thread's syscall; after its answer, the peer
/// it switched to, the pick after a peer it woke, or the slow path if it
/// declined.
#[inline(always)]
fn fast_path_first<M: Machine>(k: &mut Kernel<M>, fast: impl FnOnce(&mut Kernel<M>, usize) -> Option<Taken>) -> Resume {
    entered(k);
    // Another CPU may have ended the thread while this one waited for the
    // kernel: then there is nothing to serve.
    let Some(current) = k.sched.current() else {
        return slow_schedule(k);
    };
    match fast(k, current) {
        Some(Taken::Switched(next)) => Resume::Thread(next),
        Some(Taken::Woke) => slow_schedule(k),
        None => slow_ipc(k, current),
    }
}

/// [`schedule`], out of line (see [`slow_ipc`]).
#[cold]
#[inline(never)]
fn slow_schedule<M: Machine>(k: &mut Kernel<M>) -> Resume {
    schedule(k)
}

/// The slow path of an IPC syscall, kept out of line: inlined into the
/// fast path's function, its code would cost the fast path registers.
#[cold]
#[inline(never)]
fn slow_ipc<M: Machine>(k: &mut Kernel<M>, current: usize) -> Resume {
    syscalls::dispatch(k, current);
    schedule(k)
}

/// A timer tick or an interrupt that arrived while the CPU idled: a timed
/// wait may have run out, or a driver may have work.
pub fn idle_event<M: Machine>(k: &mut Kernel<M>, event: Event) -> Resume {
    entered(k);
    match event {
        Event::Timer => tick(k),
        Event::Interrupt { line } => signals::interrupt(k, line as usize),
        Event::Reschedule => {}
        Event::Syscall | Event::Fault { .. } => unreachable!("{event:?} while idle"),
    }
    schedule(k)
}

/// A kick while the CPU idled ([`Event::Reschedule`]): work for it waits.
/// Inlined into its upcall, with nothing to decode.
#[inline(always)]
pub fn idle_kick<M: Machine>(k: &mut Kernel<M>) -> Resume {
    entered(k);
    schedule(k)
}

/// A timer tick while the CPU idled.
pub fn idle_tick<M: Machine>(k: &mut Kernel<M>) -> Resume {
    idle_event(k, Event::Timer)
}

/// A timer tick on this CPU: the boot CPU's advances the clock, updates the
/// time page, wakes threads whose timeout ran out and stops processes past
/// their CPU limit; every CPU's ends the running thread's slice when it is
/// used up (the time itself was charged at the entry).
pub fn tick<M: Machine>(k: &mut Kernel<M>) {
    if k.sched.cpu() == 0 {
        let now = k.machine.published().ticks.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(page) = k.time_page {
            k.machine.store_word(page, abi::time::offset::TICKS, now);
        }
        enforce_cpu_limits(k);
        let mut expired = heapless::Vec::<usize, { crate::config::MAX_THREADS }>::new();
        expired.extend(k.sched.expired(now));
        for thread in expired {
            k.ipc.timeout(thread);
            k.frame_mut(thread).set_result(Err(abi::Error::TIMEDOUT));
            k.sched.wake(thread);
        }
    }
    k.sched.charge_tick();
}

/// Ends every process whose threads have been charged more CPU time than
/// its manifest allows (their own running, and servers' running on their
/// behalf).
fn enforce_cpu_limits<M: Machine>(k: &mut Kernel<M>) {
    for slot in 0..k.processes.len() {
        let process = &k.processes[slot];
        if !process.is_live() || process.cpu_limit == 0 || k.sched.state(process.thread) == RunState::Zombie {
            continue;
        }
        if process::cpu_time(k, slot) < process.cpu_limit.saturating_mul(k.clock_per_tick) {
            continue;
        }
        let thread = process.thread;
        crate::debug!("{} used up its CPU time limit", k.describe(thread));
        let notice = process::limit_notice(k, thread);
        process::terminate(k, thread, notice);
    }
}

/// Picks what runs next, switches the machine to it, and says what to
/// resume.
#[inline(always)]
pub fn schedule<M: Machine>(k: &mut Kernel<M>) -> Resume {
    let resume = pick(k);
    // After this CPU took its pick: the other CPUs are asked only for what
    // is left.
    let kicks = k.sched.kicks();
    if kicks != 0 {
        k.machine.kick(kicks);
    }
    resume
}

/// This CPU's pick, and the switch to it.
#[inline(always)]
fn pick<M: Machine>(k: &mut Kernel<M>) -> Resume {
    let next = match k.sched.pick() {
        Pick::Same(thread) => thread,
        Pick::Switch { from, to } => {
            if k.tracing() {
                trace::switch(k, from, to);
            }
            let top = k.frame_top(to);
            let switch = k.thread(to).switch;
            k.machine.switch_to(to, top, &switch);
            to
        }
        Pick::Idle { released } => {
            if released.is_some() {
                k.machine.switch_to_kernel();
            }
            return Resume::Idle;
        }
        Pick::Quiescent { released } => {
            if released.is_some() {
                k.machine.switch_to_kernel();
            }
            if awaits_interrupt(k) {
                return Resume::Idle;
            }
            return Resume::Finished(quiesce(k));
        }
    };
    if k.tracing() {
        trace::exit(k, next);
    }
    Resume::Thread(next)
}

/// Whether an idle system may still be woken by an interrupt that someone
/// waits for: a line is bound and unmasked, and some thread waits for more
/// than work to arrive on an endpoint (a reply, a signal, a child). With
/// only servers waiting, the system has finished even if a driver listens
/// (the console for input nobody asked for).
fn awaits_interrupt<M: Machine>(k: &Kernel<M>) -> bool {
    k.irqs.armed()
        && (0..k.threads.len()).any(|thread| {
            k.sched.state(thread) == RunState::Blocked && !matches!(k.ipc.state(thread), IpcState::Receiving { .. })
        })
}

/// Nothing can run, and with no timed waits or interrupts awaited nothing
/// ever will: the system has finished. Success if every remaining thread waits to receive (servers
/// waiting for work), a deadlock otherwise (each stuck thread is logged).
#[cold]
#[inline(never)]
fn quiesce<M: Machine>(k: &mut Kernel<M>) -> u32 {
    let mut servers = 0;
    let mut stuck = 0;
    for thread in 0..k.threads.len() {
        match (k.sched.state(thread), k.ipc.state(thread)) {
            (RunState::Free, _) => {}
            (RunState::Blocked, IpcState::Receiving { .. }) => servers += 1,
            (state, ipc) => {
                stuck += 1;
                crate::error!("deadlock: {} is {state:?} in {ipc:?}", k.describe(thread));
            }
        }
    }
    if stuck > 0 {
        crate::error!("deadlock: {stuck} threads wait on IPC that can never complete; halting");
        return abi::machine::EXIT_DEADLOCK;
    }
    let stats = syscalls::stats(k);
    crate::info!(
        "idle: all programs finished ({servers} servers waiting); {} free frames, {} processes, {} endpoints, {} handles, {} syscalls; halting",
        stats.free_frames,
        stats.processes,
        stats.endpoints,
        stats.handles,
        stats.syscalls
    );
    // How many of them the IPC fast path served in shared mode (on several
    // CPUs at once): the tests of that mode read it.
    crate::info!(
        "ipc: fast_path.shared_syscalls={}",
        k.counters.shared_syscalls.iter().sum::<u64>()
    );
    abi::machine::EXIT_SUCCESS
}

/// Logs every live thread's state: what a run that timed out was doing.
pub fn dump<M: Machine>(k: &Kernel<M>) {
    for thread in 0..k.threads.len() {
        let state = k.sched.state(thread);
        if state != RunState::Free {
            crate::error!(
                "dump: {} thread {thread} is {state:?} in {:?}, priority {}",
                k.describe(thread),
                k.ipc.state(thread),
                k.sched.priority(thread)
            );
        }
    }
}
