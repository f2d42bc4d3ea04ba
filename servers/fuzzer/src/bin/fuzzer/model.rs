//! What the fuzzer knows about its own handle table: every handle it holds,
//! the object behind it (an endpoint, one of its memory objects,
//! notifications or children, the interrupt line), its rights and badge,
//! and handles it closed (stale).
//!
//! The model follows every syscall that creates or closes a handle, so it
//! can tell which calls may wait for a peer (and must be bounded), which
//! handles must be left alone, and whether the kernel's answers about
//! handles are right.

use abi::Rights;
use abi::handle::MAX_HANDLES;
use fuzzer::handles;
use libsys::Handle;

/// The object a handle names, as far as the fuzzer can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The sink server (always answers).
    Sink,
    /// The mirror server (always answers).
    Mirror,
    /// The inbox the pinger calls the fuzzer on.
    Inbox,
    /// The printer: reserved for the report.
    Printer,
    /// The lifeline: reserved for the checker.
    Lifeline,
    /// An endpoint the fuzzer created (its id in `crate::signals`); nobody
    /// else ever receives on it.
    Own(u8),
    /// A handle that arrived in a message, naming the fuzzer knows not
    /// what.
    Foreign,
    /// A memory object: the id of its record in the fuzzer's memory model
    /// (`crate::memory::Objects`), the same for every handle to it.
    Memory(u8),
    /// A notification the fuzzer created: its id in `crate::signals`.
    Notification(u8),
    /// A victim the fuzzer spawned (a process handle): its id in
    /// `crate::signals`.
    Process(u8),
    /// The interrupt line the manifest grants (`fuzzer::IRQ_LINE`).
    Irq,
}

/// How a handle may be used by random syscalls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Guard {
    /// Anything goes.
    Free,
    /// Never closed: the manifest's sink, mirror and inbox handles (the
    /// sink is handle 0, where every `write` goes).
    NoClose,
    /// Never used at all: the printer (the report) and the lifeline (the
    /// checker waits on it).
    NoUse,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Held {
    pub value: Handle,
    pub target: Target,
    pub rights: Rights,
    /// Delivered with messages sent through it (endpoints), ORed into the
    /// bits signalled through it (notifications).
    pub badge: u64,
}

impl Held {
    pub fn guard(&self) -> Guard {
        match self.target {
            Target::Printer | Target::Lifeline => Guard::NoUse,
            Target::Sink | Target::Mirror | Target::Inbox if self.value <= handles::LIFELINE => Guard::NoClose,
            Target::Irq if self.value == handles::IRQ => Guard::NoClose,
            _ => Guard::Free,
        }
    }

    /// Whether a message sent on this handle is always taken at once and
    /// answered by a server, so the sender never waits long.
    pub fn always_answered(&self) -> bool {
        matches!(self.target, Target::Sink | Target::Mirror) && self.rights.contains(Rights::SEND)
    }
}

/// Values that can never be a handle: handles are `index | generation << 8`
/// with a 24-bit generation, so bit 40 is never set.
pub const NEVER_A_HANDLE: u64 = 1 << 40;

/// Closed handles remembered as stale candidates.
const STALE: usize = 16;

pub struct Model {
    held: [Option<Held>; MAX_HANDLES],
    stale: [Handle; STALE],
    stale_count: usize,
    stale_next: usize,
}

impl Model {
    /// The handles the manifest gives the fuzzer.
    pub fn new() -> Model {
        let all = Rights::SEND | Rights::RECEIVE | Rights::TRANSFER;
        let mut model = Model {
            held: [None; MAX_HANDLES],
            stale: [0; STALE],
            stale_count: 0,
            stale_next: 0,
        };
        let manifest = [
            (handles::SINK, Target::Sink, Rights::SEND | Rights::TRANSFER),
            (handles::MIRROR, Target::Mirror, Rights::SEND | Rights::TRANSFER),
            (handles::INBOX, Target::Inbox, all),
            (handles::PRINTER, Target::Printer, Rights::SEND),
            (handles::LIFELINE, Target::Lifeline, Rights::RECEIVE),
            (handles::IRQ, Target::Irq, Rights::WAIT | Rights::TRANSFER),
        ];
        for (value, target, rights) in manifest {
            model.held[value as usize] = Some(Held {
                value,
                target,
                rights,
                badge: 0,
            });
        }
        model
    }

    /// The handle `value`, if the fuzzer holds it.
    pub fn get(&self, value: Handle) -> Option<Held> {
        let index = (value & 0xff) as usize;
        self.held
            .get(index)
            .copied()
            .flatten()
            .filter(|held| held.value == value)
    }

    pub fn count(&self) -> usize {
        self.held.iter().flatten().count()
    }

    /// Every held handle, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = Held> + '_ {
        self.held.iter().flatten().copied()
    }

    /// The `n`-th held handle (in slot order), `n < count()`.
    pub fn nth(&self, n: usize) -> Option<Held> {
        self.held.iter().flatten().nth(n).copied()
    }

    /// Records a new handle. Returns a complaint if the value cannot be a
    /// fresh handle: its slot is out of range or already holds one.
    pub fn add(&mut self, held: Held) -> Option<&'static str> {
        let index = (held.value & 0xff) as usize;
        if index >= MAX_HANDLES || held.value >> 32 != 0 {
            return Some("returned a value that is not a handle");
        }
        let complaint = self.held[index]
            .is_some()
            .then_some("returned a handle whose slot is already open");
        self.held[index] = Some(held);
        complaint
    }

    /// Records that `value` was closed.
    pub fn remove(&mut self, value: Handle) -> Option<Held> {
        let held = self.get(value)?;
        self.held[(value & 0xff) as usize] = None;
        self.stale[self.stale_next] = value;
        self.stale_next = (self.stale_next + 1) % STALE;
        self.stale_count = (self.stale_count + 1).min(STALE);
        Some(held)
    }

    /// A handle closed earlier, if any, chosen by `roll`.
    pub fn stale(&self, roll: u64) -> Option<Handle> {
        (self.stale_count > 0).then(|| self.stale[(roll % self.stale_count as u64) as usize])
    }

    /// Every remembered closed handle.
    pub fn stale_values(&self) -> impl Iterator<Item = Handle> + '_ {
        self.stale[..self.stale_count].iter().copied()
    }

    /// How many held handles name memory object `id`.
    pub fn handles_to(&self, id: u8) -> usize {
        self.held
            .iter()
            .flatten()
            .filter(|held| held.target == Target::Memory(id))
            .count()
    }

    /// How many held handles name `target`.
    pub fn handles_of(&self, target: Target) -> usize {
        self.held.iter().flatten().filter(|held| held.target == target).count()
    }

    /// Whether every handle slot is taken.
    pub fn is_full(&self) -> bool {
        self.count() == MAX_HANDLES
    }
}
