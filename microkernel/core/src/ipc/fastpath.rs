//! The IPC fast path: `call`, `reply_recv` and `write` (a call to the
//! console the kernel composes), switching straight to the peer.
//!
//! It takes the common case of a client calling a waiting server, and of the
//! server replying and waiting again (also to a `write` the kernel
//! forwarded, which returns the count replied), and nothing else. A message
//! may carry a buffer of up to [`MAX_BUFFER`] bytes when both buffers are
//! remembered as checked ([`CheckedBuffers`]): the sender's bytes lie in the
//! range it last sent from, and the receiver's buffer is the one it last
//! named, whose physical pages are known, so the bytes move with one copy
//! and no page-table walk. A handle to pass, NONBLOCK or a timeout, a buffer
//! not remembered, a receiver that still owes someone a reply, a queued
//! sender, tracing: each declines to the slow path ([`super::syscalls`]),
//! which serves every case. A peer that cannot run at once on this CPU
//! (something readier waits, its affinity excludes this CPU, or its slice
//! is used up) still gets the message; it is then woken for the scheduler
//! instead of switched to ([`Taken::Woke`]), which is how a message reaches
//! a peer on another CPU. Like seL4's fastpath it is a flat list of checks,
//! then a commit: nothing changes before the last check passes, what it
//! accepts it checks exactly as the slow path would (handle, rights,
//! generation, receiver state, buffers), and it leaves the state the slow
//! path would (the host tests run both and compare, memory included).
//!
//! It runs in two modes. With the kernel to itself (the big kernel lock,
//! [`try_ipc`], [`try_shaped`], [`try_write`]) it takes all of the above.
//! In shared mode ([`try_shared`]) it runs on several CPUs at once, each
//! holding only its own CPU's claim (the kernel's exclusive entries wait
//! for every CPU's) and the claim of the endpoint it works on
//! ([`crate::kernel::EndpointClaims`]); it then takes only a register-only
//! `call` or `reply_recv` whose peer runs next on this CPU and waits alone
//! (so that no shared queue or link changes), and declines the rest to the
//! exclusive mode, where the same steps run again with the full set. What
//! it touches then is its CPU's slot, the two threads it hands between (the
//! one current here, and the one it found on the claimed endpoint or owes
//! a reply to: no other CPU reaches either), that endpoint, and what only
//! the exclusive mode changes (handle tables, the ready queues), which it
//! reads. So the steps take the kernel by pointer, and each reference they
//! make is to one such slot, never to the kernel or a table whole.

use super::message::{Outgoing, write_message};
use super::state::Ipc;
use crate::handles::HandleEntry;
use crate::kernel::{Kernel, Thread};
use crate::machine::Machine;
use crate::sched::Scheduler;
use crate::trapframe::TrapFrame;
use crate::umem::CheckedBuffers;
use abi::message::{MAX_BUFFER, MAX_WORDS};
use abi::regs::ipc as regs;
use abi::{MsgInfo, Rights, Syscall};

/// Moves the message words and MsgInfo from `from` to `to`, and returns
/// success to `to`.
#[inline(always)]
fn deliver(from: &TrapFrame, to: &mut TrapFrame, info: MsgInfo) {
    to.copy_message_words(from, info.words());
    to.set(regs::INFO, info.0);
    to.set(abi::regs::RESULT, 0);
}

/// What the fast path did with a syscall it took.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Taken {
    /// The peer runs next on this CPU: it is current and the machine has
    /// switched to it.
    Switched(usize),
    /// The peer cannot run next here (another CPU must run it, something
    /// readier waits here, or its slice is used up): the message is
    /// delivered, the peer is ready and the caller blocked, as the slow
    /// path leaves them; the CPU picks next (and kicks another), as after
    /// the slow path.
    Woke,
}

/// Tries the fast path for the current thread `thread`'s syscall, with the
/// kernel to itself. Returns what it did ([`Taken`]), or `None` to take the
/// slow path (nothing has changed then).
#[inline(always)]
pub fn try_ipc<M: Machine>(k: &mut Kernel<M>, thread: usize) -> Option<Taken> {
    if register_only(MsgInfo(k.frame(thread).get(regs::INFO))) {
        try_shaped::<M, false>(k, thread)
    } else {
        try_shaped::<M, true>(k, thread)
    }
}

/// [`try_ipc`] compiled for one shape of message: register-only if not
/// `BYTES` (it declines any other), plain with bytes if `BYTES`. The steps
/// are the same; compiled apart, none of the byte handling costs a
/// register-only message anything.
#[inline(always)]
pub fn try_shaped<M: Machine, const BYTES: bool>(k: &mut Kernel<M>, thread: usize) -> Option<Taken> {
    if k.tracing() {
        return None;
    }
    let info = MsgInfo(k.frame(thread).get(regs::INFO));
    let takes = if BYTES { info.is_plain() } else { register_only(info) };
    if !takes {
        return None;
    }
    let cpu = k.sched.cpu();
    // SAFETY: `k` is borrowed whole: nothing else refers to the kernel.
    unsafe { try_message::<M, BYTES, false>(k, cpu, thread, info) }
}

/// The fast path in shared mode on `cpu`: a register-only `call` or
/// `reply_recv` of the thread current there, with the CPU-time charge at
/// the entry, taken only if its peer waits alone on the endpoint and runs
/// next here. (The kernel does not try it on a CPU whose last message the
/// fast path took with the kernel to itself woke a peer that could not run
/// here: [`Machine::set_ipc_prefers_lock`].) Returns the peer it switched
/// to, or `None` to take the kernel's exclusive path, which charges again
/// (nothing but the charge may have changed, and it charges the time since
/// this one).
///
/// # Safety
/// `k` points at the live kernel, and the caller holds `cpu`'s claim: no
/// CPU has the kernel to itself, and the other CPUs in shared mode touch
/// only what the module documentation says. The current thread's message
/// is register-only (the entry stub looked).
#[inline(always)]
pub unsafe fn try_shared<M: Machine>(k: *mut Kernel<M>, cpu: usize) -> Option<usize> {
    // SAFETY: per the contract: the machine keeps nothing another CPU
    // uses; the charge touches this CPU's slot, its current thread and
    // that thread's payer (a caller blocked until this thread replies).
    unsafe {
        let machine = Kernel::machine_shared(k);
        if machine.published().tracing() {
            return None;
        }
        let ipc = &raw const (*k).ipc;
        let current = Scheduler::enter_shared(&raw mut (*k).sched, cpu, machine.timestamp(), |thread| {
            Ipc::payer_of_shared(ipc, thread)
        })?;
        let info = MsgInfo(Kernel::thread_shared(k, current).frame.get(regs::INFO));
        debug_assert!(
            register_only(info),
            "the entry stub sends only register-only messages here"
        );
        match try_message::<M, false, true>(k, cpu, current, info)? {
            Taken::Switched(next) => Some(next),
            // Shared mode takes only a peer that runs next here.
            Taken::Woke => None,
        }
    }
}

/// `call` or `reply_recv` of `info`, which has bytes if `BYTES`, on `cpu`.
///
/// # Safety
/// `k` points at the live kernel; the caller has it to itself, or
/// `SHARED` is true and the caller holds `cpu`'s claim.
#[inline(always)]
unsafe fn try_message<M: Machine, const BYTES: bool, const SHARED: bool>(
    k: *mut Kernel<M>,
    cpu: usize,
    thread: usize,
    info: MsgInfo,
) -> Option<Taken> {
    // SAFETY: per the contract; `thread` is current on `cpu`.
    let number = unsafe { Kernel::thread_shared(k, thread) }.frame.syscall_number();
    // SAFETY: per the contract.
    let next = unsafe {
        if number == Syscall::Call as u64 {
            call::<M, BYTES, SHARED>(k, cpu, thread, info)?
        } else if number == Syscall::ReplyRecv as u64 {
            reply_recv::<M, BYTES, SHARED>(k, cpu, thread, info)?
        } else {
            return None;
        }
    };
    // SAFETY: per the contract; `next` is the peer the step committed to.
    Some(unsafe { finish::<M, SHARED>(k, cpu, thread, next) })
}

/// Tries the fast path for the current thread `thread`'s `write`, with the
/// kernel to itself: as [`try_ipc`].
#[inline(always)]
pub fn try_write<M: Machine>(k: &mut Kernel<M>, thread: usize) -> Option<Taken> {
    if k.tracing() {
        return None;
    }
    let next = write(k, thread)?;
    let cpu = k.sched.cpu();
    // SAFETY: `k` is borrowed whole.
    Some(unsafe { finish::<M, false>(k, cpu, thread, next) })
}

/// After the commit: `thread` waits, and its peer `next` runs at once on
/// `cpu` if it runs next there ([`hand_off`]; shared mode checked that
/// before it committed), or is woken for the scheduler otherwise
/// ([`wake_peer`]).
///
/// # Safety
/// As for [`try_message`].
#[inline(always)]
unsafe fn finish<M: Machine, const SHARED: bool>(k: *mut Kernel<M>, cpu: usize, thread: usize, next: usize) -> Taken {
    // SAFETY: per the contract.
    unsafe {
        if SHARED || Scheduler::runs_next_on(&raw const (*k).sched, cpu, next) {
            if !SHARED {
                Kernel::machine_shared(k).set_ipc_prefers_lock(false);
            }
            Taken::Switched(hand_off::<M, SHARED>(k, cpu, thread, next))
        } else {
            wake_peer(&mut *k, thread, next);
            Taken::Woke
        }
    }
}

/// The slow path's scheduling after a message or reply delivered: the peer
/// ready at the front of its priority (or at the back with a new slice),
/// `thread` blocked without a deadline (the fast path takes no timeout);
/// then the CPU picks. Out of line: it costs the hand-off nothing. Only
/// with the kernel to itself: it changes the ready queues.
#[cold]
#[inline(never)]
fn wake_peer<M: Machine>(k: &mut Kernel<M>, thread: usize, next: usize) {
    k.counters.syscalls += 1;
    k.machine.set_ipc_prefers_lock(true);
    k.sched.wake_first(next);
    k.sched.block(thread, 0);
}

/// Switches from `thread`, which has just blocked, straight to its peer
/// `next` on `cpu`: no queue, no pick. The peer's priority is the highest
/// ready; both keep what is left of their time slices.
///
/// # Safety
/// As for [`try_message`]; `next` is the peer the step committed to.
#[inline(always)]
unsafe fn hand_off<M: Machine, const SHARED: bool>(k: *mut Kernel<M>, cpu: usize, thread: usize, next: usize) -> usize {
    // SAFETY: per the contract: this CPU's count and slot, the two
    // threads', and the machine (which keeps nothing another CPU uses).
    unsafe {
        if SHARED {
            (*k).counters.shared_syscalls[cpu % crate::config::MAX_CPUS] += 1;
        } else {
            (*k).counters.syscalls += 1;
        }
        Scheduler::hand_off_on(&raw mut (*k).sched, cpu, thread, next);
        let peer: &Thread<M> = Kernel::thread_shared(k, next);
        let top = core::ptr::from_ref(&peer.frame) as usize + TrapFrame::SIZE;
        let switch = peer.switch;
        Kernel::machine_shared(k).switch_to(next, top, &switch);
    }
    next
}

/// Whether a message is register-only: everything above the word count is
/// zero and the count is valid (one comparison: the usual case).
#[inline(always)]
fn register_only(info: MsgInfo) -> bool {
    info.0 >> 32 <= MAX_WORDS as u64
}

/// The endpoint that the handle in `thread`'s registers names with
/// `rights`, with the handle's entry and the buffer in `thread`'s
/// registers; in shared mode claimed (`None` if another CPU has it): the
/// caller releases it ([`release`]).
///
/// # Safety
/// As for [`try_message`]; `thread` is current on this CPU.
#[inline(always)]
unsafe fn claim_endpoint<M: Machine, const SHARED: bool>(
    k: *mut Kernel<M>,
    thread: usize,
    rights: Rights,
) -> Option<(HandleEntry, usize, u64)> {
    // SAFETY: per the contract: the thread's slot (current here) and its
    // process's handle table (which only the exclusive mode changes); the
    // claims are atomic flags.
    unsafe {
        let t = Kernel::thread_shared(k, thread);
        let entry = Kernel::process_shared(k, t.process)
            .handles
            .require(t.frame.get(regs::HANDLE), rights)
            .ok()?;
        let endpoint = entry.endpoint().ok()?;
        if SHARED && !(*k).claims.try_claim(endpoint) {
            return None;
        }
        Some((entry, endpoint, t.frame.get(regs::BUFFER)))
    }
}

/// Gives up what [`claim_endpoint`] claimed.
///
/// # Safety
/// `k` points at the live kernel.
#[inline(always)]
unsafe fn release<M: Machine, const SHARED: bool>(k: *mut Kernel<M>, endpoint: usize) {
    if SHARED {
        // SAFETY: the claims are atomic flags.
        unsafe { (*k).claims.release(endpoint) };
    }
}

/// `call` of `info` (with bytes if `BYTES`) to a server already waiting on
/// the endpoint.
///
/// # Safety
/// As for [`try_message`]; `client` is current on `cpu`.
#[inline(always)]
unsafe fn call<M: Machine, const BYTES: bool, const SHARED: bool>(
    k: *mut Kernel<M>,
    cpu: usize,
    client: usize,
    info: MsgInfo,
) -> Option<usize> {
    // SAFETY: per the contract; in shared mode the endpoint is claimed for
    // the step, and released after it.
    unsafe {
        let (entry, endpoint, buffer) = claim_endpoint::<M, SHARED>(k, client, Rights::SEND)?;
        let next = call_claimed::<M, BYTES, SHARED>(k, cpu, client, info, entry.badge, endpoint, buffer);
        release::<M, SHARED>(k, endpoint);
        next
    }
}

/// [`call`] once the endpoint is found (and claimed in shared mode).
///
/// # Safety
/// As for [`call`]; in shared mode the caller holds `endpoint`'s claim.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn call_claimed<M: Machine, const BYTES: bool, const SHARED: bool>(
    k: *mut Kernel<M>,
    cpu: usize,
    client: usize,
    info: MsgInfo,
    badge: u64,
    endpoint: usize,
    buffer: u64,
) -> Option<usize> {
    // SAFETY: `k` points at the live kernel (a place, no reference).
    let ipc = unsafe { &raw mut (*k).ipc };
    // SAFETY: per the contract: the endpoint's slot, and then the server's,
    // which waits on it (no other CPU reaches either).
    let server = unsafe { Ipc::waiting_receiver::<SHARED>(ipc, endpoint) }?;
    // The reply will land in the client's receive buffer: one not checked
    // yet is checked by the slow path.
    // SAFETY: the client's slot, current here.
    if !receive_buffer_checked(unsafe { Kernel::thread_shared(k, client) }) {
        return None;
    }
    // SAFETY: the queues (only the exclusive mode changes them) and the
    // server's slot.
    if SHARED && !unsafe { Scheduler::runs_next_on(&raw const (*k).sched, cpu, server) } {
        return None;
    }
    // The bytes last: they land in the server's buffer, which nothing reads
    // before it runs, so a copy that fails changes nothing the slow path
    // would not write again. Then commit.
    // SAFETY: the exclusive mode only (shared mode takes no bytes).
    if BYTES && !info.is_empty() && !unsafe { move_bytes(&mut *k, client, buffer, info.len(), Some(server)) } {
        return None;
    }
    // A receiver waits in IPC and the client runs: two threads, so the two
    // references below are to two slots (`Ipc::check`; the host tests keep
    // the assertion).
    debug_assert_ne!(client, server, "a running thread waits on no endpoint");
    // SAFETY: per the contract: the endpoint's and the two threads' slots,
    // each reference to one of them.
    unsafe {
        Ipc::call_handoff::<SHARED>(ipc, client, server, endpoint);
        let (from, to) = (Kernel::thread_shared(k, client), Kernel::thread_shared(k, server));
        deliver(&from.frame, &mut to.frame, info);
        to.frame.set(regs::BADGE, badge);
        from.outgoing = Outgoing::Message;
        from.badge = badge;
    }
    Some(server)
}

/// `reply_recv` of `info` (with bytes if `BYTES`) from a server whose
/// caller waits and whose endpoint has no queued sender: reply, then wait.
///
/// # Safety
/// As for [`try_message`]; `server` is current on `cpu`.
#[inline(always)]
unsafe fn reply_recv<M: Machine, const BYTES: bool, const SHARED: bool>(
    k: *mut Kernel<M>,
    cpu: usize,
    server: usize,
    info: MsgInfo,
) -> Option<usize> {
    // SAFETY: as in `call`.
    unsafe {
        let (_, endpoint, buffer) = claim_endpoint::<M, SHARED>(k, server, Rights::RECEIVE)?;
        let next = reply_recv_claimed::<M, BYTES, SHARED>(k, cpu, server, info, endpoint, buffer);
        release::<M, SHARED>(k, endpoint);
        next
    }
}

/// [`reply_recv`] once the endpoint is found (and claimed in shared mode).
///
/// # Safety
/// As for [`reply_recv`]; in shared mode the caller holds `endpoint`'s
/// claim.
#[inline(always)]
unsafe fn reply_recv_claimed<M: Machine, const BYTES: bool, const SHARED: bool>(
    k: *mut Kernel<M>,
    cpu: usize,
    server: usize,
    info: MsgInfo,
    endpoint: usize,
    buffer: u64,
) -> Option<usize> {
    // SAFETY: `k` points at the live kernel (a place, no reference).
    let ipc = unsafe { &raw mut (*k).ipc };
    // SAFETY: per the contract: the server's reply slot (current here), the
    // claimed endpoint's slot and the caller's (blocked until this server
    // replies: no other CPU reaches it).
    unsafe {
        let caller = Ipc::pending_caller(ipc, server)?;
        // The caller waits for this reply and the server runs: two slots.
        debug_assert_ne!(caller, server, "a thread owes no reply to itself");
        if !Ipc::would_wait::<SHARED>(ipc, endpoint) {
            return None;
        }
        if !receive_buffer_checked(Kernel::thread_shared(k, server)) {
            return None;
        }
        if SHARED && !Scheduler::runs_next_on(&raw const (*k).sched, cpu, caller) {
            return None;
        }
        // The bytes last (see `call`). A caller the kernel answers itself
        // (a forwarded `write`) takes none, but the server's buffer is
        // checked all the same (the slow path checks every reply's).
        let outgoing = Kernel::thread_shared(k, caller).outgoing;
        if BYTES && !info.is_empty() {
            let receiver = (outgoing == Outgoing::Message).then_some(caller);
            // The exclusive mode only (shared mode takes no bytes).
            if !move_bytes(&mut *k, server, buffer, info.len(), receiver) {
                return None;
            }
        }
        Ipc::reply_and_wait::<SHARED>(ipc, server, caller, endpoint);
        let (from, to) = (Kernel::thread_shared(k, server), Kernel::thread_shared(k, caller));
        match outgoing.reply_result(&from.frame) {
            None => deliver(&from.frame, &mut to.frame, info),
            Some(result) => to.frame.set_result(result),
        }
        to.outgoing = Outgoing::Message;
        Some(caller)
    }
}

/// `write(fd, buffer, len)` to a console waiting on its endpoint: the call
/// the slow path's `write` composes ([`Outgoing::Write`]), made straight
/// away. Only what the slow path would send whole: fd 1 or 2, and 1 to
/// [`MAX_BUFFER`] bytes from the range the writer last sent from.
#[inline(always)]
fn write<M: Machine>(k: &mut Kernel<M>, writer: usize) -> Option<usize> {
    let frame = k.frame(writer);
    let (fd, buffer, len) = (frame.arg(0), frame.arg(1), frame.arg(2));
    if (fd != 1 && fd != 2) || len == 0 || len > MAX_BUFFER as u64 {
        return None;
    }
    let len = len as usize;
    let entry = k
        .process_of(writer)
        .handles
        .require(abi::handle::CONSOLE, Rights::SEND)
        .ok()?;
    let endpoint = entry.endpoint().ok()?;
    // SAFETY: `k` is borrowed whole.
    let console = unsafe { Ipc::waiting_receiver::<false>(&raw const k.ipc, endpoint) }?;
    // The bytes last (see `call`), then commit.
    if !move_bytes(k, writer, buffer, len, Some(console)) {
        return None;
    }
    // SAFETY: as above; `console` is the receiver just found.
    unsafe { Ipc::call_handoff::<false>(&raw mut k.ipc, writer, console, endpoint) };
    // The message the slow path composes for it (`Outgoing::compose`).
    let (info, words) = write_message(fd, len, k.process_of(writer).sender());
    let to = k.frame_mut(console);
    to.set_message_words(&words, MAX_WORDS);
    to.set(regs::INFO, info.0);
    to.set(regs::BADGE, entry.badge);
    to.set(abi::regs::RESULT, 0);
    let t = k.thread_mut(writer);
    t.outgoing = Outgoing::Write { fd, buffer, len };
    t.badge = entry.badge;
    Some(console)
}

/// Moves the `len` bytes (1 to [`MAX_BUFFER`]) that `sender`, the current
/// thread, sends from `address`, into `receiver`'s buffer (`None`: they go
/// nowhere, but are checked all the same). Only when the sender's range
/// and the receiver's buffer are both remembered as checked
/// ([`CheckedBuffers`]) and the bytes fit; `false` leaves it to the slow
/// path, to check them or to refuse with ETOOLONG or EFAULT.
#[inline(always)]
fn move_bytes<M: Machine>(k: &mut Kernel<M>, sender: usize, address: u64, len: usize, receiver: Option<usize>) -> bool {
    let Some(source) = k.thread(sender).buffers.send_slice(address, len) else {
        return false;
    };
    let Some(receiver) = receiver else {
        return true;
    };
    let to = k.frame(receiver);
    let Some(&target) = k
        .thread(receiver)
        .buffers
        .receive_target(to.get(regs::BUFFER), to.get(regs::CAPACITY))
    else {
        return false;
    };
    if len > target.capacity {
        return false;
    }
    let (machine, processes, threads) = (&mut k.machine, &k.processes, &k.threads);
    let space = processes[threads[sender % threads.len()].process].space();
    // SAFETY: `target` holds the physical pages under the receiver's buffer,
    // remembered when the buffer was found writable ([`CheckedBuffers`]);
    // every change to its process's mappings since would have forgotten them,
    // so they are still its pages, mapped writable, and the bytes fit its
    // capacity (checked above). The source was found readable the same way.
    unsafe { machine.copy_to_frames(space, source, target) }.is_ok()
}

/// Whether the receive buffer in `thread`'s registers is known to be
/// writable: empty, or the one the slow path last checked for this thread
/// (forgotten whenever the process's mappings change).
#[inline(always)]
fn receive_buffer_checked<M: Machine>(thread: &Thread<M>) -> bool {
    let buffers: &CheckedBuffers = &thread.buffers;
    buffers.receives(thread.frame.get(regs::BUFFER), thread.frame.get(regs::CAPACITY))
}
