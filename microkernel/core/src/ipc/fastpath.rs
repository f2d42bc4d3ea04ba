//! The IPC fast path: `call` and `reply_recv` with a register-only message,
//! switching straight to the peer.
//!
//! It takes the common case of a client calling a waiting server, and of the
//! server replying and waiting again (also to a `write` the kernel
//! forwarded, which returns the count replied), and nothing else. A buffer,
//! a handle to pass, NONBLOCK or a timeout, a peer that cannot run at once
//! on this CPU (something readier waits, its affinity excludes this CPU, or
//! its slice is used up),
//! a receiver that still owes someone a reply, a queued sender, tracing:
//! each declines to the slow path ([`super::syscalls`]), which serves every
//! case. Like seL4's fastpath it is a flat list of checks, then a commit:
//! nothing changes before the last check passes, what it accepts it checks
//! exactly as the slow path would (handle, rights, generation, receiver
//! state, buffer), and it leaves the state the slow path would (the host
//! tests run both and compare).

use super::message::Outgoing;
use crate::kernel::Kernel;
use crate::machine::Machine;
use crate::trapframe::TrapFrame;
use abi::message::MAX_WORDS;
use abi::regs::ipc as regs;
use abi::{MsgInfo, Rights, Syscall};

/// A MsgInfo the fast path takes: up to six words, and no length, flags or
/// timeout (everything above the word count is zero).
#[inline(always)]
fn register_only(info: MsgInfo) -> bool {
    info.0 >> 32 <= MAX_WORDS as u64
}

/// Moves the message words and MsgInfo from `from` to `to`, and returns
/// success to `to`.
#[inline(always)]
fn deliver(from: &TrapFrame, to: &mut TrapFrame, info: MsgInfo) {
    to.copy_message_words(from, info.words());
    to.set(regs::INFO, info.0);
    to.set(abi::regs::RESULT, 0);
}

/// Tries the fast path for the current thread `thread`'s syscall. Returns
/// the thread to resume (now current, the machine switched to it), or
/// `None` to take the slow path (nothing has changed then).
#[inline(always)]
pub fn try_ipc<M: Machine>(k: &mut Kernel<M>, thread: usize) -> Option<usize> {
    if k.tracing() {
        return None;
    }
    let number = k.frame(thread).syscall_number();
    let next = if number == Syscall::Call as u64 {
        call(k, thread)?
    } else if number == Syscall::ReplyRecv as u64 {
        reply_recv(k, thread)?
    } else {
        return None;
    };
    k.counters.syscalls += 1;
    // Switch straight to the peer: no queue, no pick. The current thread
    // has just blocked and the peer's priority is the highest ready; both
    // keep what is left of their time slices.
    k.sched.hand_off(thread, next);
    let top = k.frame_top(next);
    let switch = k.thread(next).switch;
    k.machine.switch_to(next, top, &switch);
    Some(next)
}

/// `call` to a server already waiting on the endpoint.
#[inline(always)]
fn call<M: Machine>(k: &mut Kernel<M>, client: usize) -> Option<usize> {
    let frame = k.frame(client);
    let info = MsgInfo(frame.get(regs::INFO));
    if !register_only(info) {
        return None;
    }
    let entry = k
        .process_of(client)
        .handles
        .require(frame.get(regs::HANDLE), Rights::SEND)
        .ok()?;
    let endpoint = entry.endpoint().ok()?;
    let server = k.ipc.waiting_receiver(endpoint)?;
    if !runs_next_here(k, server) {
        return None;
    }
    // A reply with bytes takes the slow path, which checks the client's
    // receive buffer then; one the slow path already checked is fine now.
    if !receive_buffer_checked(k, client) {
        return None;
    }
    // Checked: commit.
    k.ipc.call_handoff(client, server, endpoint);
    let (from, to) = k.frames_mut(client, server);
    deliver(from, to, info);
    to.set(regs::BADGE, entry.badge);
    let t = k.thread_mut(client);
    t.outgoing = Outgoing::Message;
    t.badge = entry.badge;
    Some(server)
}

/// `reply_recv` from a server whose caller waits and whose endpoint has no
/// queued sender: reply, then wait.
#[inline(always)]
fn reply_recv<M: Machine>(k: &mut Kernel<M>, server: usize) -> Option<usize> {
    let frame = k.frame(server);
    let info = MsgInfo(frame.get(regs::INFO));
    if !register_only(info) {
        return None;
    }
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
    if !runs_next_here(k, caller) {
        return None;
    }
    if !receive_buffer_checked(k, server) {
        return None;
    }
    // Checked: commit.
    k.ipc.reply_and_wait(server, caller, endpoint);
    let outgoing = k.thread(caller).outgoing;
    let (from, to) = k.frames_mut(server, caller);
    match outgoing.reply_result(from) {
        None => deliver(from, to, info),
        Some(result) => to.set_result(result),
    }
    k.thread_mut(caller).outgoing = Outgoing::Message;
    Some(caller)
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
    let capacity = frame.get(regs::CAPACITY);
    capacity == 0 || k.thread(thread).checked_buffer == (frame.get(regs::BUFFER), capacity)
}
