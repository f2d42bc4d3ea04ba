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

use super::message::{Outgoing, write_message};
use crate::kernel::Kernel;
use crate::machine::Machine;
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

/// Tries the fast path for the current thread `thread`'s syscall. Returns
/// what it did ([`Taken`]), or `None` to take the slow path (nothing has
/// changed then).
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
    try_message::<M, BYTES>(k, thread, info)
}

/// `call` or `reply_recv` of `info`, which has bytes if `BYTES`.
#[inline(always)]
fn try_message<M: Machine, const BYTES: bool>(k: &mut Kernel<M>, thread: usize, info: MsgInfo) -> Option<Taken> {
    let number = k.frame(thread).syscall_number();
    let next = if number == Syscall::Call as u64 {
        call::<M, BYTES>(k, thread, info)?
    } else if number == Syscall::ReplyRecv as u64 {
        reply_recv::<M, BYTES>(k, thread, info)?
    } else {
        return None;
    };
    Some(finish(k, thread, next))
}

/// Tries the fast path for the current thread `thread`'s `write`: as
/// [`try_ipc`].
#[inline(always)]
pub fn try_write<M: Machine>(k: &mut Kernel<M>, thread: usize) -> Option<Taken> {
    if k.tracing() {
        return None;
    }
    let next = write(k, thread)?;
    Some(finish(k, thread, next))
}

/// After the commit: `thread` waits, and its peer `next` runs at once
/// here if it runs next here ([`hand_off`]), or is woken for the
/// scheduler otherwise ([`wake_peer`]).
#[inline(always)]
fn finish<M: Machine>(k: &mut Kernel<M>, thread: usize, next: usize) -> Taken {
    if runs_next_here(k, next) {
        Taken::Switched(hand_off(k, thread, next))
    } else {
        wake_peer(k, thread, next);
        Taken::Woke
    }
}

/// The slow path's scheduling after a message or reply delivered: the peer
/// ready at the front of its priority (or at the back with a new slice),
/// `thread` blocked without a deadline (the fast path takes no timeout);
/// then the CPU picks. Out of line: it costs the hand-off nothing.
#[cold]
#[inline(never)]
fn wake_peer<M: Machine>(k: &mut Kernel<M>, thread: usize, next: usize) {
    k.counters.syscalls += 1;
    k.sched.wake_first(next);
    k.sched.block(thread, 0);
}

/// Switches from `thread`, which has just blocked, straight to its peer
/// `next`: no queue, no pick. The peer's priority is the highest ready;
/// both keep what is left of their time slices.
#[inline(always)]
fn hand_off<M: Machine>(k: &mut Kernel<M>, thread: usize, next: usize) -> usize {
    k.counters.syscalls += 1;
    k.sched.hand_off(thread, next);
    let top = k.frame_top(next);
    let switch = k.thread(next).switch;
    k.machine.switch_to(next, top, &switch);
    next
}

/// Whether a message is register-only: everything above the word count is
/// zero and the count is valid (one comparison: the usual case).
#[inline(always)]
fn register_only(info: MsgInfo) -> bool {
    info.0 >> 32 <= MAX_WORDS as u64
}

/// `call` of `info` (with bytes if `BYTES`) to a server already waiting on
/// the endpoint.
#[inline(always)]
fn call<M: Machine, const BYTES: bool>(k: &mut Kernel<M>, client: usize, info: MsgInfo) -> Option<usize> {
    let frame = k.frame(client);
    let entry = k
        .process_of(client)
        .handles
        .require(frame.get(regs::HANDLE), Rights::SEND)
        .ok()?;
    let endpoint = entry.endpoint().ok()?;
    let server = k.ipc.waiting_receiver(endpoint)?;
    // The reply will land in the client's receive buffer: one not checked
    // yet is checked by the slow path.
    if !receive_buffer_checked(k, client) {
        return None;
    }
    // The bytes last: they land in the server's buffer, which nothing reads
    // before it runs, so a copy that fails changes nothing the slow path
    // would not write again. Then commit.
    if BYTES && !info.is_empty() && !move_bytes(k, client, frame.get(regs::BUFFER), info.len(), Some(server)) {
        return None;
    }
    k.ipc.call_handoff(client, server, endpoint);
    let (from, to) = k.frames_mut(client, server);
    deliver(from, to, info);
    to.set(regs::BADGE, entry.badge);
    let t = k.thread_mut(client);
    t.outgoing = Outgoing::Message;
    t.badge = entry.badge;
    Some(server)
}

/// `reply_recv` of `info` (with bytes if `BYTES`) from a server whose
/// caller waits and whose endpoint has no queued sender: reply, then wait.
#[inline(always)]
fn reply_recv<M: Machine, const BYTES: bool>(k: &mut Kernel<M>, server: usize, info: MsgInfo) -> Option<usize> {
    let frame = k.frame(server);
    let endpoint = k
        .process_of(server)
        .handles
        .require(frame.get(regs::HANDLE), Rights::RECEIVE)
        .ok()?
        .endpoint()
        .ok()?;
    let caller = k.ipc.pending_caller(server)?;
    if k.ipc.has_sender(endpoint) {
        return None;
    }
    if !receive_buffer_checked(k, server) {
        return None;
    }
    // The bytes last (see `call`). A caller the kernel answers itself (a
    // forwarded `write`) takes none, but the server's buffer is checked all
    // the same (the slow path checks every reply's).
    let outgoing = k.thread(caller).outgoing;
    if BYTES && !info.is_empty() {
        let receiver = (outgoing == Outgoing::Message).then_some(caller);
        if !move_bytes(k, server, frame.get(regs::BUFFER), info.len(), receiver) {
            return None;
        }
    }
    k.ipc.reply_and_wait(server, caller, endpoint);
    let (from, to) = k.frames_mut(server, caller);
    match outgoing.reply_result(from) {
        None => deliver(from, to, info),
        Some(result) => to.set_result(result),
    }
    k.thread_mut(caller).outgoing = Outgoing::Message;
    Some(caller)
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
    let console = k.ipc.waiting_receiver(endpoint)?;
    // The bytes last (see `call`), then commit.
    if !move_bytes(k, writer, buffer, len, Some(console)) {
        return None;
    }
    k.ipc.call_handoff(writer, console, endpoint);
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

/// Whether `peer`, woken, would run next on this CPU: nothing readier
/// waits, it may run here, and it has slice left (a peer without goes to
/// the back of its queue, which the slow path does).
#[inline(always)]
fn runs_next_here<M: Machine>(k: &Kernel<M>, peer: usize) -> bool {
    !k.sched.outranked(k.sched.priority(peer)) && k.sched.may_run_here(peer) && k.sched.slice_left(peer) != 0
}

/// Whether the receive buffer in `thread`'s registers is known to be
/// writable: empty, or the one the slow path last checked for this thread
/// (forgotten whenever the process's mappings change).
#[inline(always)]
fn receive_buffer_checked<M: Machine>(k: &Kernel<M>, thread: usize) -> bool {
    let frame = k.frame(thread);
    let buffers: &CheckedBuffers = &k.thread(thread).buffers;
    buffers.receives(frame.get(regs::BUFFER), frame.get(regs::CAPACITY))
}
