//! Choosing a syscall and its registers: random values skewed towards the
//! edges (null, kernel, non-canonical and straddling pointers; lengths
//! around page sizes and wrapping; stale, forged and out-of-range handles;
//! every MsgInfo flag), driven by the argument kinds of `abi::SYSCALLS`.
//!
//! Three rules keep the fuzzer alive: a buffer the kernel may write always
//! comes through [`Layout::out_window_safe`] (so only scratch pages and the
//! fuzzer's own mappings can be written, never its live data), an IPC call
//! that could wait for a peer that never comes is made non-blocking or
//! given a timeout of 1 to 3 ticks ([`Fuzzer::bound`]), and `mem_unmap` and
//! `mem_protect` never touch a page the fuzzer relies on: their range comes
//! through [`Fuzzer::range_is_safe`], so it is one the fuzzer mapped itself
//! (its model knows it), or holds none of its own pages (its image with the
//! scratch pages, its stack and the guard page below it: parts of the map
//! arena, the holes between its segments, the null pages), or lies in the
//! kernel half, or is one the ABI refuses whatever it holds (misaligned or
//! empty: EINVAL). Anything else is replaced by one of its mappings
//! ([`Fuzzer::own_range`]). `mem_map` and `mem_map_object` may be aimed
//! anywhere, the image and the stack included: the ABI never maps over a
//! mapping (EEXIST) or the stack (EINVAL).

use crate::Fuzzer;
use crate::invoke::{Entry, Regs};
use crate::layout::{SCRATCH_SIZE, STACK_PAGES};
use crate::model::{Guard, Held, NEVER_A_HANDLE, Target};
use abi::handle::MAX_HANDLES;
use abi::message::{MAX_BUFFER, MAX_TIMEOUT, MAX_WORDS, MsgFlags};
use abi::syscall::{ArgKind, SYSCALLS, SyscallDesc};
use abi::{MsgInfo, PAGE_SIZE, Rights, Syscall, USER_BASE, USER_END};
use fuzzer::Name;

/// One syscall to make.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// The value in RAX.
    pub number: u64,
    /// Its table entry, `None` for an unknown number.
    pub syscall: Option<Syscall>,
    pub entry: Entry,
    pub regs: Regs,
    /// The handle a message passes (HANDLE flag), as the model knows it.
    pub passed: Option<Held>,
    /// For `spawn`: the index in [`NAMES`] of the name passed, if one was.
    pub name: Option<usize>,
}

/// The first number past the table: every number from here on is unknown.
const FIRST_UNKNOWN: u64 = SYSCALLS.len() as u64;

/// Unknown syscall numbers worth trying (besides random ones): just past
/// the table, and powers of two and edges above it.
const UNKNOWN: [u64; 12] = [
    FIRST_UNKNOWN,
    FIRST_UNKNOWN + 1,
    FIRST_UNKNOWN + 2,
    FIRST_UNKNOWN.next_power_of_two() * 2,
    255,
    256,
    1 << 32,
    (1 << 32) | Syscall::Stats as u64,
    // Were the number cut to 32 bits, this would end the fuzzer.
    (1 << 32) | Syscall::Exit as u64,
    (1 << 63) | Syscall::GetPid as u64,
    u64::MAX,
    0x8000_0000_0000_0000,
];
const _: () = {
    let mut index = 0;
    while index < UNKNOWN.len() {
        assert!(UNKNOWN[index] >= FIRST_UNKNOWN, "an \"unknown\" number is in the table");
        index += 1;
    }
};

/// Names `spawn` is tried with, as the image of one fuzzer names them:
/// only `victim` may be started (and `pinger`, which the fuzzer starts
/// itself); the others exist but are not the fuzzer's to spawn (EDENIED),
/// do not exist (ENOTFOUND), or are no valid name at all (EINVAL). Those
/// marked `true` are programs of the fuzzer's own world, whose names carry
/// its instance's number when several fuzzers run at once
/// (`fuzzer::instances`): `victim-1` is then the victim of instance 1.
const NAMES: [(&[u8], bool); 13] = [
    (b"victim", true),
    (b"fuzzer", true),
    (b"checker", false),
    (b"printer", true),
    (b"sink", true),
    (b"mirror", true),
    (b"console", false),
    (b"nosuch", false),
    (b"victimx", false),
    (b"victi", false),
    (b"", false),
    (b"abcdefghijklmnopq", false),
    (b"\xff\xfe\x80", false),
];
/// Index of `victim` in [`NAMES`].
pub const VICTIM: usize = 0;
/// Index of `victimx` (no such program) in [`NAMES`].
const NOT_FOUND: usize = 8;

/// [`NAMES`] as this instance tries them.
pub struct SpawnNames([Name; NAMES.len()]);

impl SpawnNames {
    pub fn new(instance: u64, instances: u64) -> SpawnNames {
        SpawnNames(NAMES.map(|(name, own)| match core::str::from_utf8(name) {
            Ok(name) if own => fuzzer::instances::name(name, instance, instances),
            _ => Name::of(name),
        }))
    }

    /// The name at `index` of [`NAMES`].
    pub fn get(&self, index: usize) -> &[u8] {
        self.0[index].as_bytes()
    }
}

/// Out of this many IPC calls that could wait, one really waits (1 to 3
/// timer ticks); the others are made non-blocking. Waits cost wall time
/// (10 ms ticks) but let the pinger and victims run.
pub const WAIT_ONE_IN: u64 = 160;

/// Relative weight of each syscall (unknown numbers: [`UNKNOWN_WEIGHT`]).
fn weight(syscall: Syscall) -> u32 {
    match syscall {
        Syscall::AbiVersion | Syscall::GetTicks | Syscall::GetPid => 2,
        Syscall::Write => 6,
        // Never returns: the fuzzer would end. Excluded.
        Syscall::Exit => 0,
        Syscall::Yield => 1,
        Syscall::Send | Syscall::Recv | Syscall::ReplyRecv => 8,
        Syscall::Call => 12,
        Syscall::Reply => 5,
        Syscall::Stats => 5,
        // Every kind of object takes handles: closing must keep up.
        Syscall::EndpointCreate => 3,
        Syscall::HandleDup => 6,
        Syscall::HandleClose => 9,
        Syscall::Spawn => 3,
        Syscall::MemMap => 5,
        Syscall::MemUnmap | Syscall::MemProtect | Syscall::MemMapObject => 4,
        Syscall::MemCreate => 3,
        Syscall::NotifyCreate => 3,
        Syscall::Notify | Syscall::NotifyWait => 4,
        Syscall::NotifyBind => 2,
        Syscall::IrqBind | Syscall::IrqAck => 2,
        Syscall::ProcessWait | Syscall::ProcessKill | Syscall::ProcessWatch => 2,
        Syscall::ProcessInfo => 2,
        // Only with an entry point outside user space (always EINVAL): a
        // second thread would change the fuzzer's process under its model.
        Syscall::ThreadCreate => 1,
        // Never returns: the fuzzer's only thread would end it. Excluded.
        Syscall::ThreadExit => 0,
    }
}

const UNKNOWN_WEIGHT: u32 = 3;

/// Whether the fuzzer can make this syscall: it returns, and if it can
/// wait, the fuzzer knows how to bound the wait.
pub fn fuzzable(desc: &SyscallDesc) -> bool {
    let known_blocking = matches!(
        desc.number,
        Syscall::Write
            | Syscall::Send
            | Syscall::Recv
            | Syscall::Call
            | Syscall::ReplyRecv
            | Syscall::NotifyWait
            | Syscall::ProcessWait
    );
    desc.returns == abi::syscall::Returns::Yes && (!desc.blocks || known_blocking) && weight(desc.number) > 0
}

/// Whether `syscall` is one of the memory syscalls.
pub fn is_memory(syscall: Syscall) -> bool {
    matches!(
        syscall,
        Syscall::MemMap | Syscall::MemUnmap | Syscall::MemProtect | Syscall::MemCreate | Syscall::MemMapObject
    )
}

/// Whether `syscall` sends a message (whose HANDLE flag passes a handle).
pub fn sends_message(syscall: Syscall) -> bool {
    matches!(
        syscall,
        Syscall::Send | Syscall::Call | Syscall::Reply | Syscall::ReplyRecv
    )
}

/// The weights of all table entries, then of unknown numbers.
pub fn weights() -> [u32; SYSCALLS.len() + 1] {
    let mut out = [UNKNOWN_WEIGHT; SYSCALLS.len() + 1];
    for (slot, desc) in out.iter_mut().zip(SYSCALLS) {
        *slot = if fuzzable(desc) { weight(desc.number) } else { 0 };
    }
    out
}

impl Fuzzer {
    /// The next syscall to make.
    pub fn plan(&mut self) -> Plan {
        let entry = if self.random.chance(1, 8) {
            Entry::Int80
        } else {
            Entry::Syscall
        };
        let bursting = self.burst > 0;
        let index = if bursting {
            self.burst -= 1;
            Syscall::Spawn as usize
        } else {
            self.random.weighted(&self.weights)
        };
        let Some(desc) = SYSCALLS.get(index) else {
            return self.unknown(entry);
        };
        let mut plan = Plan {
            number: desc.number as u64,
            syscall: Some(desc.number),
            entry,
            regs: Regs::default(),
            passed: None,
            name: None,
        };
        // Registers the syscall does not use get noise it must ignore.
        for reg in crate::invoke::ARGUMENT_REGS {
            let value = self.noise();
            plan.regs.set(reg, value);
        }
        plan.regs.rax = plan.number;
        self.arguments(desc, &mut plan);
        match desc.number {
            Syscall::Write => {
                let fd = self.random.pick(&[1, 1, 1, 2, 2, 0, 3, u64::MAX, 1 << 32 | 1]);
                plan.regs.rdi = if self.random.chance(1, 16) {
                    self.random.bits()
                } else {
                    fd
                };
                // Now and then a length the sink answers with an error code
                // or refuses with an error reply.
                if self.random.chance(1, 32) {
                    plan.regs.rsi = self.scratch_address();
                    plan.regs.rdx = self.random.pick(&[fuzzer::SINK_ERROR_LEN, fuzzer::SINK_REFUSE_LEN]) as u64;
                }
            }
            Syscall::Spawn => self.spawn_name(&mut plan, bursting),
            // An entry point no thread may start at: below user space,
            // above it, or anywhere in the kernel half.
            Syscall::ThreadCreate => {
                plan.regs.rdi = self.random.pick(&[0, 0x1000, abi::USER_END, 1 << 63, u64::MAX]);
            }
            // The manifest's handles stay: `write` needs handle 0, the report
            // the printer, the checker the lifeline.
            Syscall::HandleClose
                if self
                    .model
                    .get(plan.regs.rdi)
                    .is_some_and(|held| held.guard() != Guard::Free) =>
            {
                plan.regs.rdi |= NEVER_A_HANDLE;
            }
            Syscall::Send | Syscall::Recv | Syscall::Call | Syscall::ReplyRecv => self.bound(&mut plan),
            // Bound objects another program may hold keep their last handle.
            Syscall::HandleClose if self.must_keep(plan.regs.rdi) => plan.regs.rdi |= NEVER_A_HANDLE,
            syscall if crate::signals::is_signal(syscall) => self.signal_arguments(&mut plan),
            // The rule that keeps the fuzzer's own pages.
            Syscall::MemUnmap | Syscall::MemProtect => {
                let (address, len) = self.own_range();
                plan.regs.rdi = address;
                plan.regs.rsi = len;
            }
            // Mostly one of its memory handles; never one whose object the
            // fuzzer does not know.
            Syscall::MemMapObject => {
                let mut handle = match self.memory_handle() {
                    Some(handle) if self.random.chance(1, 2) => handle,
                    _ => self.handle(Rights::MAP_READ),
                };
                if self
                    .model
                    .get(handle)
                    .is_some_and(|held| held.target == Target::Foreign)
                {
                    handle |= NEVER_A_HANDLE;
                }
                plan.regs.rdi = handle;
            }
            _ => {}
        }
        plan
    }

    /// An unknown syscall number with every register set.
    fn unknown(&mut self, entry: Entry) -> Plan {
        let number = match self.random.below(4) {
            0 => self.random.bits(),
            1 => self.random.between(FIRST_UNKNOWN, 255),
            _ => self.random.pick(&UNKNOWN),
        };
        // A number the table knows after all (a random one) is not unknown.
        let number = number.max(FIRST_UNKNOWN);
        let mut regs = Regs {
            rax: number,
            ..Regs::default()
        };
        for reg in crate::invoke::ARGUMENT_REGS {
            let value = match self.random.below(4) {
                0 => self.loose_pointer(),
                1 => self.handle(Rights::empty()),
                _ => self.noise(),
            };
            // Whatever a broken dispatcher might take it for, no register
            // points into live data.
            let value = if self.layout.out_window_safe(value, MAX_BUFFER as u64) {
                value
            } else {
                value & 0xffff
            };
            regs.set(reg, value);
        }
        Plan {
            number,
            syscall: None,
            entry,
            regs,
            passed: None,
            name: None,
        }
    }

    /// Sets the registers of `desc`'s arguments, by kind.
    fn arguments(&mut self, desc: &SyscallDesc, plan: &mut Plan) {
        // Scalars first: pointers need the MsgInfo's length, and a handle
        // passed in word 0 needs its HANDLE flag.
        for arg in desc.args {
            let value = match arg.kind {
                ArgKind::Int | ArgKind::Status | ArgKind::Pid => self.integer(),
                ArgKind::Handle => self.handle(Rights::empty()),
                ArgKind::MsgInfo => self.msginfo(),
                ArgKind::Len if desc.number == Syscall::MemCreate => self.object_length(),
                ArgKind::Len if is_memory(desc.number) => self.map_length(),
                ArgKind::Len => self.length(),
                ArgKind::Address => self.map_address(),
                ArgKind::Perms => self.perms(),
                ArgKind::Rights => self.rights(),
                ArgKind::Badge => self.badge(),
                ArgKind::Bits => self.bits(),
                ArgKind::Ticks => self.ticks(),
                ArgKind::Flags => self.wait_flags(),
                ArgKind::Irq => self.handle(Rights::WAIT),
                ArgKind::InPtr { .. } | ArgKind::OutPtr { .. } | ArgKind::InOutPtr { .. } => continue,
                // Words, unused registers, and kinds this fuzzer does not
                // know yet.
                _ => self.noise(),
            };
            plan.regs.set(arg.reg, value);
        }
        let info = MsgInfo(plan.regs.rsi);
        if sends_message(desc.number) && info.flags().contains(MsgFlags::HANDLE) {
            let word0 = abi::regs::ipc::WORDS[0];
            let mut value = self.handle(Rights::TRANSFER);
            // A reply may leave the handle with the pinger or a victim: a
            // bound object is never passed that way (its binding would last
            // as long as they keep it, which the fuzzer cannot know).
            if matches!(desc.number, Syscall::Reply | Syscall::ReplyRecv)
                && self
                    .model
                    .get(value)
                    .is_some_and(|held| self.signals.is_bound(held.target))
            {
                value |= NEVER_A_HANDLE;
            }
            plan.regs.set(word0, value);
            plan.passed = self.model.get(value);
        }
        let arg_named = |name: &str| desc.args.iter().find(|arg| arg.name == name);
        for arg in desc.args {
            match arg.kind {
                // The kernel writes there: the capacity comes with the
                // address, and the pair is checked.
                ArgKind::OutPtr { len: capacity } | ArgKind::InOutPtr { receive: capacity, .. } => {
                    let (address, room) = self.out_pair();
                    plan.regs.set(arg.reg, address);
                    if let Some(capacity) = arg_named(capacity) {
                        plan.regs.set(capacity.reg, room);
                    }
                    if let ArgKind::InOutPtr { send, .. } = arg.kind
                        && let Some(send) = arg_named(send)
                    {
                        let length = self.length();
                        plan.regs.set(send.reg, length);
                    }
                }
                ArgKind::InPtr { len } => match arg_named(len) {
                    Some(len_arg) => {
                        let (address, length) = self.in_pair();
                        plan.regs.set(arg.reg, address);
                        plan.regs.set(len_arg.reg, length);
                    }
                    // The length is the MsgInfo's.
                    None => {
                        let address = self.in_address(info.len() as u64);
                        plan.regs.set(arg.reg, address);
                    }
                },
                _ => {}
            }
        }
    }

    /// A register value a syscall must ignore (or a word of a message):
    /// random, but never a pointer into the fuzzer's live data.
    fn noise(&mut self) -> u64 {
        let value = match self.random.below(6) {
            0 => 0,
            1 => self.random.below(256),
            2 => u64::MAX,
            _ => self.random.bits(),
        };
        if self.layout.out_window_safe(value, MAX_BUFFER as u64) {
            value
        } else {
            value & 0xffff
        }
    }

    fn integer(&mut self) -> u64 {
        match self.random.below(6) {
            0 => 0,
            1 => self.random.below(4),
            2 => u64::MAX,
            3 => 1 << 63,
            _ => self.noise(),
        }
    }

    /// A length: page sizes and their neighbours, huge and wrapping values,
    /// random ones.
    pub fn length(&mut self) -> u64 {
        match self.random.below(24) {
            0 => 0,
            1 => 1,
            2 => 95,
            3 => 96,
            4 => 97,
            5 => 4095,
            6 => 4096,
            7 => 4097,
            8 => 8192,
            9 => 1 << 32,
            10 => 1 << 47,
            11 => 1 << 63,
            12 => u64::MAX,
            13 => u64::MAX - self.random.below(PAGE_SIZE),
            14 => self.random.bits(),
            15 => self.random.below(1 << 20),
            16 | 17 => self.random.below(64),
            _ => self.random.below(MAX_BUFFER as u64 + 1),
        }
    }

    /// Rights bits: endpoint rights, memory rights (MAP_READ, MAP_WRITE,
    /// with and without TRANSFER), both kinds mixed, unknown bits.
    fn rights(&mut self) -> u64 {
        match self.random.below(10) {
            0 => 0,
            1 => 1 << 5,
            2 => self.random.bits(),
            3 => u64::MAX,
            4 | 5 => self.random.pick(&[0x08, 0x10, 0x18, 0x0c, 0x14, 0x1c]),
            6 => self.random.below(32),
            _ => self.random.below(8),
        }
    }

    fn badge(&mut self) -> u64 {
        match self.random.below(4) {
            0 | 1 => 0,
            2 => self.random.below(16),
            _ => self.random.bits(),
        }
    }

    /// A handle value: mostly one the fuzzer holds (preferring ones with
    /// `wanted` rights), else stale, forged, out of range or zero. Never
    /// the printer's or the lifeline's.
    pub fn handle(&mut self, wanted: Rights) -> u64 {
        let value = match self.random.below(20) {
            0..=10 => self.held_handle(wanted),
            11 | 12 => match self.model.stale(self.random.bits()) {
                Some(value) => value,
                None => self.held_handle(wanted),
            },
            // Forged: a real slot with a random generation.
            13 => self.random.below(MAX_HANDLES as u64) | self.random.below(4) << 8,
            // Out of range: index 32 to 255.
            14 => self.random.between(MAX_HANDLES as u64, 255) | self.random.below(2) << 8,
            15 => self.random.bits(),
            16 => 0,
            17 => self.random.pick(&[u64::MAX, 1 << 63, 0xff, 0x100, 1 << 32]),
            // A held handle with its generation moved on.
            _ => self.held_handle(wanted) + (self.random.between(1, 3) << 8),
        };
        match self.model.get(value) {
            Some(held) if held.guard() == Guard::NoUse => value | NEVER_A_HANDLE,
            _ => value,
        }
    }

    /// One of the memory handles the fuzzer holds, if any.
    fn memory_handle(&mut self) -> Option<u64> {
        let memory = |held: &Held| matches!(held.target, Target::Memory(_));
        let count = self.model.iter().filter(memory).count();
        let choice = self.random.below(count as u64) as usize;
        self.model.iter().filter(memory).nth(choice).map(|held| held.value)
    }

    fn held_handle(&mut self, wanted: Rights) -> u64 {
        let count = self.model.count();
        // A few tries for one with the wanted rights.
        let mut choice = 0;
        for _ in 0..4 {
            choice = self
                .model
                .nth(self.random.below(count as u64) as usize)
                .map_or(0, |held| held.value);
            if self.model.get(choice).is_some_and(|held| held.rights.contains(wanted)) {
                break;
            }
        }
        choice
    }

    /// A MsgInfo: every flag combination, word counts 0 to 15, lengths 0 to
    /// 8191, random labels and timeouts; now and then all 64 bits random.
    fn msginfo(&mut self) -> u64 {
        match self.random.below(50) {
            0 => self.random.bits(),
            1..=22 => self.good_msginfo(),
            _ => self.edge_msginfo(),
        }
    }

    /// A MsgInfo the kernel accepts: flags HANDLE and NONBLOCK only, at
    /// most six words (at least one with HANDLE), at most 4096 bytes.
    fn good_msginfo(&mut self) -> u64 {
        let mut flags = MsgFlags::empty();
        if self.random.chance(1, 4) {
            flags |= MsgFlags::HANDLE;
        }
        if self.random.chance(1, 2) {
            flags |= MsgFlags::NONBLOCK;
        }
        let least = if flags.contains(MsgFlags::HANDLE) { 1 } else { 0 };
        let words = self.random.between(least, MAX_WORDS as u64) as usize;
        let len = match self.random.below(4) {
            0 => 0,
            1 => self.random.below(65),
            2 => MAX_BUFFER as u64,
            _ => self.random.below(MAX_BUFFER as u64 + 1),
        } as usize;
        let timeout = match self.random.below(4) {
            0 | 1 => 0,
            2 => self.random.between(1, 3),
            _ => self.random.below(MAX_TIMEOUT as u64 + 1),
        } as u32;
        MsgInfo::new(self.random.bits() as u32, words, len)
            .with_flags(flags)
            .with_timeout(timeout)
            .0
    }

    /// A MsgInfo from the edges: every flag combination (the KERNEL flag and
    /// the reserved bit included), word counts to 15, lengths to 8191.
    fn edge_msginfo(&mut self) -> u64 {
        let label = match self.random.below(5) {
            0 => 0,
            1 => self.random.below(16) as u32,
            2 => u32::MAX,
            _ => self.random.bits() as u32,
        };
        let words = if self.random.chance(9, 10) {
            self.random.below(7)
        } else {
            self.random.between(7, 15)
        } as usize;
        let len = match self.random.below(14) {
            0..=4 => 0,
            5 => 1,
            6 => 4095,
            7 => 4096,
            8 => 4097,
            9 => 8191,
            10 => self.random.between(4097, 8191),
            _ => self.random.below(MAX_BUFFER as u64 + 1),
        } as usize;
        let mut flags = MsgFlags::empty();
        if self.random.chance(1, 5) {
            flags |= MsgFlags::HANDLE;
        }
        if self.random.chance(1, 14) {
            flags |= MsgFlags::KERNEL;
        }
        if self.random.chance(1, 2) {
            flags |= MsgFlags::NONBLOCK;
        }
        if self.random.chance(1, 20) {
            // The reserved fourth flag bit.
            flags |= MsgFlags::from_bits_retain(1 << 3);
        }
        let timeout = match self.random.below(8) {
            0..=3 => 0,
            4 => self.random.between(1, 3),
            5 => MAX_TIMEOUT as u64,
            _ => self.random.below(MAX_TIMEOUT as u64 + 1),
        } as u32;
        MsgInfo::new(label, words, len)
            .with_flags(flags)
            .with_timeout(timeout)
            .0
    }

    /// A scratch address with room for a whole `MAX_BUFFER` window after it.
    fn scratch_address(&mut self) -> u64 {
        let room = (SCRATCH_SIZE - MAX_BUFFER) as u64;
        let offset = match self.random.below(4) {
            0 => 0,
            1 => self.random.below(room / 8 + 1) * 8,
            _ => self.random.below(room + 1),
        };
        self.layout.scratch.0 + offset
    }

    /// A length that crosses `distance` bytes ahead (a straddle).
    fn crossing(&mut self, distance: u64) -> u64 {
        match self.random.below(4) {
            0 => distance + 1,
            1 => distance + self.random.between(1, 64),
            2 => distance + PAGE_SIZE,
            _ => self.length().max(distance + 1),
        }
    }

    /// An address and capacity for a buffer the kernel writes. Whatever the
    /// class, the window the kernel may write is checked: unless it touches
    /// only scratch, the fuzzer's own mappings (which hold no live data) or
    /// pages the fuzzer cannot write, the address is moved into the scratch
    /// pages.
    pub fn out_pair(&mut self) -> (u64, u64) {
        let layout = self.layout;
        let (address, capacity) = match self.random.below(21) {
            // One of its own mappings: pages not made yet, read-only ones,
            // memory objects (never live data).
            20 if !self.memory.mappings.as_slice().is_empty() => {
                let address = self.mapping_address().unwrap_or(layout.scratch.0);
                let capacity = if self.random.chance(3, 4) {
                    self.random.below(MAX_BUFFER as u64 + 1)
                } else {
                    self.length()
                };
                (address, capacity)
            }
            0..=8 => {
                let address = self.scratch_address();
                let capacity = if self.random.chance(3, 4) {
                    self.random.below(MAX_BUFFER as u64 + 1)
                } else {
                    self.length()
                };
                (address, capacity)
            }
            // Straddling the end of the scratch pages into the unmapped page
            // after the image.
            9 if layout.scratch_is_last => {
                let back = self.random.between(1, 128);
                (layout.scratch.1 - back, self.crossing(back))
            }
            // Read-only code and data.
            10 => {
                let span = layout.read_only.1 - layout.read_only.0 - MAX_BUFFER as u64;
                (
                    layout.read_only.0 + self.random.below(span),
                    self.random.below(MAX_BUFFER as u64 + 1),
                )
            }
            // Null and the unmapped first 2 MiB.
            11 => (self.random.pick(&[0, 8, 0x1000, USER_BASE - 64]), self.length()),
            // The kernel half.
            12 => (
                self.random
                    .pick(&[0xffff_8000_0000_0000, 0xffff_ffff_8010_0000, 0xffff_ffff_ffff_f000]),
                self.length(),
            ),
            // Non-canonical.
            13 => (
                self.random
                    .pick(&[0x8000_0000_0000_0000, 0x0000_8000_0000_0000, 0xffff_7fff_ffff_fff8]),
                self.length(),
            ),
            // Straddling the end of user space.
            14 => {
                let back = self.random.between(1, 64);
                (USER_END - back, self.crossing(back))
            }
            // The unmapped gap between the image and the stack.
            15 => (
                layout.image_end + PAGE_SIZE * self.random.between(1, 1 << 20),
                self.length(),
            ),
            16 => (self.random.bits(), self.length()),
            17 => (self.random.between(USER_BASE, USER_END), self.length()),
            _ => {
                let address = self.scratch_address() + self.random.between(1, 7);
                (address, self.random.below(MAX_BUFFER as u64))
            }
        };
        if layout.out_window_safe(address, capacity) {
            (address, capacity)
        } else {
            self.counts.redirected += 1;
            (self.scratch_address(), capacity)
        }
    }

    /// An address from the out-pointer classes that is safe for any length
    /// (for registers whose length, if any, is another random register).
    fn loose_pointer(&mut self) -> u64 {
        let (address, _) = self.out_pair();
        if self.layout.out_window_safe(address, MAX_BUFFER as u64) {
            address
        } else {
            self.scratch_address()
        }
    }

    /// An address for a buffer the kernel reads `len` bytes of: anywhere at
    /// all, the fuzzer's live data and its mappings included (reading
    /// changes nothing).
    fn in_address(&mut self, len: u64) -> u64 {
        let layout = self.layout;
        let back = if len == 0 {
            1
        } else {
            self.random.between(1, len.min(64))
        };
        match self.random.below(21) {
            20 => self.mapping_address().unwrap_or(layout.scratch.0),
            0..=7 => self.scratch_address(),
            8 => layout.scratch.1 - back,
            9 => layout.scratch.0 - back,
            10 => layout.read_only.0 + self.random.below(layout.read_only.1 - layout.read_only.0),
            11 => layout.image_end - back,
            // Live data: this very stack frame.
            12 => crate::layout::stack_pointer() + self.random.below(256),
            13 => layout.stack_bottom - back,
            14 => USER_END - back,
            15 => self.random.pick(&[0, 8, 0x1000, USER_BASE - 8]),
            16 => self.random.pick(&[
                0xffff_8000_0000_0000,
                0xffff_ffff_8010_0000,
                0x8000_0000_0000_0000,
                0x0000_8000_0000_0000,
            ]),
            17 => self.random.bits(),
            18 => self.random.between(USER_BASE, USER_END),
            _ => USER_END - STACK_PAGES * PAGE_SIZE + self.random.below(STACK_PAGES * PAGE_SIZE),
        }
    }

    /// An address and length for a buffer the kernel reads.
    fn in_pair(&mut self) -> (u64, u64) {
        let length = self.length();
        (self.in_address(length), length)
    }

    /// `spawn`'s name: usually one of [`NAMES`] (with `victim` rare, except
    /// in a burst, and capped), else whatever the generic pointers gave.
    fn spawn_name(&mut self, plan: &mut Plan, bursting: bool) {
        let choice = if bursting {
            Some(VICTIM)
        } else if self.random.chance(2, 3) {
            let index = if self.random.chance(1, 10) {
                VICTIM
            } else {
                self.random.between(1, NAMES.len() as u64 - 1) as usize
            };
            Some(index)
        } else {
            None
        };
        let Some(mut index) = choice else { return };
        if index == VICTIM && self.victims >= self.victim_limit {
            index = NOT_FOUND;
        }
        plan.name = Some(index);
        // The names live in the fuzzer's state, on its stack, which the
        // kernel may read.
        let name = self.names.get(index);
        plan.regs.rdi = name.as_ptr() as u64;
        plan.regs.rsi = name.len() as u64;
        // Arguments: mostly the manifest's (none), else a string (the
        // victim ignores it), else what the generic pointers gave.
        match self.random.below(8) {
            0..=4 => plan.regs.r10 = 0,
            5 | 6 => {
                let args: &[u8] = self.random.pick(&[b"x=1", b"seed=7 calls=9", b" "]);
                plan.regs.rdx = args.as_ptr() as u64;
                plan.regs.r10 = args.len() as u64;
            }
            _ => {}
        }
    }

    /// Makes an IPC call that could wait for a peer that never comes wait
    /// at most 1 to 3 ticks, and usually not at all (NONBLOCK).
    fn bound(&mut self, plan: &mut Plan) {
        let Some(syscall) = plan.syscall else { return };
        let needed = match syscall {
            Syscall::Send | Syscall::Call => Rights::SEND,
            _ => Rights::RECEIVE,
        };
        let Some(held) = self.model.get(plan.regs.rdi) else {
            // Not a handle: the kernel refuses it before any wait.
            return;
        };
        if !held.rights.contains(needed) {
            return;
        }
        // The sink and the mirror take every message at once and answer it:
        // no timeout, which could run out while the peer holds the message
        // (a tick between the two), and the fuzzer could then not tell
        // whether the peer took it (`crate::peers` follows their rooms).
        if matches!(syscall, Syscall::Send | Syscall::Call) && held.always_answered() {
            plan.regs.rsi = MsgInfo(plan.regs.rsi).with_timeout(0).0;
            return;
        }
        let info = MsgInfo(plan.regs.rsi);
        let nonblocking = info.flags().contains(MsgFlags::NONBLOCK);
        let short = (1..=3).contains(&info.timeout());
        // A call waits for the reply even with NONBLOCK: only its timeout
        // bounds that.
        if nonblocking && (syscall != Syscall::Call || short) {
            return;
        }
        let ticks = self.random.between(1, 3) as u32;
        plan.regs.rsi = if self.random.chance(1, WAIT_ONE_IN) {
            info.with_flags(info.flags() - MsgFlags::NONBLOCK).with_timeout(ticks).0
        } else if syscall == Syscall::Call {
            info.with_flags(info.flags() | MsgFlags::NONBLOCK).with_timeout(ticks).0
        } else {
            info.with_flags(info.flags() | MsgFlags::NONBLOCK).0
        };
    }
}
