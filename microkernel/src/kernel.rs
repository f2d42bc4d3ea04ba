//! Kernel entry from the arch layer, and scheduling.
//!
//! Every syscall, interrupt and fault from ring 3 arrives in [`enter`] as an
//! event for the current thread. The kernel handles it to completion (no
//! kernel code ever waits), then [`schedule`] picks the thread to resume and
//! the arch layer returns into its frame.

use crate::arch::{self, Event, TrapFrame};
use crate::config::TIME_SLICE_TICKS;
use crate::fastpath;
use crate::ipc::IpcState;
use crate::process;
use crate::state::{self, Kernel, RunState};
use crate::syscalls;
use crate::trace;

/// Handles `event` for the current thread; returns the frame to resume.
pub fn enter(event: Event, frame: *mut TrapFrame) -> *mut TrapFrame {
    state::with(|k| {
        let current = k.current.expect("entry from ring 3 without a current thread");
        debug_assert_eq!(frame, arch::frame_pointer(current));
        match event {
            Event::Syscall => syscalls::dispatch(k, current),
            Event::Timer => tick(k),
            Event::Fault {
                vector,
                error_code,
                address,
            } => {
                if trace::enabled() {
                    trace::fault(k, current, vector, error_code, address);
                }
                let words = process::fault_notice(k, current, vector, error_code, address);
                crate::debug!(
                    "{} faulted: vector {vector} error {error_code:#x} address {address:#x}",
                    process::describe(k, current)
                );
                process::terminate(k, current, abi::console::FAULT, words);
            }
        }
        schedule(k)
    })
}

/// The IPC fast path for the current thread's syscall: the frame to resume,
/// or null to decline (then [`syscall`] serves it).
pub fn ipc_fast(frame: *mut TrapFrame) -> *mut TrapFrame {
    // SAFETY: the stub passes the current thread's frame, which it has just
    // saved; nothing else refers to it while the kernel runs.
    let saved = unsafe { &*frame };
    state::with(|k| match k.current {
        Some(current) => fastpath::try_ipc(k, current, saved).unwrap_or(core::ptr::null_mut()),
        None => core::ptr::null_mut(),
    })
}

/// Serves a syscall of the current thread through the dispatcher. Returns
/// the frame to resume.
pub fn syscall(frame: *mut TrapFrame) -> *mut TrapFrame {
    state::with(|k| {
        let current = k.current.expect("syscall without a current thread");
        debug_assert_eq!(frame, arch::frame_pointer(current));
        syscalls::dispatch(k, current);
        schedule(k)
    })
}

/// A timer tick that arrived while the CPU idled: a timed IPC wait may have
/// run out. Returns the frame to resume (the idle loop again, or a thread).
pub fn idle_tick(_interrupted: *mut TrapFrame) -> *mut TrapFrame {
    state::with(|k| {
        tick(k);
        schedule(k)
    })
}

/// A timer tick: charges the running process, wakes threads whose IPC
/// timeout ran out, and ends the time slice.
fn tick(k: &mut Kernel) {
    k.ticks += 1;
    syscalls::TICKS.store(k.ticks, core::sync::atomic::Ordering::Relaxed);
    if let Some(current) = k.current {
        let process = k.process_of_mut(current);
        process.cpu_used += 1;
        if process.cpu_limit != 0 && process.cpu_used >= process.cpu_limit {
            crate::debug!("{} used up its CPU time limit", process::describe(k, current));
            let words = process::limit_notice(k, current);
            process::terminate(k, current, abi::console::LIMIT, words);
        }
    }
    for thread in 0..k.threads.len() {
        let t = &k.threads[thread];
        if t.deadline != 0 && t.deadline <= k.ticks && t.state == RunState::Blocked {
            k.ipc.timeout(thread);
            arch::frame(thread).set_result(Err(abi::Error::TIMEDOUT));
            process::make_ready(k, thread);
        }
    }
    // The slice is the running thread's own: a thread that is preempted or
    // blocks keeps the rest, so a higher priority that wakes often cannot
    // keep it on the CPU ahead of its equals.
    if let Some(current) = k.current.filter(|&t| k.threads[t].state == RunState::Running) {
        let t = &mut k.threads[current];
        t.slice_left = t.slice_left.saturating_sub(1);
        if t.slice_left == 0 {
            k.yield_requested = true;
        }
    }
}

/// Picks the thread to run next and makes it current; returns its frame.
pub fn schedule(k: &mut Kernel) -> *mut TrapFrame {
    let yielded = core::mem::take(&mut k.yield_requested);
    let next = match k.current {
        Some(current) if k.threads[current].state == RunState::Running => {
            let priority = k.threads[current].priority;
            if yielded {
                k.threads[current].state = RunState::Ready;
                k.threads[current].slice_left = TIME_SLICE_TICKS;
                k.run_queues.push_back(current, priority);
                k.run_queues.pop().expect("the current thread was just queued")
            } else if k.run_queues.highest().is_some_and(|p| p > priority) {
                k.threads[current].state = RunState::Ready;
                k.run_queues.push_front(current, priority);
                k.run_queues.pop().expect("a higher priority is ready")
            } else {
                current
            }
        }
        _ => match k.run_queues.pop() {
            Some(next) => next,
            None if k
                .threads
                .iter()
                .any(|t| t.deadline != 0 && t.state == RunState::Blocked) =>
            {
                return idle(k);
            }
            None => quiesce(k),
        },
    };
    if trace::enabled() {
        if k.current != Some(next) {
            trace::switch(k, k.current, next);
        }
        trace::exit(k, next);
    }
    if k.current != Some(next) {
        k.threads[next].state = RunState::Running;
        k.current = Some(next);
        arch::switch_to(&k.threads[next].switch);
    } else {
        k.threads[next].state = RunState::Running;
    }
    arch::frame_pointer(next)
}

/// Nothing can run now, but a timed wait will end: the CPU halts until the
/// timer.
fn idle(k: &mut Kernel) -> *mut TrapFrame {
    if k.current.take().is_some() {
        arch::switch_to_kernel();
    }
    arch::idle_frame()
}

/// Nothing can run, and with no timed waits nothing ever will: the system has
/// finished. Halts with success if every remaining thread waits to receive
/// (servers waiting for work), or reports a deadlock.
fn quiesce(k: &mut Kernel) -> ! {
    let mut servers = 0;
    let mut stuck = 0;
    for (thread, t) in k.threads.iter().enumerate() {
        match (t.state, k.ipc.state(thread)) {
            (RunState::Free, _) => {}
            (RunState::Blocked, IpcState::Receiving { .. }) => servers += 1,
            (state, ipc) => {
                stuck += 1;
                crate::error!("deadlock: {} is {state:?} in {ipc:?}", process::describe(k, thread));
            }
        }
    }
    if stuck > 0 {
        crate::error!("deadlock: {stuck} threads wait on IPC that can never complete; halting");
        arch::exit(abi::machine::EXIT_DEADLOCK)
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
    arch::exit(abi::machine::EXIT_SUCCESS)
}

/// Starts the first thread; never returns.
pub fn run() -> ! {
    let frame = state::with(schedule);
    // SAFETY: `schedule` returned the frame of a thread just made current, a
    // complete frame in its save area.
    unsafe { arch::resume(frame) }
}
