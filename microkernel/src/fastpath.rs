//! The IPC fast path: `call` and `reply_recv` with a register-only message,
//! switching straight to the peer.
//!
//! It handles the common case of a client calling a waiting server and the
//! server replying and waiting again (also to a `write` the kernel
//! forwarded, which returns the count replied), and nothing else: a buffer, a handle to
//! pass, NONBLOCK or a timeout, a peer that cannot run at once, a receiver
//! that still owes someone a reply, a queued sender, tracing: all of these
//! decline to the slow path
//! (`messages.rs`), which serves every case. What the fast path does accept
//! it checks exactly as the slow path would (handle, rights, generation,
//! receiver state, buffer) and it leaves the same state behind (see the
//! `fast_path_steps_match_the_slow_path` test in `ipc.rs`).

use crate::arch::{self, TrapFrame};
use crate::state::{Kernel, Outgoing, RunState};
use crate::syscalls::SERVED;
use crate::trace;
use abi::message::MAX_WORDS;
use abi::regs::ipc as regs;
use abi::{MsgInfo, Rights, Syscall};
use core::sync::atomic::Ordering;

/// A MsgInfo the fast path takes: up to six words, and no length, flags or
/// timeout (everything above the word count is zero).
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

/// Tries the fast path for the syscall whose frame (of the current thread
/// `thread`) is `frame`; returns the frame to resume, or `None` to take the
/// slow path (nothing has changed then).
#[inline(always)]
pub fn try_ipc(k: &mut Kernel, thread: usize, frame: &TrapFrame) -> Option<*mut TrapFrame> {
    if trace::enabled() {
        return None;
    }
    let number = frame.syscall_number();
    let next = if number == Syscall::Call as u64 {
        call(k, thread, frame)?
    } else if number == Syscall::ReplyRecv as u64 {
        reply_recv(k, thread, frame)?
    } else {
        return None;
    };
    SERVED.fetch_add(1, Ordering::Relaxed);
    // Switch straight to the peer: no scheduler pass, the current thread
    // has just blocked and the peer's priority is the highest ready. Both
    // keep what is left of their time slices.
    let peer = k.thread_mut(next);
    peer.state = RunState::Running;
    // Its wait is over: a timeout it waited with must not fire later.
    peer.deadline = 0;
    k.current = Some(next);
    arch::switch_to(&k.thread(next).switch);
    Some(arch::frame_pointer(next))
}

/// `call` to a server already waiting on the endpoint.
#[inline(always)]
fn call(k: &mut Kernel, client: usize, frame: &TrapFrame) -> Option<usize> {
    let info = MsgInfo(frame.get(regs::INFO));
    if !register_only(info) {
        return None;
    }
    let entry = k
        .process_of(client)
        .handles
        .require(frame.get(regs::HANDLE), Rights::SEND)
        .ok()?;
    let server = k.ipc.waiting_receiver(entry.endpoint)?;
    if k.run_queues
        .highest()
        .is_some_and(|ready| ready > k.thread(server).priority)
    {
        return None;
    }
    // A reply with bytes takes the slow path, which checks the client's
    // receive buffer then; one the slow path already checked is fine now.
    if !receive_buffer_checked(k, client, frame) {
        return None;
    }
    // Checked: commit.
    k.ipc.call_handoff(client, server, entry.endpoint);
    let to = arch::frame(server);
    deliver(frame, to, info);
    to.set(regs::BADGE, entry.badge);
    let t = k.thread_mut(client);
    t.state = RunState::Blocked;
    t.outgoing = Outgoing::Message;
    t.badge = entry.badge;
    t.deadline = 0;
    Some(server)
}

/// `reply_recv` from a server whose caller waits and whose endpoint has no
/// queued sender: reply, then wait.
#[inline(always)]
fn reply_recv(k: &mut Kernel, server: usize, frame: &TrapFrame) -> Option<usize> {
    let info = MsgInfo(frame.get(regs::INFO));
    if !register_only(info) {
        return None;
    }
    let entry = k
        .process_of(server)
        .handles
        .require(frame.get(regs::HANDLE), Rights::RECEIVE)
        .ok()?;
    let caller = k.ipc.pending_caller(server)?;
    if k.ipc.has_sender(entry.endpoint) {
        return None;
    }
    if k.run_queues
        .highest()
        .is_some_and(|ready| ready > k.thread(caller).priority)
    {
        return None;
    }
    if !receive_buffer_checked(k, server, frame) {
        return None;
    }
    k.ipc.reply_and_wait(server, caller, entry.endpoint);
    let to = arch::frame(caller);
    match k.thread(caller).outgoing {
        Outgoing::Message => deliver(frame, to, info),
        // A forwarded write returns the count the console replied with.
        Outgoing::Write { len, .. } => to.set_result(abi::console::write_result(frame.get(regs::WORDS[0]), len)),
        Outgoing::Notice { .. } => unreachable!("a notice is a send: no one waits for its reply"),
    }
    k.thread_mut(caller).outgoing = Outgoing::Message;
    let t = k.thread_mut(server);
    t.state = RunState::Blocked;
    t.deadline = 0;
    Some(caller)
}

/// Whether the receive buffer in `thread`'s registers is known to be
/// writable: empty, or the one the slow path last checked for this thread
/// (address spaces never lose a mapping while their process lives, so a
/// checked buffer stays good).
#[inline(always)]
fn receive_buffer_checked(k: &Kernel, thread: usize, frame: &TrapFrame) -> bool {
    let capacity = frame.get(regs::CAPACITY);
    capacity == 0 || k.thread(thread).checked_buffer == (frame.get(regs::BUFFER), capacity)
}
