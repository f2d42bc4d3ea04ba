//! IPC syscalls: checking a message, meeting a peer through [`crate::ipc`],
//! and moving the message (registers, buffer, handle) into the peer.
//!
//! Every argument is checked before anything changes (a syscall that fails
//! has had no effect). At a rendezvous only the receiving side can still
//! refuse the message (too long for its buffer, no room for a handle); the
//! sender then gets the error and the receiver keeps waiting.

use crate::arch::{self, TrapFrame};
use crate::handles::HandleEntry;
use crate::ipc::{RecvOutcome, ReplySlot, SendOutcome};
use crate::process;
use crate::state::{Kernel, Outgoing, RunState};
use crate::trace;
use crate::umem::{self, Access, UserSlice};
use abi::message::{MAX_BUFFER, MAX_WORDS, MsgFlags};
use abi::regs::ipc as regs;
use abi::{Error, MsgInfo, Rights, console};

/// The receive buffer `thread` named in its registers (capacity capped at
/// the ABI maximum).
fn receive_buffer(frame: &TrapFrame) -> Result<UserSlice, Error> {
    let capacity = (frame.get(regs::CAPACITY) as usize).min(MAX_BUFFER);
    UserSlice::new(frame.get(regs::BUFFER), capacity)
}

/// Checks the message `thread` is about to send from its registers: the
/// MsgInfo, the buffer (readable), and a handle to pass (needs TRANSFER).
fn check_message(k: &Kernel, thread: usize) -> Result<MsgInfo, Error> {
    let frame = arch::frame(thread);
    let info = MsgInfo(frame.get(regs::INFO)).check()?;
    let process = k.process_of(thread);
    UserSlice::new(frame.get(regs::BUFFER), info.len())?.check(process.space(), Access::Read)?;
    if info.flags().contains(MsgFlags::HANDLE) {
        process.handles.require(frame.get(regs::WORDS[0]), Rights::TRANSFER)?;
    }
    Ok(info)
}

/// Checks a receive buffer is writable in the caller's address space, and
/// remembers it for the fast path (mappings never go away while a process
/// lives, so a buffer found writable stays writable).
fn check_receive_buffer(k: &mut Kernel, thread: usize) -> Result<(), Error> {
    let frame = arch::frame(thread);
    let (address, capacity) = (frame.get(regs::BUFFER), frame.get(regs::CAPACITY));
    if capacity != 0 && k.threads[thread].checked_buffer == (address, capacity) {
        return Ok(());
    }
    receive_buffer(frame)?.check(k.process_of(thread).space(), Access::Write)?;
    k.threads[thread].checked_buffer = (address, capacity);
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
pub fn send(k: &mut Kernel, thread: usize, call: bool) -> Result<(), Error> {
    let frame = arch::frame(thread);
    let handle = frame.get(regs::HANDLE);
    let info = check_message(k, thread)?;
    let entry = k.process_of(thread).handles.require(handle, Rights::SEND)?;
    if call {
        check_receive_buffer(k, thread)?;
    }
    k.threads[thread].outgoing = Outgoing::Message;
    deliver_or_wait(k, thread, entry, call, Wait::of(info))
}

/// `write(fd, buf, len)`: a `call` to the console through handle 0 that the
/// kernel composes.
pub fn write(k: &mut Kernel, thread: usize) -> Result<(), Error> {
    let frame = arch::frame(thread);
    let (fd, buffer, len) = (frame.arg(0), frame.arg(1), frame.arg(2) as usize);
    if fd != 1 && fd != 2 {
        return Err(Error::INVAL);
    }
    let whole = UserSlice::new(buffer, len)?;
    let sent = whole.prefix(MAX_BUFFER);
    let process = k.process_of(thread);
    sent.check(process.space(), Access::Read)?;
    let entry = process.handles.require(abi::handle::CONSOLE, Rights::SEND)?;
    if sent.is_empty() {
        arch::frame(thread).set_result(Ok(0));
        return Ok(());
    }
    k.threads[thread].outgoing = Outgoing::Write {
        fd,
        buffer,
        len: sent.len(),
    };
    deliver_or_wait(k, thread, entry, true, Wait::FOREVER)
}

/// Meets a receiver or waits for one.
fn deliver_or_wait(k: &mut Kernel, thread: usize, entry: HandleEntry, call: bool, wait: Wait) -> Result<(), Error> {
    k.threads[thread].badge = entry.badge;
    match k.ipc.send(thread, entry.endpoint, call)? {
        SendOutcome::Blocked if wait.nonblocking => {
            k.ipc.timeout(thread);
            Err(Error::TIMEDOUT)
        }
        SendOutcome::Blocked => {
            block(k, thread, wait);
            Ok(())
        }
        SendOutcome::Rendezvous { receiver } => match transfer(k, thread, receiver) {
            Ok(()) => {
                if let Some(abandoned) = k.ipc.complete(thread, receiver, call) {
                    process::fail(k, abandoned, Error::PEERGONE);
                }
                process::make_ready_first(k, receiver);
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
                    arch::frame(thread).set_result(Ok(0));
                }
                Ok(())
            }
            Err(error) => {
                k.ipc.undo_receive(receiver, entry.endpoint);
                Err(error)
            }
        },
    }
}

/// `recv`.
pub fn recv(k: &mut Kernel, thread: usize) -> Result<(), Error> {
    let frame = arch::frame(thread);
    // Only the wait fields (NONBLOCK, timeout) mean anything to a receive;
    // the rest of the MsgInfo is ignored, as the ABI table says.
    let info = MsgInfo(frame.get(regs::INFO));
    let entry = k
        .process_of(thread)
        .handles
        .require(frame.get(regs::HANDLE), Rights::RECEIVE)?;
    check_receive_buffer(k, thread)?;
    if let Some(abandoned) = k.ipc.drop_pending_reply(thread) {
        process::fail(k, abandoned, Error::PEERGONE);
    }
    receive(k, thread, entry.endpoint, Wait::of(info))
}

/// Takes the first acceptable queued message, or waits.
fn receive(k: &mut Kernel, thread: usize, endpoint: usize, wait: Wait) -> Result<(), Error> {
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
            RecvOutcome::Rendezvous { sender, call } => match transfer(k, sender, thread) {
                Ok(()) => {
                    k.ipc.complete(sender, thread, call);
                    match k.threads[sender].state {
                        RunState::Zombie => process::reap(k, sender),
                        _ if !call => {
                            arch::frame(sender).set_result(Ok(0));
                            process::make_ready(k, sender);
                        }
                        _ => {}
                    }
                    return Ok(());
                }
                Err(error) => {
                    k.ipc.reject_sender(sender);
                    process::fail(k, sender, error);
                }
            },
        }
    }
}

/// `reply`.
pub fn reply(k: &mut Kernel, thread: usize) -> Result<(), Error> {
    check_message(k, thread)?;
    let caller = k.ipc.reply(thread)?;
    answer(k, thread, caller)?;
    arch::frame(thread).set_result(Ok(0));
    Ok(())
}

/// `reply_recv`: reply to the pending caller if there is one (a caller that
/// is gone is skipped), then receive.
pub fn reply_recv(k: &mut Kernel, thread: usize) -> Result<(), Error> {
    let info = check_message(k, thread)?;
    let handle = arch::frame(thread).get(regs::HANDLE);
    let entry = k.process_of(thread).handles.require(handle, Rights::RECEIVE)?;
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
    receive(k, thread, entry.endpoint, Wait::of(info))
}

/// Delivers `server`'s reply to `caller`, which no longer waits in IPC
/// ([`crate::ipc::Ipc::reply`] released it). A reply the caller cannot take
/// (longer than its buffer, a handle with no room in its table, a buffer it
/// no longer has) ends the call for both sides: the caller's `call` returns
/// the error, and so does the server's `reply`. The server's own mistakes
/// (a bad MsgInfo, buffer or handle) were refused before, by
/// `check_message`, with the caller still waiting.
fn answer(k: &mut Kernel, server: usize, caller: usize) -> Result<(), Error> {
    let delivered = check_reply_fits(k, server, caller).and_then(|()| deliver_reply(k, server, caller));
    if let Err(error) = delivered {
        process::fail(k, caller, error);
    }
    delivered
}

/// Refuses a reply the caller cannot take, before anything changes.
fn check_reply_fits(k: &Kernel, server: usize, caller: usize) -> Result<(), Error> {
    let info = MsgInfo(arch::frame(server).get(regs::INFO));
    if let Outgoing::Write { .. } = k.threads[caller].outgoing {
        return Ok(());
    }
    if info.len() > receive_buffer(arch::frame(caller))?.len() {
        return Err(Error::TOOLONG);
    }
    if info.flags().contains(MsgFlags::HANDLE) && !k.process_of(caller).handles.has_room() {
        return Err(Error::TABLEFULL);
    }
    Ok(())
}

/// Moves a reply from `server` into `caller` and wakes it (preferred to run
/// next: the server usually goes on to wait).
fn deliver_reply(k: &mut Kernel, server: usize, caller: usize) -> Result<(), Error> {
    if let Outgoing::Write { len, .. } = k.threads[caller].outgoing {
        let result = abi::console::write_result(arch::frame(server).get(regs::WORDS[0]), len);
        arch::frame(caller).set_result(result);
        if trace::enabled() {
            trace::peer(k, caller, server);
        }
    } else {
        move_message(k, server, caller, None)?;
    }
    process::make_ready_first(k, caller);
    Ok(())
}

/// Moves the message `sender` sends into `receiver`, which was waiting in
/// `recv`/`reply_recv` (so it learns the badge).
pub fn transfer(k: &mut Kernel, sender: usize, receiver: usize) -> Result<(), Error> {
    let badge = k.threads[sender].badge;
    move_message(k, sender, receiver, Some(badge))
}

/// Copies a message into `receiver`'s registers and buffer. Checks first
/// what the receiver can refuse, so a refused message changes nothing.
fn move_message(k: &mut Kernel, sender: usize, receiver: usize, badge: Option<u64>) -> Result<(), Error> {
    let (from, to) = arch::frames_pair(sender, receiver);
    let capacity = receive_buffer(to)?;
    let (info, mut words, source) = match k.threads[sender].outgoing {
        Outgoing::Message => {
            let info = MsgInfo(from.get(regs::INFO));
            let source = UserSlice::new(from.get(regs::BUFFER), info.len())?;
            (info, from.message_words(), Some(source))
        }
        Outgoing::Write { fd, buffer, len } => {
            let process = k.process_of(sender);
            let [name0, name1] = process.name_words;
            let info = MsgInfo::new(console::WRITE, MAX_WORDS, len).with_flags(MsgFlags::KERNEL);
            (
                info,
                [fd, process.pid as u64, 0, 0, name0, name1],
                Some(UserSlice::new(buffer, len)?),
            )
        }
        Outgoing::Notice { label, words } => (
            MsgInfo::new(label, MAX_WORDS, 0).with_flags(MsgFlags::KERNEL),
            words,
            None,
        ),
    };
    if info.len() > capacity.len() {
        return Err(Error::TOOLONG);
    }
    let passed = if info.flags().contains(MsgFlags::HANDLE) {
        if !k.process_of(receiver).handles.has_room() {
            return Err(Error::TABLEFULL);
        }
        Some(k.process_of(sender).handles.require(words[0], Rights::TRANSFER)?)
    } else {
        None
    };
    if let Some(source) = source.filter(|s| !s.is_empty()) {
        let (from_space, to_space) = (k.process_of(sender).space(), k.process_of(receiver).space());
        umem::transfer(from_space, source, to_space, capacity, info.len())?;
    }
    if let Some(entry) = passed {
        words[0] = k.process_of_mut(receiver).handles.insert(entry)?;
        k.ipc.handle_opened(entry.endpoint, entry.rights);
    }
    // Only the words the message has: the receiver's registers beyond the
    // count keep its own values, so none of the sender's leak (the fast path
    // does the same).
    to.set_message_words(&words, info.words());
    to.set(regs::INFO, info.0);
    if let Some(badge) = badge {
        to.set(regs::BADGE, badge);
    }
    to.set_result(Ok(0));
    if trace::enabled() {
        trace::peer(k, sender, receiver);
        trace::peer(k, receiver, sender);
    }
    Ok(())
}

/// `thread` waits in IPC, until a peer comes or its timeout runs out.
fn block(k: &mut Kernel, thread: usize, wait: Wait) {
    let t = &mut k.threads[thread];
    t.state = RunState::Blocked;
    t.deadline = if wait.timeout == 0 {
        0
    } else {
        k.ticks + wait.timeout as u64
    };
}
