//! What the fuzzer knows about the objects of ABI 2.0 it holds handles to,
//! and how it judges the syscalls on them: its notifications (the bits
//! surely pending, the bits a watched victim's end may add at any time,
//! and the endpoint each is bound to), its endpoints' bindings, the victims
//! it holds process handles to (how each ended, once the fuzzer knows, and
//! its watch), and the interrupt line (`fuzzer::IRQ_LINE`, which never
//! fires) and the notification it is routed to.
//!
//! The kernel checks the arguments of these syscalls in a fixed order, so
//! the model gives, for each call, the one error the arguments explain, or
//! a success (with what it must return); only what depends on when a
//! victim runs (whether it has exited yet) leaves a choice.
//!
//! An object the fuzzer passed to the pinger or a victim in a reply may
//! outlive the fuzzer's last handle to it (`shared`): its bindings would
//! then last as long as that program keeps it, which the fuzzer cannot
//! know. So a bound object is never passed in a reply, and a shared one is
//! never bound (the handle is replaced by one that is none); should one be
//! both all the same, the fuzzer never closes its last handle to it
//! (`Fuzzer::must_keep`). A shared object that is not bound it forgets
//! with its last handle.

use crate::Fuzzer;
use crate::generate::Plan;
use crate::invoke::Regs;
use crate::model::{Held, Target};
use abi::handle::MAX_HANDLES;
use abi::message::{MsgFlags, NOTIFICATION_LABEL};
use abi::notify::{NONBLOCK, WAIT_FLAGS};
use abi::process::{Ending, Info};
use abi::{Error, MsgInfo, Rights, Syscall};

/// The kernel's table of notifications, shared by all processes (not part
/// of the ABI: `microkernel/core/src/config.rs`).
const KERNEL_NOTIFICATIONS: u64 = 64;

/// An endpoint a notification can be bound to (one the fuzzer receives on).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Inbox,
    Own(u8),
}

impl Endpoint {
    pub fn of(target: Target) -> Option<Endpoint> {
        match target {
            Target::Inbox => Some(Endpoint::Inbox),
            Target::Own(id) => Some(Endpoint::Own(id)),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Notification {
    /// Bits surely signalled and not taken yet.
    pub pending: u64,
    /// Bits a watched victim's end may have signalled (or may yet).
    pub maybe: u64,
    /// The endpoint it is bound to.
    pub bound: Option<Endpoint>,
    /// Passed to a program that may keep it.
    pub shared: bool,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct OwnEndpoint {
    /// The notification bound to it.
    pub bound: Option<u8>,
    pub shared: bool,
}

#[derive(Clone, Copy, Debug)]
pub struct Child {
    pub pid: u64,
    /// How it ended, once the fuzzer knows (it killed it, or a wait said).
    /// Until then it runs or has exited with status 0.
    pub ended: Option<(Ending, u64)>,
    /// The notification and bits its end signals.
    pub watch: Option<(u8, u64)>,
    pub shared: bool,
}

pub struct Signals {
    pub notifications: [Option<Notification>; MAX_HANDLES],
    pub endpoints: [Option<OwnEndpoint>; MAX_HANDLES],
    pub children: [Option<Child>; MAX_HANDLES],
    /// The notification bound to the inbox.
    pub inbox_bound: Option<u8>,
    /// The notification the interrupt line is routed to.
    pub irq_bound: Option<u8>,
    /// Notifications forgotten while another program may hold them.
    pub notifications_given: u64,
}

fn free_slot<T>(slots: &[Option<T>]) -> Option<u8> {
    slots.iter().position(Option::is_none).map(|index| index as u8)
}

impl Signals {
    pub const fn new() -> Signals {
        Signals {
            notifications: [None; MAX_HANDLES],
            endpoints: [None; MAX_HANDLES],
            children: [None; MAX_HANDLES],
            inbox_bound: None,
            irq_bound: None,
            notifications_given: 0,
        }
    }

    pub fn notification(&mut self, id: u8) -> Option<&mut Notification> {
        self.notifications.get_mut(id as usize)?.as_mut()
    }

    pub fn child(&mut self, id: u8) -> Option<&mut Child> {
        self.children.get_mut(id as usize)?.as_mut()
    }

    /// The notification bound to `endpoint`.
    pub fn bound_to(&self, endpoint: Endpoint) -> Option<u8> {
        match endpoint {
            Endpoint::Inbox => self.inbox_bound,
            Endpoint::Own(id) => self.endpoints.get(id as usize).copied().flatten()?.bound,
        }
    }

    fn set_bound(&mut self, endpoint: Endpoint, notification: Option<u8>) {
        match endpoint {
            Endpoint::Inbox => self.inbox_bound = notification,
            Endpoint::Own(id) => {
                if let Some(Some(own)) = self.endpoints.get_mut(id as usize) {
                    own.bound = notification;
                }
            }
        }
    }

    /// A record for a new endpoint, notification or child.
    pub fn new_endpoint(&mut self) -> Option<u8> {
        let id = free_slot(&self.endpoints)?;
        self.endpoints[id as usize] = Some(OwnEndpoint::default());
        Some(id)
    }

    pub fn new_notification(&mut self) -> Option<u8> {
        let id = free_slot(&self.notifications)?;
        self.notifications[id as usize] = Some(Notification::default());
        Some(id)
    }

    pub fn new_child(&mut self, pid: u64) -> Option<u8> {
        let id = free_slot(&self.children)?;
        self.children[id as usize] = Some(Child {
            pid,
            ended: None,
            watch: None,
            shared: false,
        });
        Some(id)
    }

    /// Bits that may arrive on `notification` now: those pending, and
    /// those a victim's end may add.
    pub fn possible(&self, id: u8) -> (u64, u64) {
        match self.notifications.get(id as usize).copied().flatten() {
            Some(n) => (n.pending, n.pending | n.maybe),
            None => (0, 0),
        }
    }

    /// Whether the object `target` names is bound: a notification to an
    /// endpoint or the interrupt line, an endpoint to a notification.
    pub fn is_bound(&self, target: Target) -> bool {
        match target {
            Target::Notification(id) => {
                self.notifications[id as usize].is_some_and(|n| n.bound.is_some()) || self.irq_bound == Some(id)
            }
            Target::Own(id) => self.endpoints[id as usize].is_some_and(|e| e.bound.is_some()),
            _ => false,
        }
    }

    /// Whether the object `target` names was passed to a program that may
    /// keep it.
    pub fn is_shared(&self, target: Target) -> bool {
        match target {
            Target::Notification(id) => self.notifications[id as usize].is_some_and(|n| n.shared),
            Target::Own(id) => self.endpoints[id as usize].is_some_and(|e| e.shared),
            _ => false,
        }
    }

    /// Whether the object `target` names is passed to another program and
    /// bound: the fuzzer keeps its last handle to it. (The generator keeps
    /// this from happening: a bound object is never passed in a reply, a
    /// shared one never bound.)
    pub fn bound_and_shared(&self, target: Target) -> bool {
        match target {
            Target::Notification(id) => self.notifications[id as usize]
                .is_some_and(|n| n.shared && (n.bound.is_some() || self.irq_bound == Some(id))),
            Target::Own(id) => self.endpoints[id as usize].is_some_and(|e| e.shared && e.bound.is_some()),
            _ => false,
        }
    }

    /// `target` was passed in a reply to the pinger or a victim.
    pub fn share(&mut self, target: Target) {
        match target {
            Target::Notification(id) => {
                if let Some(n) = self.notification(id) {
                    n.shared = true;
                }
            }
            Target::Own(id) => {
                if let Some(Some(e)) = self.endpoints.get_mut(id as usize) {
                    e.shared = true;
                }
            }
            Target::Process(id) => {
                if let Some(c) = self.child(id) {
                    c.shared = true;
                }
            }
            _ => {}
        }
    }

    /// Forgets the objects the fuzzer no longer holds a handle to
    /// (`held(target)` counts them), with what their end undoes: a
    /// notification nobody else holds is freed (its bindings and the watches
    /// on it go), an endpoint likewise (its binding goes), and a child's
    /// record (its watch goes).
    pub fn collect(&mut self, held: impl Fn(Target) -> usize) {
        for id in 0..MAX_HANDLES as u8 {
            if let Some(n) = self.notifications[id as usize]
                && held(Target::Notification(id)) == 0
            {
                if let Some(endpoint) = n.bound {
                    self.set_bound(endpoint, None);
                }
                if self.irq_bound == Some(id) {
                    self.irq_bound = None;
                }
                for child in self.children.iter_mut().flatten() {
                    if child.watch.is_some_and(|(watched, _)| watched == id) {
                        child.watch = None;
                    }
                }
                if n.shared {
                    self.notifications_given += 1;
                }
                self.notifications[id as usize] = None;
            }
            if let Some(e) = self.endpoints[id as usize]
                && held(Target::Own(id)) == 0
            {
                if let Some(notification) = e.bound
                    && let Some(n) = self.notification(notification)
                {
                    n.bound = None;
                }
                self.endpoints[id as usize] = None;
            }
            if self.children[id as usize].is_some() && held(Target::Process(id)) == 0 {
                self.children[id as usize] = None;
            }
        }
        if held(Target::Irq) == 0 {
            self.irq_bound = None;
        }
    }

    /// Notifications the fuzzer knows of.
    fn notification_count(&self) -> u64 {
        self.notifications.iter().flatten().count() as u64
    }
}

/// Whether `syscall` is one of ABI 2.0's notification, interrupt and
/// process syscalls (`spawn` aside).
pub fn is_signal(syscall: Syscall) -> bool {
    (Syscall::NotifyCreate as u64..=Syscall::ProcessInfo as u64).contains(&(syscall as u64))
}

/// What a call must do, as far as the model can tell.
#[derive(Clone, Copy, Debug)]
enum Verdict {
    /// Fail with exactly this error.
    Fail(Error),
    /// Succeed.
    Succeed,
    /// Succeed, or time out (a wait whose end depends on timing).
    SucceedOrTimeOut,
    /// Anything listed: a handle of a kind the fuzzer cannot tell.
    Unknown,
}

impl Fuzzer {
    /// The handle `value` with `rights`, naming what `kind` accepts: the
    /// error the kernel's lookup gives otherwise (in its order: not open,
    /// missing rights, another kind).
    fn lookup<T>(&self, value: u64, rights: Rights, kind: impl Fn(Target) -> Option<T>) -> Result<(Held, T), Verdict> {
        let held = self.model.get(value).ok_or(Verdict::Fail(Error::BADHANDLE))?;
        if held.target == Target::Foreign {
            return Err(Verdict::Unknown);
        }
        if !held.rights.contains(rights) {
            return Err(Verdict::Fail(Error::NORIGHTS));
        }
        let found = kind(held.target).ok_or(Verdict::Fail(Error::WRONGKIND))?;
        Ok((held, found))
    }

    fn notification_of(&self, value: u64, rights: Rights) -> Result<(Held, u8), Verdict> {
        self.lookup(value, rights, |target| match target {
            Target::Notification(id) => Some(id),
            _ => None,
        })
    }

    fn child_of(&self, value: u64, rights: Rights) -> Result<(Held, u8), Verdict> {
        self.lookup(value, rights, |target| match target {
            Target::Process(id) => Some(id),
            _ => None,
        })
    }

    fn irq_of(&self, value: u64) -> Result<(Held, ()), Verdict> {
        self.lookup(value, Rights::WAIT, |target| (target == Target::Irq).then_some(()))
    }

    /// What `plan` (one of the [`is_signal`] syscalls) must do.
    fn verdict(&self, plan: &Plan) -> Verdict {
        let regs = &plan.regs;
        let (a0, a1, a2) = (regs.rdi, regs.rsi, regs.rdx);
        let result = (|| -> Result<Verdict, Verdict> {
            Ok(match plan.syscall.ok_or(Verdict::Unknown)? {
                Syscall::NotifyCreate => {
                    // The kernel's table is shared: with other fuzzers
                    // running at once it may be full whatever this one holds.
                    if self.model.is_full() {
                        Verdict::Fail(Error::TABLEFULL)
                    } else if self.instances > 1 || self.notification_table_may_be_full() {
                        Verdict::Unknown
                    } else {
                        Verdict::Succeed
                    }
                }
                Syscall::Notify => {
                    self.notification_of(a0, Rights::SIGNAL)?;
                    Verdict::Succeed
                }
                Syscall::NotifyWait => {
                    let (_, id) = self.notification_of(a0, Rights::WAIT)?;
                    if a2 & !WAIT_FLAGS != 0 {
                        return Err(Verdict::Fail(Error::INVAL));
                    }
                    match self.signals.possible(id) {
                        (0, 0) if a2 & NONBLOCK != 0 => Verdict::Fail(Error::TIMEDOUT),
                        // Nothing can come: the wait (bounded) times out.
                        (0, 0) => Verdict::Fail(Error::TIMEDOUT),
                        (0, _) => Verdict::SucceedOrTimeOut,
                        _ => Verdict::Succeed,
                    }
                }
                Syscall::NotifyBind => {
                    let (_, id) = self.notification_of(a0, Rights::WAIT)?;
                    let (_, endpoint) = self.lookup(a1, Rights::RECEIVE, Endpoint::of)?;
                    let bound = self.signals.notifications[id as usize].is_some_and(|n| n.bound.is_some());
                    if bound || self.signals.bound_to(endpoint).is_some() {
                        Verdict::Fail(Error::EXIST)
                    } else {
                        Verdict::Succeed
                    }
                }
                Syscall::IrqBind => {
                    self.irq_of(a0)?;
                    self.notification_of(a1, Rights::SIGNAL)?;
                    if a2 == 0 {
                        Verdict::Fail(Error::INVAL)
                    } else {
                        Verdict::Succeed
                    }
                }
                Syscall::IrqAck => {
                    self.irq_of(a0)?;
                    match self.signals.irq_bound {
                        Some(_) => Verdict::Succeed,
                        None => Verdict::Fail(Error::INVAL),
                    }
                }
                Syscall::ProcessWait => {
                    let (_, id) = self.child_of(a0, Rights::WAIT)?;
                    if a2 & !WAIT_FLAGS != 0 {
                        return Err(Verdict::Fail(Error::INVAL));
                    }
                    match self.signals.children[id as usize].and_then(|child| child.ended) {
                        Some(_) => Verdict::Succeed,
                        None => Verdict::SucceedOrTimeOut,
                    }
                }
                Syscall::ProcessKill => {
                    let (_, id) = self.child_of(a0, Rights::KILL)?;
                    match self.signals.children[id as usize].and_then(|child| child.ended) {
                        Some(_) => Verdict::Fail(Error::PEERGONE),
                        // It may have exited already.
                        None => Verdict::Unknown,
                    }
                }
                Syscall::ProcessWatch => {
                    self.child_of(a0, Rights::WAIT)?;
                    self.notification_of(a1, Rights::SIGNAL)?;
                    if a2 == 0 {
                        Verdict::Fail(Error::INVAL)
                    } else {
                        Verdict::Succeed
                    }
                }
                // EFAULT depends on the buffer, which the generic checks
                // and `info_written` judge.
                Syscall::ProcessInfo => Verdict::Unknown,
                _ => Verdict::Unknown,
            })
        })();
        result.unwrap_or_else(|verdict| verdict)
    }

    /// One of the [`is_signal`] syscalls failed with `error` (listed for it).
    pub fn signal_failed(&mut self, plan: &Plan, error: Error) -> Option<&'static str> {
        let verdict = self.verdict(plan);
        let problem = match verdict {
            Verdict::Fail(expected) if expected != error => Some(wrong_error(expected)),
            Verdict::Succeed => Some(unexplained(error)),
            Verdict::SucceedOrTimeOut if error != Error::TIMEDOUT => Some(unexplained(error)),
            _ => None,
        };
        // What a failure tells the model.
        if plan.syscall == Some(Syscall::ProcessKill)
            && error == Error::PEERGONE
            && let Some(Target::Process(id)) = self.model.get(plan.regs.rdi).map(|held| held.target)
            && let Some(child) = self.signals.child(id)
            && child.ended.is_none()
        {
            child.ended = Some((Ending::Exited, 0));
        }
        problem
    }

    /// One of the [`is_signal`] syscalls succeeded: checks what it returned
    /// and brings the model up to date.
    pub fn signal_succeeded(&mut self, plan: &Plan, after: &Regs, value: u64) -> Option<&'static str> {
        let verdict = self.verdict(plan);
        if let Verdict::Fail(error) = verdict {
            return Some(unearned(error));
        }
        let regs = &plan.regs;
        let target = |value: u64| self.model.get(value).map(|held| held.target);
        match plan.syscall? {
            Syscall::NotifyCreate => {
                let full = self.model.is_full();
                let Some(id) = self.signals.new_notification() else {
                    return Some("created a notification in a full handle table");
                };
                let complaint = self.model.add(Held {
                    value,
                    target: Target::Notification(id),
                    rights: Rights::SIGNAL | Rights::WAIT | Rights::TRANSFER,
                    badge: 0,
                });
                if full {
                    return Some("created a notification in a full handle table");
                }
                complaint
            }
            Syscall::Notify => {
                let held = self.model.get(regs.rdi)?;
                if let Target::Notification(id) = held.target
                    && let Some(n) = self.signals.notification(id)
                {
                    n.pending |= regs.rsi | held.badge;
                }
                None
            }
            Syscall::NotifyWait => {
                let Some(Target::Notification(id)) = target(regs.rdi) else {
                    return None;
                };
                self.take_bits(id, after.rdx)
                    .map(|_| "notify_wait returned bits other than those signalled")
            }
            Syscall::NotifyBind => {
                let (Some(Target::Notification(id)), Some(endpoint)) =
                    (target(regs.rdi), target(regs.rsi).and_then(Endpoint::of))
                else {
                    return None;
                };
                if let Some(n) = self.signals.notification(id) {
                    n.bound = Some(endpoint);
                }
                self.signals.set_bound(endpoint, Some(id));
                None
            }
            Syscall::IrqBind => {
                if let Some(Target::Notification(id)) = target(regs.rsi) {
                    self.signals.irq_bound = Some(id);
                }
                None
            }
            Syscall::IrqAck => None,
            Syscall::ProcessWait => {
                let Some(Target::Process(id)) = target(regs.rdi) else {
                    return None;
                };
                let child = self.signals.child(id)?;
                let ending = Ending::from_code(value);
                match (child.ended, ending) {
                    (Some((known, detail)), Some(ending)) if (known, detail) == (ending, after.rdx) => None,
                    (Some(_), _) => Some("process_wait returned another ending than the one known"),
                    (None, Some(Ending::Exited)) if after.rdx == 0 => {
                        child.ended = Some((Ending::Exited, 0));
                        None
                    }
                    // A victim only ever exits with 0, or is killed by the
                    // fuzzer (which then knows).
                    (None, _) => Some("process_wait returned an ending no victim can have"),
                }
            }
            Syscall::ProcessKill => {
                let Some(Target::Process(id)) = target(regs.rdi) else {
                    return None;
                };
                let pid = self.pid;
                self.counts.killed += 1;
                let child = self.signals.child(id)?;
                child.ended = Some((Ending::Killed, pid));
                // Its watch fires now.
                if let Some((notification, bits)) = child.watch.take()
                    && let Some(n) = self.signals.notification(notification)
                {
                    n.pending |= bits;
                }
                None
            }
            Syscall::ProcessWatch => {
                let (Some(Target::Process(child)), Some(Target::Notification(id))) =
                    (target(regs.rdi), target(regs.rsi))
                else {
                    return None;
                };
                let bits = regs.rdx;
                let ended = self.signals.child(child)?.ended.is_some();
                let n = self.signals.notification(id)?;
                if ended {
                    n.pending |= bits;
                } else {
                    n.maybe |= bits;
                    self.signals.child(child)?.watch = Some((id, bits));
                }
                None
            }
            Syscall::ProcessInfo => self.info_written(regs.rdi, regs.rsi, value),
            _ => None,
        }
    }

    /// Bits `bits` arrived from notification `id` (by `notify_wait`, or as
    /// a notification message): they must be all those pending, and no
    /// others but those a victim's end may add. They are taken. Returns
    /// `Some(())` when they are wrong.
    pub fn take_bits(&mut self, id: u8, bits: u64) -> Option<()> {
        let (pending, possible) = self.signals.possible(id);
        let n = self.signals.notification(id)?;
        n.pending = 0;
        let right = bits != 0 && bits & pending == pending && bits & !possible == 0;
        (!right).then_some(())
    }

    /// Checks a message `recv` or `reply_recv` delivered on `endpoint`
    /// (`after` the registers): if it is a notification message, it must
    /// come from the notification bound there, with its bits. Returns
    /// `None` when it is no notification message, else the verdict.
    pub fn notification_message(&mut self, endpoint: Option<Endpoint>, after: &Regs) -> Option<Option<&'static str>> {
        let info = MsgInfo(after.rsi);
        let shape = MsgInfo::new(NOTIFICATION_LABEL, 1, 0).with_flags(MsgFlags::KERNEL);
        if !info.flags().contains(MsgFlags::KERNEL) {
            return None;
        }
        if info != shape || after.rdi != 0 {
            return Some(Some("delivered a kernel message that is no notification message"));
        }
        let Some(id) = endpoint.and_then(|endpoint| self.signals.bound_to(endpoint)) else {
            return Some(Some(
                "delivered a notification message on an endpoint no notification is bound to",
            ));
        };
        let word = after.get(abi::regs::ipc::WORDS[0]);
        self.counts.notified += 1;
        Some(
            self.take_bits(id, word)
                .map(|_| "a notification message carried bits other than those signalled"),
        )
    }

    /// Whether the kernel's table of notifications may be full for all this
    /// fuzzer's world knows: the notifications it refers to and those it
    /// gave away (the other fuzzers running at once aside).
    pub fn notification_table_may_be_full(&self) -> bool {
        self.signals.notification_count() + self.signals.notifications_given >= KERNEL_NOTIFICATIONS
    }

    /// Whether a receive on `endpoint` must take a notification message
    /// (bits are surely pending on the notification bound there).
    pub fn bits_pending_on(&self, endpoint: Endpoint) -> bool {
        self.signals
            .bound_to(endpoint)
            .is_some_and(|id| self.signals.possible(id).0 != 0)
    }

    /// `process_info` wrote `count` live processes' records into `len`
    /// bytes at `address`: they must be well-formed, in pid order, and the
    /// fuzzer's own must say what it knows of itself.
    fn info_written(&mut self, address: u64, len: u64, count: u64) -> Option<&'static str> {
        // The console, checker, printer, sink, mirror, fuzzer and pinger
        // live while the fuzzer does; at most the process table's 64.
        if !(7..=64).contains(&count) {
            return Some("process_info counted an impossible number of processes");
        }
        let records = (len / Info::SIZE as u64).min(count);
        if records > 0 && !self.writable(address, records * Info::SIZE as u64) {
            return Some("process_info reported writing outside the scratch pages and writable mappings");
        }
        let mut last_pid = 0;
        let mut bytes = [0u8; Info::SIZE];
        for index in 0..records {
            let at = address + index * Info::SIZE as u64;
            for (offset, byte) in bytes.iter_mut().enumerate() {
                *byte = self.read_byte(at + offset as u64)?;
            }
            let Some(info) = Info::from_bytes(&bytes) else {
                return Some("process_info wrote a record that does not decode");
            };
            if (info.pid as u64) <= last_pid || info.state().is_none() || info.frames > info.memory_limit {
                return Some("process_info wrote a record out of order or that makes no sense");
            }
            last_pid = info.pid as u64;
            let known = [
                "console", "checker", "printer", "sink", "mirror", "fuzzer", "pinger", "victim",
            ];
            // The other instances' worlds are copies of this one's.
            if !known.contains(&fuzzer::instances::base(info.name(), self.instances)) {
                return Some("process_info named a program the image does not have");
            }
            if info.pid as u64 == self.pid {
                let right = info.name() == self.name.as_str()
                    && info.state() == Some(abi::process::State::Running)
                    && info.priority == 3
                    && info.handles as usize == self.model.count()
                    && info.memory_limit == abi::memory::DEFAULT_MEMORY_PAGES;
                if !right {
                    return Some("process_info's record of the fuzzer differs from what it knows");
                }
            }
            let ended = self
                .signals
                .children
                .iter()
                .flatten()
                .any(|child| child.pid == info.pid as u64 && child.ended.is_some());
            if ended && info.state() != Some(abi::process::State::Ending) {
                return Some("process_info listed a victim that has ended as live");
            }
        }
        None
    }

    /// Whether closing `value` would drop the fuzzer's last handle to an
    /// object that is bound and that another program may hold.
    pub fn must_keep(&self, value: u64) -> bool {
        self.model
            .get(value)
            .is_some_and(|held| self.model.handles_of(held.target) == 1 && self.signals.bound_and_shared(held.target))
    }

    /// Brings the signal objects up to date after a handle went.
    pub fn forget_unheld(&mut self) {
        let model = &self.model;
        self.signals.collect(|target| model.handles_of(target));
    }
}

fn wrong_error(expected: Error) -> &'static str {
    match expected {
        Error::BADHANDLE => "failed with another error than EBADHANDLE for a handle that is not open",
        Error::NORIGHTS => "failed with another error than ENORIGHTS for a handle without the right",
        Error::WRONGKIND => "failed with another error than EWRONGKIND for a handle of another kind",
        Error::INVAL => "failed with another error than EINVAL for invalid flags or bits",
        Error::TIMEDOUT => "failed with another error than ETIMEDOUT with no bits to take",
        Error::EXIST => "failed with another error than EEXIST though bound already",
        Error::PEERGONE => "failed with another error than EPEERGONE for a process that has ended",
        Error::TABLEFULL => "failed with another error than ETABLEFULL with the handle table full",
        _ => "failed with another error than the one the model explains",
    }
}

fn unexplained(error: Error) -> &'static str {
    match error {
        Error::BADHANDLE => "EBADHANDLE, but the handles are open",
        Error::NORIGHTS => "ENORIGHTS, but the handles have the rights",
        Error::WRONGKIND => "EWRONGKIND, but the handles name the right kinds",
        Error::INVAL => "EINVAL, but the flags and bits are valid",
        Error::TIMEDOUT => "ETIMEDOUT, but bits were pending (or the process had ended)",
        Error::EXIST => "EEXIST, but neither is bound",
        Error::TABLEFULL => "ETABLEFULL, but the handle and notification tables have room",
        _ => "failed with an error the model does not explain",
    }
}

fn unearned(error: Error) -> &'static str {
    match error {
        Error::BADHANDLE => "succeeded with a handle that is not open",
        Error::NORIGHTS => "succeeded with a handle without the right",
        Error::WRONGKIND => "succeeded with a handle of another kind",
        Error::INVAL => "succeeded with invalid flags or bits (or an unbound line)",
        Error::TIMEDOUT => "succeeded with no bits to take",
        Error::EXIST => "bound a notification or endpoint that is bound already",
        Error::PEERGONE => "killed a process that has ended",
        Error::TABLEFULL => "created a handle in a full handle table",
        _ => "succeeded, but the model explains an error",
    }
}

/// Generating the arguments of the [`is_signal`] syscalls.
impl Fuzzer {
    /// Notification bits: mostly one or a few, sometimes all, random or 0.
    pub fn bits(&mut self) -> u64 {
        match self.random.below(8) {
            0 => 0,
            1 => u64::MAX,
            2 => self.random.bits(),
            3 => 1 << 63,
            _ => 1 << self.random.below(8),
        }
    }

    /// A timeout in ticks: none, a short one, a long one (bounded by
    /// [`Fuzzer::bound_wait`] when the call could wait).
    pub fn ticks(&mut self) -> u64 {
        match self.random.below(6) {
            0 | 1 => 0,
            2 | 3 => self.random.between(1, 3),
            4 => u64::MAX,
            _ => self.random.bits(),
        }
    }

    /// `flags` of the waits: none, NONBLOCK, unknown bits.
    pub fn wait_flags(&mut self) -> u64 {
        match self.random.below(8) {
            0..=2 => 0,
            3..=5 => NONBLOCK,
            6 => 1 << self.random.between(1, 63),
            _ => self.random.bits(),
        }
    }

    /// One of the handles the fuzzer holds that names what `wanted`
    /// accepts, if any.
    fn handle_of(&mut self, wanted: impl Fn(Target) -> bool) -> Option<u64> {
        let count = self.model.iter().filter(|held| wanted(held.target)).count();
        let choice = self.random.below(count as u64) as usize;
        self.model
            .iter()
            .filter(|held| wanted(held.target))
            .nth(choice)
            .map(|held| held.value)
    }

    /// Mostly (three times in four) a handle naming what `wanted` accepts,
    /// else `value` (any handle, stale, forged...).
    fn mostly(&mut self, value: u64, wanted: impl Fn(Target) -> bool) -> u64 {
        if self.random.chance(3, 4)
            && let Some(handle) = self.handle_of(wanted)
        {
            return handle;
        }
        value
    }

    /// Shapes the arguments of one of the [`is_signal`] syscalls: mostly
    /// handles of the kind it needs, never one whose kind the fuzzer does
    /// not know, and a wait that could last is bounded.
    pub fn signal_arguments(&mut self, plan: &mut Plan) {
        let notification = |target: Target| matches!(target, Target::Notification(_));
        let child = |target: Target| matches!(target, Target::Process(_));
        let regs = &mut plan.regs;
        match plan.syscall {
            Some(Syscall::Notify | Syscall::NotifyWait) => regs.rdi = self.mostly(regs.rdi, notification),
            Some(Syscall::NotifyBind) => {
                regs.rdi = self.mostly(regs.rdi, notification);
                regs.rsi = self.mostly(regs.rsi, |target| Endpoint::of(target).is_some());
            }
            Some(Syscall::IrqBind) => {
                regs.rdi = self.mostly(regs.rdi, |target| target == Target::Irq);
                regs.rsi = self.mostly(regs.rsi, notification);
            }
            Some(Syscall::IrqAck) => regs.rdi = self.mostly(regs.rdi, |target| target == Target::Irq),
            Some(Syscall::ProcessWait | Syscall::ProcessKill) => regs.rdi = self.mostly(regs.rdi, child),
            Some(Syscall::ProcessWatch) => {
                regs.rdi = self.mostly(regs.rdi, child);
                regs.rsi = self.mostly(regs.rsi, notification);
            }
            _ => {}
        }
        let binds = matches!(plan.syscall, Some(Syscall::NotifyBind | Syscall::IrqBind));
        for reg in [&mut regs.rdi, &mut regs.rsi] {
            let never = self
                .model
                .get(*reg)
                .is_some_and(|held| held.target == Target::Foreign || (binds && self.signals.is_shared(held.target)));
            if never {
                *reg |= crate::model::NEVER_A_HANDLE;
            }
        }
        self.bound_wait(plan);
    }

    /// Makes a `notify_wait` or `process_wait` that could wait for bits or
    /// an end that may never come wait 1 to 3 ticks at most, and usually
    /// not at all (NONBLOCK).
    fn bound_wait(&mut self, plan: &mut Plan) {
        let regs = &plan.regs;
        let could_wait = match plan.syscall {
            Some(Syscall::NotifyWait) => self
                .notification_of(regs.rdi, Rights::WAIT)
                .is_ok_and(|(_, id)| self.signals.possible(id).0 == 0),
            Some(Syscall::ProcessWait) => self
                .child_of(regs.rdi, Rights::WAIT)
                .is_ok_and(|(_, id)| self.signals.children[id as usize].is_some_and(|c| c.ended.is_none())),
            _ => false,
        };
        let flags = regs.rdx;
        if !could_wait || flags & !WAIT_FLAGS != 0 || flags & NONBLOCK != 0 {
            return;
        }
        // Waits cost wall time (the machine idles): as rare as the IPC
        // calls' waits, whatever timeout was drawn.
        if self.random.chance(1, crate::generate::WAIT_ONE_IN) {
            plan.regs.rsi = self.random.between(1, 3);
        } else {
            plan.regs.rdx = flags | NONBLOCK;
        }
    }
}
