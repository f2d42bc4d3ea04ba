//! Choosing a syscall and its registers: random values skewed towards the
//! edges (null, kernel, non-canonical and straddling pointers; lengths
//! around page sizes and wrapping; stale, forged and out-of-range handles;
//! every MsgInfo flag), driven by the argument kinds of `abi::SYSCALLS`.
//!
//! Two rules keep the fuzzer alive: a buffer the kernel may write always
//! comes through [`Layout::out_window_safe`] (so only scratch pages can be
//! written), and an IPC call that could wait for a peer that never comes is
//! made non-blocking or given a timeout of 1 to 3 ticks ([`Fuzzer::bound`]).

use crate::Fuzzer;
use crate::invoke::{Entry, Regs};
use crate::layout::{SCRATCH_SIZE, STACK_PAGES};
use crate::model::{Guard, Held, NEVER_A_HANDLE};
use abi::handle::MAX_HANDLES;
use abi::message::{MAX_BUFFER, MAX_TIMEOUT, MAX_WORDS, MsgFlags};
use abi::syscall::{ArgKind, SYSCALLS, SyscallDesc};
use abi::{MsgInfo, PAGE_SIZE, Rights, Syscall, USER_BASE, USER_END};

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

/// Unknown syscall numbers worth trying (besides random ones).
const UNKNOWN: [u64; 11] = [
    SYSCALLS.len() as u64,
    SYSCALLS.len() as u64 + 1,
    31,
    64,
    255,
    1 << 32,
    (1 << 32) | Syscall::Stats as u64,
    // Were the number cut to 32 bits, this would end the fuzzer.
    (1 << 32) | Syscall::Exit as u64,
    (1 << 63) | Syscall::GetPid as u64,
    u64::MAX,
    0x8000_0000_0000_0000,
];

/// Names `spawn` is tried with: only `victim` may be started (and
/// `pinger`, which the fuzzer starts itself); the others exist but are not
/// the fuzzer's to spawn (EDENIED), do not exist (ENOTFOUND), or are no
/// valid name at all (EINVAL).
pub const NAMES: [&[u8]; 13] = [
    b"victim",
    b"fuzzer",
    b"checker",
    b"printer",
    b"sink",
    b"mirror",
    b"console",
    b"nosuch",
    b"victimx",
    b"victi",
    b"",
    b"abcdefghijklmnopq",
    b"\xff\xfe\x80",
];
/// Index of `victim` in [`NAMES`].
pub const VICTIM: usize = 0;
/// Index of `victimx` (no such program) in [`NAMES`].
const NOT_FOUND: usize = 8;

/// Out of this many IPC calls that could wait, one really waits (1 to 3
/// timer ticks); the others are made non-blocking. Waits cost wall time
/// (10 ms ticks) but let the pinger and victims run.
const WAIT_ONE_IN: u64 = 160;

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
        Syscall::EndpointCreate | Syscall::Stats => 5,
        Syscall::HandleDup | Syscall::HandleClose => 6,
        Syscall::Spawn => 3,
        // Not in the model yet: they could unmap the fuzzer's own memory.
        Syscall::MemMap | Syscall::MemUnmap | Syscall::MemProtect | Syscall::MemCreate | Syscall::MemMapObject => 0,
        // Not in the model yet (ABI 2.0).
        Syscall::NotifyCreate
        | Syscall::Notify
        | Syscall::NotifyWait
        | Syscall::NotifyBind
        | Syscall::IrqBind
        | Syscall::IrqAck
        | Syscall::ProcessWait
        | Syscall::ProcessKill
        | Syscall::ProcessWatch
        | Syscall::ProcessInfo => 0,
    }
}

const UNKNOWN_WEIGHT: u32 = 3;

/// Whether the fuzzer can make this syscall: it returns, and if it can
/// wait, the fuzzer knows how to bound the wait.
pub fn fuzzable(desc: &SyscallDesc) -> bool {
    let known_blocking = matches!(
        desc.number,
        Syscall::Write | Syscall::Send | Syscall::Recv | Syscall::Call | Syscall::ReplyRecv
    );
    desc.returns == abi::syscall::Returns::Yes && (!desc.blocks || known_blocking) && weight(desc.number) > 0
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
                // Now and then the length the sink answers with an error.
                if self.random.chance(1, 32) {
                    plan.regs.rsi = self.scratch_address();
                    plan.regs.rdx = fuzzer::SINK_ERROR_LEN as u64;
                }
            }
            Syscall::Spawn => self.spawn_name(&mut plan, bursting),
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
            _ => {}
        }
        plan
    }

    /// An unknown syscall number with every register set.
    fn unknown(&mut self, entry: Entry) -> Plan {
        let number = match self.random.below(4) {
            0 => self.random.bits(),
            1 => self.random.between(SYSCALLS.len() as u64, 255),
            _ => self.random.pick(&UNKNOWN),
        };
        // A number the table knows after all (a random one) is not unknown.
        let number = if number < SYSCALLS.len() as u64 {
            SYSCALLS.len() as u64
        } else {
            number
        };
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
                ArgKind::Len => self.length(),
                ArgKind::Rights => self.rights(),
                ArgKind::Badge => self.badge(),
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
            let value = self.handle(Rights::TRANSFER);
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

    fn rights(&mut self) -> u64 {
        match self.random.below(8) {
            0 => 0,
            1 => 8,
            2 => self.random.bits(),
            3 => u64::MAX,
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
    /// only scratch or pages the fuzzer cannot write, the address is moved
    /// into the scratch pages.
    pub fn out_pair(&mut self) -> (u64, u64) {
        let layout = self.layout;
        let (address, capacity) = match self.random.below(20) {
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
    /// all, the fuzzer's live data included (reading changes nothing).
    fn in_address(&mut self, len: u64) -> u64 {
        let layout = self.layout;
        let back = if len == 0 {
            1
        } else {
            self.random.between(1, len.min(64))
        };
        match self.random.below(20) {
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
            let index = if self.random.chance(1, 50) {
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
        plan.regs.rdi = NAMES[index].as_ptr() as u64;
        plan.regs.rsi = NAMES[index].len() as u64;
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
        if matches!(syscall, Syscall::Send | Syscall::Call) && held.always_answered() {
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
