//! Judging a syscall's result against the ABI: an error must be one the
//! table lists for the syscall (ENOSYS for unknown numbers); a success must
//! be a plausible value; registers the syscall does not name as results
//! must come back unchanged (all of them on failure); and what the kernel
//! says about handles must agree with the fuzzer's model of its table.

use crate::Fuzzer;
use crate::generate::{Plan, VICTIM};
use crate::invoke::{ARGUMENT_REGS, Regs};
use crate::model::{Held, Target};
use abi::message::{MAX_BUFFER, MsgFlags};
use abi::regs::{Reg, ipc};
use abi::stats::Stats;
use abi::syscall::{ArgKind, SYSCALLS};
use abi::{Error, MsgInfo, Rights, Syscall};
use fuzzer::{badges, pattern};

/// Syscall slots of the counters: the table's entries, then unknown numbers.
pub const SLOTS: usize = SYSCALLS.len() + 1;
/// Outcomes of the counters: success, each error of the ABI, any other code.
pub const OUTCOMES: usize = Error::ALL.len() + 2;

/// The outcome slot of a RAX value.
pub fn outcome(rax: u64) -> usize {
    match Error::decode(rax) {
        Ok(_) => 0,
        Err(code) => match Error::ALL.iter().position(|error| *error as u64 == code) {
            Some(index) => index + 1,
            None => OUTCOMES - 1,
        },
    }
}

/// What a changed register is reported as.
fn changed(reg: Reg) -> &'static str {
    match reg {
        Reg::Rdi => "changed RDI, which it must preserve",
        Reg::Rsi => "changed RSI, which it must preserve",
        Reg::Rdx => "changed RDX, which it must preserve",
        Reg::R10 => "changed R10, which it must preserve",
        Reg::R8 => "changed R8, which it must preserve",
        Reg::R9 => "changed R9, which it must preserve",
        Reg::R12 => "changed R12, which it must preserve",
        Reg::R13 => "changed R13, which it must preserve",
        Reg::R14 => "changed R14, which it must preserve",
        Reg::R15 => "changed R15, which it must preserve",
        _ => "changed a register it must preserve",
    }
}

/// The first register outside `allowed` whose value changed.
fn unchanged(before: &Regs, after: &Regs, allowed: &[Reg]) -> Option<&'static str> {
    ARGUMENT_REGS
        .iter()
        .find(|reg| !allowed.contains(reg) && before.get(**reg) != after.get(**reg))
        .map(|reg| changed(*reg))
}

/// After a message arrived, the word registers beyond the count it
/// carries must keep their earlier values (docs/abi.md: nothing of the
/// sender's other registers reaches the receiver).
fn words_beyond_count(desc: &abi::syscall::SyscallDesc, before: &Regs, after: &Regs) -> Option<&'static str> {
    let info = desc.results.iter().find(|result| result.kind == ArgKind::MsgInfo)?;
    let count = MsgInfo(after.get(info.reg)).words();
    let beyond = ipc::WORDS.iter().skip(count);
    beyond
        .filter(|reg| desc.results.iter().any(|result| result.reg == **reg))
        .any(|reg| before.get(*reg) != after.get(*reg))
        .then_some("changed a word register beyond the word count that arrived")
}

impl Fuzzer {
    /// Checks the result of `plan` (the registers the kernel returned are
    /// `after`; `preserved` says whether `int 0x80` kept RCX and R11) and
    /// brings the model up to date. Returns the first problem found.
    pub fn check(&mut self, plan: &Plan, after: &Regs, preserved: bool) -> Option<&'static str> {
        // A memory object passed in a reply may stay with the pinger or a
        // victim (the sink and the mirror close theirs at once).
        if matches!(plan.syscall, Some(Syscall::Reply | Syscall::ReplyRecv))
            && plan.passed.is_some_and(|held| matches!(held.target, Target::Memory(_)))
            && MsgInfo(plan.regs.rsi).flags().contains(MsgFlags::HANDLE)
        {
            self.memory.given_away += 1;
        }
        // So may a notification, an endpoint or a process handle.
        if matches!(plan.syscall, Some(Syscall::Reply | Syscall::ReplyRecv))
            && MsgInfo(plan.regs.rsi).flags().contains(MsgFlags::HANDLE)
            && let Some(passed) = plan.passed
        {
            self.signals.share(passed.target);
        }
        let problem = self.judge(plan, after);
        problem.or((!preserved).then_some("int 0x80 changed RCX or R11"))
    }

    fn judge(&mut self, plan: &Plan, after: &Regs) -> Option<&'static str> {
        let before = &plan.regs;
        let result = Error::decode(after.rax);
        let Some(syscall) = plan.syscall else {
            if result != Err(Error::NOSYS as u64) {
                return Some("an unknown syscall number did not fail with ENOSYS");
            }
            return unchanged(before, after, &[]);
        };
        let desc = syscall.desc();
        match result {
            Err(code) => {
                let problem = match Error::from_code(code) {
                    None => Some("returned an error code the ABI does not define"),
                    Some(error) if !desc.errors.contains(&error) => {
                        Some("returned an error the ABI table does not list for this syscall")
                    }
                    Some(error) => self.failed(plan, error),
                };
                // A failed syscall has changed nothing.
                problem.or_else(|| unchanged(before, after, &[]))
            }
            Ok(value) => {
                let mut allowed = [Reg::Rax; 10];
                for (slot, result) in allowed.iter_mut().zip(desc.results) {
                    *slot = result.reg;
                }
                let names_rax = desc.results.iter().any(|result| result.reg == Reg::Rax);
                if !names_rax && value != 0 {
                    return Some("succeeded with a value other than 0");
                }
                self.succeeded(plan, after, value)
                    .or_else(|| unchanged(before, after, &allowed))
                    .or_else(|| words_beyond_count(desc, before, after))
            }
        }
    }

    /// The handles a syscall names: its handle arguments (an interrupt
    /// line's included), and the handle its message passes (HANDLE flag).
    fn named_handles(plan: &Plan) -> [Option<u64>; 3] {
        let mut named = [None; 3];
        let Some(syscall) = plan.syscall else {
            return named;
        };
        let desc = syscall.desc();
        let arguments = desc
            .args
            .iter()
            .filter(|arg| matches!(arg.kind, ArgKind::Handle | ArgKind::Irq))
            .map(|arg| plan.regs.get(arg.reg));
        for (slot, value) in named.iter_mut().zip(arguments) {
            *slot = Some(value);
        }
        let sends = crate::generate::sends_message(syscall);
        let info = MsgInfo(plan.regs.rsi);
        if sends && info.flags().contains(MsgFlags::HANDLE) {
            named[2] = Some(plan.regs.get(ipc::WORDS[0]));
        }
        named
    }

    /// Checks a documented error against the model.
    fn failed(&mut self, plan: &Plan, error: Error) -> Option<&'static str> {
        let syscall = plan.syscall?;
        let handles = Self::named_handles(plan);
        if error == Error::BADHANDLE && handles.iter().flatten().all(|value| self.model.get(*value).is_some()) {
            return Some("EBADHANDLE, but every handle it names is open");
        }
        if let Some(problem) = self.peer_failed(plan, error) {
            return Some(problem);
        }
        // A kernel table only the other fuzzers running at once can have
        // filled (allowed; counted to show they did).
        if error == Error::TABLEFULL && self.instances > 1 && !self.model.is_full() {
            let alone = match syscall {
                Syscall::NotifyCreate => self.notification_table_may_be_full(),
                Syscall::MemCreate => {
                    self.memory.objects.count() >= self.memory.object_room || self.object_table_may_be_full()
                }
                _ => true,
            };
            if !alone {
                self.counts.shared_full += 1;
            }
        }
        match (syscall, error) {
            (syscall, _) if crate::signals::is_signal(syscall) => return self.signal_failed(plan, error),
            // Its entry point is never a user address.
            (Syscall::ThreadCreate, error) if error != Error::INVAL => {
                return Some("a bad entry point is EINVAL, before any other error");
            }
            // Bits pending on the notification bound to the endpoint come
            // before anything else a receive waits for.
            (Syscall::Recv | Syscall::ReplyRecv, Error::TIMEDOUT)
                if self
                    .model
                    .get(plan.regs.rdi)
                    .and_then(|held| crate::signals::Endpoint::of(held.target))
                    .is_some_and(|endpoint| self.bits_pending_on(endpoint)) =>
            {
                return Some("timed out though bits of the notification bound to the endpoint were pending");
            }
            // reply_recv replies before it waits; a recv releases the
            // caller still owed a reply (docs/abi.md, "Calls and replies"),
            // even when it then times out.
            (Syscall::ReplyRecv | Syscall::Recv, Error::TIMEDOUT) => self.owed_reply = Some(false),
            (Syscall::Reply, Error::NOREPLY) if self.owed_reply == Some(true) => {
                return Some("ENOREPLY, but a caller waits for the reply");
            }
            (Syscall::Reply, Error::NOREPLY) => self.owed_reply = Some(false),
            // The caller gave up (its timeout ran out): the slot is cleared.
            (Syscall::Reply, Error::PEERGONE) => self.owed_reply = Some(false),
            // A reply the caller cannot take ends the call ("Calls and
            // replies"): a full table is always the caller's; a length or
            // address error may be the caller's or this reply's own.
            (Syscall::Reply | Syscall::ReplyRecv, Error::TABLEFULL) => self.owed_reply = Some(false),
            (Syscall::Reply | Syscall::ReplyRecv, Error::TOOLONG | Error::FAULT) if self.owed_reply != Some(false) => {
                self.owed_reply = None
            }
            // So does a memory object the caller's limit cannot take; any
            // other ENOMEM (no frame left for the buffer) may come first.
            (Syscall::Reply | Syscall::ReplyRecv, Error::NOMEM) if self.owed_reply != Some(false) => {
                let memory = plan.passed.is_some_and(|held| matches!(held.target, Target::Memory(_)));
                self.owed_reply = if memory { Some(false) } else { None };
            }
            (syscall, _) if crate::generate::is_memory(syscall) => return self.memory_failed(plan, error),
            // (endpoint_create may find the endpoint table full: other
            // processes create endpoints too.)
            (Syscall::HandleDup, Error::TABLEFULL) if !self.model.is_full() => {
                return Some("ETABLEFULL, but the handle table has room");
            }
            _ => {}
        }
        None
    }

    /// Checks a success value and records what it changed.
    fn succeeded(&mut self, plan: &Plan, after: &Regs, value: u64) -> Option<&'static str> {
        let syscall = plan.syscall?;
        let regs = &plan.regs;
        for value in Self::named_handles(plan).into_iter().flatten() {
            if self.model.get(value).is_none() {
                return Some("succeeded with a handle that is not open");
            }
        }
        match syscall {
            Syscall::AbiVersion if value != abi::ABI_VERSION as u64 => Some("returned another ABI version"),
            Syscall::GetPid if value != self.pid => Some("returned another pid"),
            Syscall::GetTicks => {
                let earlier = self.last_ticks;
                self.last_ticks = value;
                (value < earlier).then_some("ticks went backwards")
            }
            // The sink answers with the number of bytes it received.
            Syscall::Write => self.written(plan, value),
            Syscall::Spawn => self.spawned(plan, value, after.rdx),
            Syscall::Stats => self.stats_written(regs.rdi, regs.rsi),
            Syscall::ThreadCreate => Some("started a thread at an entry outside user space"),
            Syscall::EndpointCreate => {
                let full = self.model.is_full();
                let Some(id) = self.signals.new_endpoint() else {
                    return Some("created a handle in a full handle table");
                };
                let complaint = self.model.add(Held {
                    value,
                    target: Target::Own(id),
                    rights: Rights::SEND | Rights::RECEIVE | Rights::TRANSFER,
                    badge: 0,
                });
                if full {
                    return Some("created a handle in a full handle table");
                }
                complaint
            }
            Syscall::HandleDup => self.duplicated(plan, value),
            Syscall::HandleClose => match self.model.remove(regs.rdi) {
                Some(_) => {
                    self.forget_unreferred();
                    self.forget_unheld();
                    None
                }
                None => Some("closed a handle that is not open"),
            },
            syscall if crate::generate::is_memory(syscall) => self.memory_succeeded(plan, value),
            syscall if crate::signals::is_signal(syscall) => self.signal_succeeded(plan, after, value),
            Syscall::Send | Syscall::Call | Syscall::Recv | Syscall::ReplyRecv | Syscall::Reply => {
                self.messaged(plan, syscall, after)
            }
            _ => None,
        }
    }

    /// `spawn` returned a process handle and the pid: only `victim` may
    /// be started (or a name the generic pointers gave), and the handle is
    /// the fuzzer's.
    fn spawned(&mut self, plan: &Plan, handle: u64, pid: u64) -> Option<&'static str> {
        if pid == 0 || pid > u32::MAX as u64 || pid == self.pid {
            return Some("returned a pid out of range");
        }
        let full = self.model.is_full();
        let complaint = match self.signals.new_child(pid) {
            Some(id) => self.model.add(Held {
                value: handle,
                target: Target::Process(id),
                rights: Rights::WAIT | Rights::KILL | Rights::TRANSFER,
                badge: 0,
            }),
            None => Some("returned a process handle in a full handle table"),
        };
        if full {
            return Some("returned a process handle in a full handle table");
        }
        if complaint.is_some() {
            return complaint;
        }
        match plan.name {
            Some(VICTIM) | None => {
                self.victims += 1;
                None
            }
            Some(_) => Some("started a program the manifest does not let it spawn"),
        }
    }

    /// `stats` reported success: the counters must be in the scratch pages
    /// or a writable mapping of the fuzzer's (the only writable memory it
    /// hands out) and make sense.
    fn stats_written(&mut self, address: u64, len: u64) -> Option<&'static str> {
        if len < Stats::MIN_SIZE as u64 {
            return Some("wrote the counters into a buffer shorter than Stats::MIN_SIZE");
        }
        let written = len.min(Stats::SIZE as u64);
        if !self.writable(address, written) {
            return Some("reported writing the counters outside the scratch pages and writable mappings");
        }
        let mut bytes = [0u8; Stats::SIZE];
        for (index, byte) in bytes.iter_mut().enumerate().take(written as usize) {
            *byte = self.read_byte(address + index as u64)?;
        }
        let field = |index: usize| {
            let mut word = [0u8; 8];
            word.copy_from_slice(&bytes[index * 8..index * 8 + 8]);
            u64::from_le_bytes(word)
        };
        // Fields in the order of `abi::stats::Stats`.
        let (free, total, processes, process_capacity) = (field(0), field(1), field(2), field(3));
        let (threads, thread_capacity, endpoints, endpoint_capacity) = (field(4), field(5), field(6), field(7));
        if free > total
            || processes == 0
            || processes > process_capacity
            || threads > thread_capacity
            || endpoints > endpoint_capacity
        {
            return Some("wrote counters that make no sense");
        }
        None
    }

    fn duplicated(&mut self, plan: &Plan, value: u64) -> Option<&'static str> {
        let Some(source) = self.model.get(plan.regs.rdi) else {
            return Some("duplicated a handle that is not open");
        };
        let Some(rights) = Rights::from_bits(plan.regs.rsi) else {
            return Some("accepted unknown rights bits");
        };
        if !source.rights.contains(Rights::TRANSFER) {
            return Some("duplicated a handle without the TRANSFER right");
        }
        if !source.rights.contains(rights) {
            return Some("gave a duplicate more rights than the original");
        }
        let full = self.model.is_full();
        let complaint = self.model.add(Held {
            value,
            target: source.target,
            rights,
            badge: if source.badge == 0 { plan.regs.rdx } else { source.badge },
        });
        if full {
            return Some("created a handle in a full handle table");
        }
        complaint
    }

    /// An IPC syscall succeeded: rights, buffer and passed handles.
    fn messaged(&mut self, plan: &Plan, syscall: Syscall, after: &Regs) -> Option<&'static str> {
        let regs = &plan.regs;
        let handle = self.model.get(regs.rdi);
        let needed = match syscall {
            Syscall::Send | Syscall::Call => Some(Rights::SEND),
            Syscall::Recv | Syscall::ReplyRecv => Some(Rights::RECEIVE),
            _ => None,
        };
        if let (Some(needed), Some(held)) = (needed, handle)
            && !held.rights.contains(needed)
        {
            return Some("used a handle without the right the syscall needs");
        }
        if let Some(passed) = plan.passed
            && !passed.rights.contains(Rights::TRANSFER)
        {
            return Some("passed a handle without the TRANSFER right");
        }
        if let Some(problem) = self.peer_took(plan) {
            return Some(problem);
        }
        match syscall {
            Syscall::Reply if self.owed_reply == Some(false) => return Some("replied though no caller waits"),
            Syscall::Reply => self.owed_reply = Some(false),
            _ => {}
        }
        if !matches!(syscall, Syscall::Call | Syscall::Recv | Syscall::ReplyRecv) {
            return None;
        }
        // Something arrived: a reply (call) or a message (recv).
        let info = MsgInfo(after.rsi);
        let capacity = regs.r10.min(MAX_BUFFER as u64);
        if info.len() as u64 > capacity {
            return Some("delivered more bytes than the buffer holds");
        }
        if !info.is_empty() && !self.writable(regs.rdx, info.len() as u64) {
            return Some("reported writing a message outside the scratch pages and writable mappings");
        }
        if info.words() > abi::message::MAX_WORDS {
            return Some("delivered a message with more than six words");
        }
        if syscall != Syscall::Call {
            // A notification message, if it is one.
            let endpoint = handle.and_then(|held| crate::signals::Endpoint::of(held.target));
            if let Some(verdict) = self.notification_message(endpoint, after) {
                // A receive released the caller owed a reply; a reply_recv
                // replied.
                self.owed_reply = Some(false);
                return verdict;
            }
            if endpoint.is_some_and(|endpoint| self.bits_pending_on(endpoint)) {
                return Some("delivered a message though bits of the notification bound there were pending");
            }
        }
        if info.flags().contains(MsgFlags::HANDLE) {
            let arrived = after.get(ipc::WORDS[0]);
            let (target, rights, badge) = match (syscall, plan.passed) {
                // The mirror passes back the handle it was given.
                (Syscall::Call, Some(passed)) => (passed.target, passed.rights, passed.badge),
                _ => (Target::Foreign, Rights::all(), 0),
            };
            let full = self.model.is_full();
            let complaint = self.model.add(Held {
                value: arrived,
                target,
                rights,
                badge,
            });
            if full {
                return Some("delivered a handle into a full handle table");
            }
            if complaint.is_some() {
                return complaint;
            }
        }
        if syscall == Syscall::Call {
            match handle.filter(Held::always_answered) {
                Some(held) => self.answered(plan, after, held.target),
                None => None,
            }
        } else {
            self.owed_reply = Some(true);
            self.arrived(regs.rdx, after)
        }
    }

    /// A message from the pinger or a victim arrived (by `recv` or
    /// `reply_recv`, into `buffer`): its badge, words and bytes must be
    /// what they sent (`fuzzer::pattern`).
    fn arrived(&self, buffer: u64, after: &Regs) -> Option<&'static str> {
        let info = MsgInfo(after.rsi);
        if ![badges::PINGER, badges::VICTIM].contains(&after.rdi) {
            return Some("delivered a message with a badge no sender has");
        }
        if info.flags().intersects(MsgFlags::KERNEL | MsgFlags::HANDLE) {
            return Some("delivered a message with flags its sender did not set");
        }
        let label = info.label();
        for index in 0..info.words() {
            if after.get(ipc::WORDS[index]) != pattern::word(label, index) {
                return Some("delivered a message word other than the one sent");
            }
        }
        for index in 0..info.len() {
            let byte = self.read_byte(buffer + index as u64);
            if byte != Some(pattern::byte(label, index)) {
                return Some("delivered message bytes other than the ones sent");
            }
        }
        None
    }

    /// A call to the sink or the mirror came back: the answer must be the
    /// one that server gives (`fuzzer::mirror` for the mirror), or the
    /// empty answer a server falls back to when its reply was refused.
    fn answered(&mut self, plan: &Plan, after: &Regs, target: Target) -> Option<&'static str> {
        let regs = &plan.regs;
        let request = MsgInfo(regs.rsi);
        let reply = MsgInfo(after.rsi);
        if let Some(error) = fuzzer::peer::refusal(request.label()) {
            let (info, word) = abi::message::error_reply(error);
            let right = reply == info && after.get(abi::regs::ipc::WORDS[0]) == word;
            return (!right).then_some("a peer's error reply arrived changed");
        }
        if target == Target::Sink {
            let right =
                reply.label() == 0 && reply.words() == 1 && reply.is_empty() && after.r8 == request.len() as u64;
            return (!right).then_some("the sink's answer arrived changed");
        }
        if reply.label() == 0 && reply.words() == 0 && reply.is_empty() && reply.flags().is_empty() {
            return None;
        }
        if reply.label() != fuzzer::mirror::label(request.label())
            || reply.words() != request.words()
            || reply.len() != request.len()
        {
            return Some("the mirror's answer arrived with another label, word count or length");
        }
        let passed = request.flags().contains(MsgFlags::HANDLE);
        let bounced = passed && request.label() & 1 == 1;
        if reply.flags().contains(MsgFlags::HANDLE) != bounced {
            return Some("the mirror's answer arrived with the HANDLE flag wrong");
        }
        let first = if passed { 1 } else { 0 };
        for index in first..request.words() {
            let word = abi::regs::ipc::WORDS[index];
            if after.get(word) != fuzzer::mirror::word(regs.get(word), index) {
                return Some("the mirror's answer arrived with other words");
            }
        }
        if let Some(sent) = self.sent.filter(|sent| *sent == request.len()) {
            for index in 0..sent {
                let byte = self.read_byte(regs.rdx + index as u64);
                if byte != Some(fuzzer::mirror::byte(self.sent_bytes[index], index)) {
                    return Some("the mirror's answer arrived with other bytes");
                }
            }
        }
        None
    }
}
