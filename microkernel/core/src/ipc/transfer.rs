//! Moving a message into its receiver: registers, buffer and handle.
//!
//! Everything the receiver can refuse (a message longer than its buffer, a
//! handle with no room in its table or its memory limit) is checked before
//! anything moves, so a refused message changes nothing on either side.

use super::message::Outgoing;
use crate::handles::HandleEntry;
use crate::kernel::Kernel;
use crate::machine::Machine;
use crate::objects;
use crate::trace;
use crate::trapframe::TrapFrame;
use crate::umem::UserSlice;
use crate::vm;
use abi::message::{MAX_BUFFER, MsgFlags};
use abi::regs::ipc as regs;
use abi::{Error, MsgInfo, Rights};

/// The receive buffer named in a thread's saved registers (its capacity
/// capped at the ABI maximum).
#[inline(always)]
pub fn receive_buffer(frame: &TrapFrame) -> Result<UserSlice, Error> {
    let capacity = (frame.get(regs::CAPACITY) as usize).min(MAX_BUFFER);
    UserSlice::new(frame.get(regs::BUFFER), capacity)
}

/// Moves the message `sender` sends into `receiver`, which was waiting in
/// `recv` or `reply_recv` (so it learns the badge of the sender's handle).
pub fn deliver<M: Machine>(k: &mut Kernel<M>, sender: usize, receiver: usize) -> Result<(), Error> {
    let (outgoing, badge) = (k.thread(sender).outgoing, k.thread(sender).badge);
    move_message(k, sender, outgoing, receiver, Some(badge))
}

/// Checks, before anything changes, that `caller` can take the reply
/// `server` is about to send: ETOOLONG if it is longer than the caller's
/// buffer, ETABLEFULL if it passes a handle and the caller's table is full,
/// ENOMEM if it passes a memory object the caller's limit cannot take.
pub fn check_reply_fits<M: Machine>(k: &Kernel<M>, server: usize, caller: usize) -> Result<(), Error> {
    if k.thread(caller).outgoing.reply_result(k.frame(server)).is_some() {
        return Ok(());
    }
    let info = MsgInfo(k.frame(server).get(regs::INFO));
    if info.len() > receive_buffer(k.frame(caller))?.len() {
        return Err(Error::TOOLONG);
    }
    if info.flags().contains(MsgFlags::HANDLE) {
        let caller_process = k.thread(caller).process;
        if !k.processes[caller_process].handles.has_room() {
            return Err(Error::TABLEFULL);
        }
        let entry = k.process_of(server).handles.get(k.frame(server).get(regs::WORDS[0]))?;
        objects::can_open(k, caller_process, entry)?;
    }
    Ok(())
}

/// Moves `server`'s reply into `caller`: the reply message, or, for a
/// message the kernel composed on the caller's behalf, the result the
/// kernel makes of it (a forwarded `write` returns the count).
pub fn reply<M: Machine>(k: &mut Kernel<M>, server: usize, caller: usize) -> Result<(), Error> {
    match k.thread(caller).outgoing.reply_result(k.frame(server)) {
        Some(result) => {
            k.frame_mut(caller).set_result(result);
            if k.tracing() {
                trace::peer(k, caller, server);
            }
            Ok(())
        }
        // A reply is always in the server's registers and buffer.
        None => move_message(k, server, Outgoing::Message, caller, None),
    }
}

/// Copies `outgoing`, the message `sender` sends, into `receiver`'s
/// registers and buffer. Checks first what the receiver can refuse, so a
/// refused message changes nothing.
fn move_message<M: Machine>(
    k: &mut Kernel<M>,
    sender: usize,
    outgoing: Outgoing,
    receiver: usize,
    badge: Option<u64>,
) -> Result<(), Error> {
    let from = k.process_of(sender).sender();
    let message = outgoing.compose(k.frame(sender), from)?;
    let (info, mut words) = (message.info, message.words);
    let capacity = receive_buffer(k.frame(receiver))?;
    if info.len() > capacity.len() {
        return Err(Error::TOOLONG);
    }
    let receiving = k.thread(receiver).process;
    let passed: Option<HandleEntry> = if info.flags().contains(MsgFlags::HANDLE) {
        if !k.processes[receiving].handles.has_room() {
            return Err(Error::TABLEFULL);
        }
        let entry = k.process_of(sender).handles.require(words[0], Rights::TRANSFER)?;
        objects::can_open(k, receiving, entry)?;
        Some(entry)
    } else {
        None
    };
    if !message.source.is_empty() {
        vm::copy_between(k, sender, message.source, receiver, capacity, info.len())?;
    }
    if let Some(entry) = passed {
        words[0] = k.processes[receiving].handles.insert(entry)?;
        objects::opened(k, receiving, entry).expect("checked above");
    }
    // Only the words the message has: the receiver's registers beyond the
    // count keep its own values, so none of the sender's leak (the fast
    // path does the same).
    let to = k.frame_mut(receiver);
    to.set_message_words(&words, info.words());
    to.set(regs::INFO, info.0);
    if let Some(badge) = badge {
        to.set(regs::BADGE, badge);
    }
    to.set_result(Ok(0));
    if k.tracing() {
        trace::peer(k, sender, receiver);
        trace::peer(k, receiver, sender);
    }
    Ok(())
}
