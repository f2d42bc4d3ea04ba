//! What the kernel must do with what the fuzzer sends the sink and the
//! mirror. Each receives with a room that follows from the last message it
//! took (`fuzzer::peer::room`; the fuzzer is the only program that sends
//! them anything, so it knows that message), so a longer message must be
//! refused by the kernel with ETOOLONG and a shorter one taken; and each
//! answers some labels (`fuzzer::peer::refusal`) and some write lengths
//! with an error reply, which `write` returns as EINVAL or EPEERGONE and
//! `call` delivers as it is.

use crate::Fuzzer;
use crate::generate::Plan;
use crate::model::{Held, Target};
use abi::message::MAX_BUFFER;
use abi::{Error, MsgInfo, Syscall};
use fuzzer::peer;

impl Fuzzer {
    /// The sink or the mirror, if `plan` sends to one of them.
    fn peer_of(&self, plan: &Plan) -> Option<Target> {
        if !matches!(plan.syscall, Some(Syscall::Send | Syscall::Call)) {
            return None;
        }
        self.model
            .get(plan.regs.rdi)
            .filter(Held::always_answered)
            .map(|held| held.target)
    }

    fn room_of(&mut self, target: Target) -> &mut usize {
        if target == Target::Sink {
            &mut self.sink_room
        } else {
            &mut self.mirror_room
        }
    }

    /// The bytes a `write` sends the sink.
    fn write_len(plan: &Plan) -> usize {
        plan.regs.rdx.min(MAX_BUFFER as u64) as usize
    }

    /// A `write` succeeded with `value`: the sink took it, so it fit its
    /// room, and answered the count.
    pub fn written(&mut self, plan: &Plan, value: u64) -> Option<&'static str> {
        let sent = Self::write_len(plan);
        if sent == 0 {
            return (value != 0).then_some("an empty write did not return 0");
        }
        let room = self.sink_room;
        self.sink_room = peer::room(abi::console::WRITE, sent);
        if sent > room {
            return Some("the sink took a write longer than its receive buffer (ETOOLONG was due)");
        }
        if sent == fuzzer::SINK_ERROR_LEN || sent == fuzzer::SINK_REFUSE_LEN {
            return Some("a write succeeded though the sink answered it with an error");
        }
        (value != sent as u64).then_some("did not return the count the sink answered")
    }

    /// A `write`, `send` or `call` to the sink or the mirror failed with
    /// `error`: the arguments, the peer's room and its refusals must
    /// explain it, and the model learns whether the peer took the message.
    pub fn peer_failed(&mut self, plan: &Plan, error: Error) -> Option<&'static str> {
        if plan.syscall == Some(Syscall::Write) {
            return self.write_failed(plan, error);
        }
        let target = self.peer_of(plan)?;
        let info = MsgInfo(plan.regs.rsi);
        let room = *self.room_of(target);
        let fits = info.check().is_ok() && info.len() <= room;
        let answer_len = match (target, peer::refusal(info.label())) {
            (Target::Mirror, None) => info.len(),
            _ => 0,
        };
        let capacity = plan.regs.r10.min(MAX_BUFFER as u64) as usize;
        let call = plan.syscall == Some(Syscall::Call);
        // A call whose answer the fuzzer's buffer or table cannot take: the
        // peer took the request.
        let answer_refused = call && fits && matches!(error, Error::TOOLONG | Error::TABLEFULL);
        if answer_refused {
            *self.room_of(target) = peer::room(info.label(), info.len());
        }
        match error {
            Error::TOOLONG if info.check() == Err(Error::TOOLONG) || !fits => None,
            Error::TOOLONG if answer_len > capacity => None,
            Error::TOOLONG => Some("ETOOLONG, but the message fits the peer's room and its answer the buffer"),
            _ => None,
        }
    }

    fn write_failed(&mut self, plan: &Plan, error: Error) -> Option<&'static str> {
        if !matches!(plan.regs.rdi, 1 | 2) {
            return (error != Error::INVAL).then_some("a write to another fd than 1 or 2 did not fail with EINVAL");
        }
        let sent = Self::write_len(plan);
        let room = self.sink_room;
        let taken = sent > 0 && sent <= room;
        let explained = match error {
            Error::FAULT => true,
            Error::TOOLONG => sent > room,
            Error::INVAL => taken && sent == fuzzer::SINK_REFUSE_LEN,
            Error::PEERGONE => taken && sent == fuzzer::SINK_ERROR_LEN,
            _ => false,
        };
        if explained && matches!(error, Error::INVAL | Error::PEERGONE) {
            self.sink_room = peer::room(abi::console::WRITE, sent);
        }
        (!explained).then_some("write failed with an error the arguments and the sink do not explain")
    }

    /// A `send` or `call` succeeded: if it went to the sink or the mirror,
    /// the peer took it, so it fit its room.
    pub fn peer_took(&mut self, plan: &Plan) -> Option<&'static str> {
        let target = self.peer_of(plan)?;
        let info = MsgInfo(plan.regs.rsi);
        let room = core::mem::replace(self.room_of(target), peer::room(info.label(), info.len()));
        (info.len() > room).then_some("a peer took a message longer than its receive buffer (ETOOLONG was due)")
    }
}
