//! The IPC syscalls: checking a message, meeting a peer through
//! [`super::state`], and moving the message with [`super::transfer`].
//!
//! Every argument is checked before anything changes (a syscall that fails
//! has had no effect). At a rendezvous only the receiving side can still
//! refuse the message (too long for its buffer, no room for a handle); the
//! sender then gets the error and the receiver keeps waiting. A reply the
//! caller cannot take ends the call with the error on both sides.

use super::message::Outgoing;
use super::state::{RecvOutcome, ReplySlot, SendOutcome};
use super::transfer::{self, receive_buffer};
use crate::handles::HandleEntry;
use crate::kernel::Kernel;
use crate::machine::Machine;
use crate::sched::RunState;
use crate::umem::{Access, UserSlice};
use crate::vm;
use crate::wake;
use abi::message::{MAX_BUFFER, MsgFlags};
use abi::regs::ipc as regs;
use abi::{Error, MsgInfo, Rights};

/// Checks the message `thread` is about to send from its registers: the
/// MsgInfo, the buffer (readable), and a handle to pass (needs TRANSFER).
fn check_message<M: Machine>(k: &mut Kernel<M>, thread: usize) -> Result<MsgInfo, Error> {
    let frame = k.frame(thread);
    let info = MsgInfo(frame.get(regs::INFO)).check()?;
    let (buffer, word) = (frame.get(regs::BUFFER), frame.get(regs::WORDS[0]));
    if info.flags().contains(MsgFlags::HANDLE) {
        k.process_of(thread).handles.require(word, Rights::TRANSFER)?;
    }
    check_send_buffer(k, thread, UserSlice::new(buffer, info.len())?)?;
    Ok(info)
}

/// Checks `thread` may send the bytes of `slice` (making missing pages),
/// and remembers the range for the fast path, unless it lies in the range
/// already remembered (its mappings unchanged since: `vm` forgets it then).
fn check_send_buffer<M: Machine>(k: &mut Kernel<M>, thread: usize, slice: UserSlice) -> Result<(), Error> {
    if k.thread(thread).buffers.sends(slice.address(), slice.len()) {
        return Ok(());
    }
    vm::prepare(k, thread, slice, Access::Read)?;
    k.thread_mut(thread).buffers.sent(slice);
    Ok(())
}

/// Checks a receive buffer is writable in the caller's address space, and
/// remembers it for the fast path with the physical pages under it (until
/// the process's mappings change: `vm` forgets it then).
fn check_receive_buffer<M: Machine>(k: &mut Kernel<M>, thread: usize) -> Result<(), Error> {
    let frame = k.frame(thread);
    let (address, capacity) = (frame.get(regs::BUFFER), frame.get(regs::CAPACITY));
    // An empty buffer needs no check (and is not remembered: the fast path
    // takes it as it is).
    if k.thread(thread).buffers.receives(address, capacity) {
        return Ok(());
    }
    let buffer = receive_buffer(frame)?;
    vm::prepare(k, thread, buffer, Access::Write)?;
    let frames = vm::frames_under(k, thread, buffer);
    k.thread_mut(thread).buffers.received(address, capacity, frames);
    Ok(())
}

/// How long a thread may wait in IPC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Wait {
    /// Fail with ETIMEDOUT instead of queueing on the endpoint.
    nonblocking: bool,
    /// Ticks to wait at most; 0: no limit.
    timeout: u32,
}

impl Wait {
    /// Waits as long as it takes (the kernel's own messages).
    const FOREVER: Wait = Wait {
        nonblocking: false,
        timeout: 0,
    };

    fn of(info: MsgInfo) -> Wait {
        Wait {
            nonblocking: info.flags().contains(MsgFlags::NONBLOCK),
            timeout: info.timeout(),
        }
    }
}

/// `send` and `call`.
pub fn send<M: Machine>(k: &mut Kernel<M>, thread: usize, call: bool) -> Result<(), Error> {
    let handle = k.frame(thread).get(regs::HANDLE);
    let info = check_message(k, thread)?;
    let entry = k.process_of(thread).handles.require(handle, Rights::SEND)?;
    if call {
        check_receive_buffer(k, thread)?;
    }
    k.thread_mut(thread).outgoing = Outgoing::Message;
    deliver_or_wait(k, thread, entry, call, Wait::of(info))
}

/// `write(fd, buf, len)`: a `call` to the console through handle 0 that the
/// kernel composes.
pub fn write<M: Machine>(k: &mut Kernel<M>, thread: usize) -> Result<(), Error> {
    let frame = k.frame(thread);
    let (fd, buffer, len) = (frame.arg(0), frame.arg(1), frame.arg(2) as usize);
    if fd != 1 && fd != 2 {
        return Err(Error::INVAL);
    }
    let sent = UserSlice::new(buffer, len)?.prefix(MAX_BUFFER);
    let entry = k
        .process_of(thread)
        .handles
        .require(abi::handle::CONSOLE, Rights::SEND)?;
    entry.endpoint()?;
    check_send_buffer(k, thread, sent)?;
    if sent.is_empty() {
        k.frame_mut(thread).set_result(Ok(0));
        return Ok(());
    }
    k.thread_mut(thread).outgoing = Outgoing::Write {
        fd,
        buffer,
        len: sent.len(),
    };
    deliver_or_wait(k, thread, entry, true, Wait::FOREVER)
}

/// Meets a receiver or waits for one.
fn deliver_or_wait<M: Machine>(
    k: &mut Kernel<M>,
    thread: usize,
    entry: HandleEntry,
    call: bool,
    wait: Wait,
) -> Result<(), Error> {
    let endpoint = entry.endpoint()?;
    k.thread_mut(thread).badge = entry.badge;
    match k.ipc.send(thread, endpoint, call)? {
        SendOutcome::Blocked if wait.nonblocking => {
            k.ipc.timeout(thread);
            Err(Error::TIMEDOUT)
        }
        SendOutcome::Blocked => {
            block(k, thread, wait);
            Ok(())
        }
        SendOutcome::Rendezvous { receiver } => match transfer::deliver(k, thread, receiver) {
            Ok(()) => {
                if let Some(abandoned) = k.ipc.complete(thread, receiver, call) {
                    wake::fail(k, abandoned, Error::PEERGONE);
                }
                k.sched.wake_first(receiver);
                if call {
                    // The reply is waited for even with NONBLOCK; the
                    // timeout still bounds the whole call.
                    block(
                        k,
                        thread,
                        Wait {
                            nonblocking: false,
                            ..wait
                        },
                    );
                } else {
                    k.frame_mut(thread).set_result(Ok(0));
                }
                Ok(())
            }
            Err(error) => {
                k.ipc.undo_receive(receiver, endpoint);
                Err(error)
            }
        },
    }
}

/// `recv`.
pub fn recv<M: Machine>(k: &mut Kernel<M>, thread: usize) -> Result<(), Error> {
    let frame = k.frame(thread);
    // Only the wait fields (NONBLOCK, timeout) mean anything to a receive;
    // the rest of the MsgInfo is ignored, as the ABI table says.
    let info = MsgInfo(frame.get(regs::INFO));
    let handle = frame.get(regs::HANDLE);
    let endpoint = k
        .process_of(thread)
        .handles
        .require(handle, Rights::RECEIVE)?
        .endpoint()?;
    check_receive_buffer(k, thread)?;
    if let Some(abandoned) = k.ipc.drop_pending_reply(thread) {
        wake::fail(k, abandoned, Error::PEERGONE);
    }
    receive(k, thread, endpoint, Wait::of(info))
}

/// Takes the first acceptable queued message, or waits.
fn receive<M: Machine>(k: &mut Kernel<M>, thread: usize, endpoint: usize, wait: Wait) -> Result<(), Error> {
    loop {
        match k.ipc.recv(thread, endpoint) {
            RecvOutcome::Blocked if wait.nonblocking => {
                k.ipc.timeout(thread);
                return Err(Error::TIMEDOUT);
            }
            RecvOutcome::Blocked => {
                block(k, thread, wait);
                return Ok(());
            }
            RecvOutcome::Signal { bits } => {
                crate::signals::receive_bits(k, thread, bits);
                return Ok(());
            }
            RecvOutcome::Rendezvous { sender, call } => match transfer::deliver(k, sender, thread) {
                Ok(()) => {
                    k.ipc.complete(sender, thread, call);
                    match k.sched.state(sender) {
                        RunState::Zombie => wake::reap(k, sender),
                        _ if !call => {
                            k.frame_mut(sender).set_result(Ok(0));
                            k.sched.wake(sender);
                        }
                        _ => {}
                    }
                    return Ok(());
                }
                Err(error) => {
                    k.ipc.reject_sender(sender);
                    wake::fail(k, sender, error);
                }
            },
        }
    }
}

/// `reply`.
pub fn reply<M: Machine>(k: &mut Kernel<M>, thread: usize) -> Result<(), Error> {
    check_message(k, thread)?;
    let caller = k.ipc.reply(thread)?;
    answer(k, thread, caller)?;
    k.frame_mut(thread).set_result(Ok(0));
    Ok(())
}

/// `reply_recv`: reply to the pending caller if there is one (a caller that
/// is gone is skipped), then receive.
pub fn reply_recv<M: Machine>(k: &mut Kernel<M>, thread: usize) -> Result<(), Error> {
    let info = check_message(k, thread)?;
    let handle = k.frame(thread).get(regs::HANDLE);
    let endpoint = k
        .process_of(thread)
        .handles
        .require(handle, Rights::RECEIVE)?
        .endpoint()?;
    check_receive_buffer(k, thread)?;
    match k.ipc.reply_slot(thread) {
        ReplySlot::Caller(_) => {
            let caller = k.ipc.reply(thread)?;
            answer(k, thread, caller)?;
        }
        ReplySlot::Gone => {
            let _ = k.ipc.reply(thread);
        }
        ReplySlot::Empty => {}
    }
    receive(k, thread, endpoint, Wait::of(info))
}

/// Delivers `server`'s reply to `caller`, which no longer waits in IPC
/// ([`super::state::Ipc::reply`] released it), and wakes it first among its
/// equals (the server usually goes on to wait). A reply the caller cannot
/// take (longer than its buffer, a handle with no room in its table, a
/// buffer it no longer has) ends the call for both sides: the caller's
/// `call` returns the error, and so does the server's `reply`. The server's
/// own mistakes (a bad MsgInfo, buffer or handle) were refused before, by
/// [`check_message`], with the caller still waiting.
fn answer<M: Machine>(k: &mut Kernel<M>, server: usize, caller: usize) -> Result<(), Error> {
    let delivered = transfer::check_reply_fits(k, server, caller).and_then(|()| transfer::reply(k, server, caller));
    match delivered {
        Ok(()) => {
            k.thread_mut(caller).outgoing = Outgoing::Message;
            k.sched.wake_first(caller);
        }
        Err(error) => wake::fail(k, caller, error),
    }
    delivered
}

/// `thread` waits in IPC, until a peer comes or its timeout runs out.
fn block<M: Machine>(k: &mut Kernel<M>, thread: usize, wait: Wait) {
    let deadline = if wait.timeout == 0 {
        0
    } else {
        k.now() + wait.timeout as u64
    };
    k.sched.block(thread, deadline);
}
