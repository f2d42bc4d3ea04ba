//! fuzzer: issues a large number of syscalls with random and edge-case
//! arguments and checks every result against the ABI table
//! (`abi::SYSCALLS`): success, or an error the table lists for that
//! syscall (ENOSYS for unknown numbers). Anything else is a violation,
//! printed with the seed, the call's index and its registers; the exit
//! status is 1 if there was any.
//!
//! Arguments (`args` in the manifest): `seed=N` (default 1), `calls=N`
//! (default 10000), `log=N` to print every call from index N on (with
//! `log_calls=N`, default 64, of them) to reproduce a violation, and
//! `instance=I instances=N` when N fuzzers run at once, one per CPU
//! (`fuzzer::instances`: the programs of its world are then named
//! `pinger-I`, `victim-I`, ..., and the kernel's shared tables may be
//! full because of the others).
//!
//! Handles (see `fuzzer::handles`): 0 the sink (its console: `write` goes
//! there), 1 the mirror, 2 the inbox the pinger calls it on, 3 the printer
//! (its report), 4 the lifeline (the checker waits on it), 5 the interrupt
//! line `fuzzer::IRQ_LINE`. It starts the `pinger` itself (and closes its
//! process handle at once) and may spawn `victim`s, which it may wait for,
//! watch and kill.
//!
//! Before fuzzing it measures what the ABI leaves to the kernel about its
//! memory (`Fuzzer::calibrate`); before its report it unmaps everything it
//! mapped and closes every memory handle (`Fuzzer::release_memory`).

#![no_std]
#![no_main]

mod check;
mod generate;
mod invoke;
mod layout;
mod memcheck;
mod memgen;
mod memory;
mod model;
mod peers;
mod report;
mod signals;

use crate::generate::{Plan, SpawnNames};
use crate::invoke::{Entry, Regs, invoke};
use crate::layout::Layout;
use crate::memory::Memory;
use crate::model::Model;
use crate::report::Counts;
use crate::signals::Signals;
use abi::syscall::SYSCALLS;
use abi::{Error, Rights, Syscall};
use fuzzer::{Line, Name, Random, number_arg};

libsys::entry!(main);

/// Calls between two audits of the handle model.
const AUDIT_EVERY: u64 = 4096;
/// Calls between two progress lines.
const PROGRESS_EVERY: u64 = 25_000;
/// Calls between two bursts of `spawn("victim")` (one also comes half-way).
const BURST_EVERY: u64 = 50_000;
/// Spawns in a burst: more than the process table holds, so the burst
/// ends in ETABLEFULL.
const BURST_LENGTH: u32 = 72;

/// Everything the fuzzer knows and counts. It lives on the stack, which
/// the kernel is never asked to write.
pub struct Fuzzer {
    pub random: Random,
    pub layout: Layout,
    pub model: Model,
    /// Its mappings, its memory objects and its memory limit.
    pub memory: Memory,
    /// Its notifications, children, endpoints' bindings and interrupt line.
    pub signals: Signals,
    /// The rooms the sink and the mirror receive with now (`crate::peers`).
    pub sink_room: usize,
    pub mirror_room: usize,
    pub weights: [u32; SYSCALLS.len() + 1],
    pub seed: u64,
    pub pid: u64,
    /// Which of the fuzzers running at once this is, and how many run
    /// (1: it is alone, and the kernel's tables hold only what its world
    /// made).
    pub instance: u64,
    pub instances: u64,
    /// Its own program name (`fuzzer`, or `fuzzer-I`).
    pub name: Name,
    /// The names `spawn` is tried with (`generate::NAMES`).
    pub names: SpawnNames,
    /// Index of the current call.
    pub index: u64,
    pub last_ticks: u64,
    /// Victims started, and how many may be.
    pub victims: u64,
    pub victim_limit: u64,
    /// Spawns left in the current burst.
    pub burst: u32,
    /// Whether the fuzzer received a call it has not answered yet (`None`:
    /// not known, after a refused reply that may or may not have ended it).
    pub owed_reply: Option<bool>,
    pub counts: Counts,
    pub violations: u64,
    pub line: Line,
    /// The bytes the current call sends, when it goes to the mirror from
    /// the scratch pages (its answer overwrites them), and how many.
    pub sent_bytes: [u8; abi::message::MAX_BUFFER],
    pub sent: Option<usize>,
    /// Whether a report line could not be sent to the printer.
    pub report_lost: bool,
}

fn main() -> i32 {
    let seed = number_arg("seed", 1);
    let calls = number_arg("calls", 10_000);
    let log_from = number_arg("log", u64::MAX);
    let log_until = log_from.saturating_add(number_arg("log_calls", 64));
    let instances = number_arg("instances", 1).max(1);
    let instance = number_arg("instance", 0);
    let layout = Layout::new();
    let mut fuzzer = Fuzzer {
        random: Random::new(seed),
        layout,
        model: Model::new(),
        memory: Memory::new(
            abi::memory::DEFAULT_MEMORY_PAGES,
            layout.image_pages() + abi::memory::STACK_PAGES,
        ),
        signals: Signals::new(),
        sink_room: fuzzer::peer::FIRST_ROOM,
        mirror_room: fuzzer::peer::FIRST_ROOM,
        weights: generate::weights(),
        seed,
        pid: libsys::get_pid() as u64,
        instance,
        instances,
        name: fuzzer::instances::name("fuzzer", instance, instances),
        names: SpawnNames::new(instance, instances),
        index: 0,
        last_ticks: 0,
        victims: 0,
        victim_limit: 100 + calls / 500,
        burst: 0,
        owed_reply: Some(false),
        counts: Counts::new(),
        violations: 0,
        line: Line::new(),
        sent_bytes: [0; abi::message::MAX_BUFFER],
        sent: None,
        report_lost: false,
    };
    if let Some(problem) = fuzzer.layout.problems(layout::stack_pointer()) {
        fuzzer.say(format_args!("fuzz: cannot run: {problem}"));
        return 3;
    }
    if instances > 1 {
        fuzzer.say(format_args!("fuzz: instance {instance} of {instances}"));
    }
    fuzzer.say(format_args!(
        "fuzz: seed {seed} calls {calls}: scratch {:#x}-{:#x} (last in the image: {}), read-only {:#x}-{:#x}",
        layout.scratch.0, layout.scratch.1, layout.scratch_is_last, layout.read_only.0, layout.read_only.1
    ));
    if let Err(problem) = fuzzer.calibrate() {
        fuzzer.say(format_args!("fuzz: cannot run: {problem}"));
        return 3;
    }
    let memory = &fuzzer.memory;
    let (limit, image, regions, objects) = (
        memory.limit,
        layout.image_pages(),
        memory.region_room,
        memory.object_room,
    );
    fuzzer.say(format_args!(
        "fuzz: memory: limit {limit} pages (image {image}, stack {}), room for {regions} mappings and {objects} memory objects",
        abi::memory::STACK_PAGES
    ));
    // Its process handle is closed at once: the pinger is never waited
    // for nor killed.
    let pinger = fuzzer::instances::name("pinger", instance, instances);
    if let Err(error) = libsys::spawn(pinger.as_str()) {
        fuzzer.say(format_args!("fuzz: cannot start the pinger: {}", error.name()));
        return 4;
    }
    let start = libsys::get_ticks();
    fuzzer.last_ticks = start;
    while fuzzer.index < calls {
        let index = fuzzer.index;
        if (index % BURST_EVERY == BURST_EVERY / 2 || index == calls / 2) && fuzzer.burst == 0 {
            fuzzer.burst = BURST_LENGTH;
            fuzzer.make_room();
        }
        let plan = fuzzer.plan();
        fuzzer.keep_sent_bytes(&plan);
        let mut after = plan.regs;
        // SAFETY: the registers are deliberately bad (null, kernel,
        // non-canonical, unmapped, read-only and straddling pointers,
        // wrapping lengths, forged handles): finding how the kernel treats
        // them is the point. It stays memory-safe for the fuzzer because
        // every pointer the kernel may write through (with its capacity,
        // and every register of an unknown syscall) passed
        // `Layout::out_window_safe`: whatever the kernel writes lands in the
        // scratch pages, which hold no live data, or faults in the kernel.
        // Pointers the kernel only reads may point anywhere.
        let preserved = unsafe { invoke(plan.entry, &mut after) };
        if plan.entry == Entry::Int80 {
            fuzzer.counts.int80 += 1;
        }
        fuzzer.counts.record(&plan, after.rax);
        if let Some(reason) = fuzzer.check(&plan, &after, preserved) {
            fuzzer.violation(&plan, &after, reason);
        }
        if plan.syscall == Some(Syscall::Spawn) && fuzzer.burst > 0 {
            fuzzer.drop_child(after.rax);
        }
        if (log_from..log_until).contains(&index) {
            fuzzer.log_call(&plan, &after);
        }
        fuzzer.index += 1;
        if fuzzer.index.is_multiple_of(AUDIT_EVERY) {
            fuzzer.audit();
        }
        if fuzzer.index.is_multiple_of(PROGRESS_EVERY) && fuzzer.index < calls {
            let (done, violations, ticks) = (fuzzer.index, fuzzer.violations, libsys::get_ticks() - start);
            fuzzer.say(format_args!(
                "fuzz: progress: {done} calls, {violations} violations, {ticks} ticks"
            ));
        }
    }
    fuzzer.release_memory();
    fuzzer.audit();
    let ticks = libsys::get_ticks() - start;
    fuzzer.summary(start, ticks);
    match (fuzzer.violations, fuzzer.report_lost) {
        (0, false) => 0,
        (_, false) => 1,
        (_, true) => 2,
    }
}

impl Fuzzer {
    /// In a burst the process table is to fill up, not the handle table:
    /// the process handle `spawn` returned (if it succeeded) is closed at
    /// once (a probe, which must succeed).
    fn drop_child(&mut self, handle: u64) {
        if !self
            .model
            .get(handle)
            .is_some_and(|held| matches!(held.target, model::Target::Process(_)))
        {
            return;
        }
        // SAFETY: closing a handle touches no memory.
        let (plan, after) = unsafe { self.probe(Syscall::HandleClose, handle, 0, 0) };
        if after.rax != 0 {
            self.violation(&plan, &after, "closing a new process handle failed");
        }
        self.model.remove(handle);
        self.forget_unheld();
    }

    /// Closes one handle (a probe, which must succeed) if the handle table
    /// is full, so a burst's spawns can return their process handles.
    fn make_room(&mut self) {
        if !self.model.is_full() {
            return;
        }
        let spare = self
            .model
            .iter()
            .find(|held| held.guard() == model::Guard::Free && !self.must_keep(held.value));
        let Some(held) = spare else { return };
        // SAFETY: closing a handle touches no memory.
        let (plan, after) = unsafe { self.probe(Syscall::HandleClose, held.value, 0, 0) };
        if after.rax != 0 {
            self.violation(&plan, &after, "closing a held handle to make room failed");
        }
        self.model.remove(held.value);
        self.forget_unreferred();
        self.forget_unheld();
    }

    /// Keeps a copy of the bytes a call to the mirror sends from the
    /// scratch pages, which its answer overwrites.
    fn keep_sent_bytes(&mut self, plan: &Plan) {
        self.sent = None;
        let to_mirror = self
            .model
            .get(plan.regs.rdi)
            .is_some_and(|held| held.target == model::Target::Mirror);
        let len = abi::MsgInfo(plan.regs.rsi).len();
        if plan.syscall != Some(Syscall::Call) || !to_mirror || len > self.sent_bytes.len() {
            return;
        }
        for index in 0..len {
            match self.read_byte(plan.regs.rdx.wrapping_add(index as u64)) {
                Some(byte) => self.sent_bytes[index] = byte,
                None => return,
            }
        }
        self.sent = Some(len);
    }

    /// Checks the model against the kernel without changing anything:
    /// `handle_dup` with an invalid rights bit fails with EBADHANDLE for a
    /// handle that is not open, ENORIGHTS for one without TRANSFER, and
    /// EINVAL for any other, creating nothing; and the memory limit leaves
    /// exactly the room the model says (`Fuzzer::check_limit`).
    fn audit(&mut self) {
        self.check_limit();
        let probe = |value: u64| Plan {
            number: Syscall::HandleDup as u64,
            syscall: Some(Syscall::HandleDup),
            entry: Entry::Syscall,
            regs: Regs {
                rax: Syscall::HandleDup as u64,
                rdi: value,
                rsi: 1 << 10,
                ..Regs::default()
            },
            passed: None,
            name: None,
        };
        let mut expectations = [(0u64, Error::BADHANDLE); 48];
        let mut count = 0;
        for n in 0..self.model.count() {
            if let Some(held) = self.model.nth(n) {
                let expected = if held.rights.contains(Rights::TRANSFER) {
                    Error::INVAL
                } else {
                    Error::NORIGHTS
                };
                expectations[count] = (held.value, expected);
                count += 1;
            }
        }
        for value in self.model.stale_values() {
            if count < expectations.len() && self.model.get(value).is_none() {
                expectations[count] = (value, Error::BADHANDLE);
                count += 1;
            }
        }
        for &(value, expected) in &expectations[..count] {
            let plan = probe(value);
            let mut after = plan.regs;
            // SAFETY: handle_dup takes integers only; nothing is written.
            unsafe { invoke(Entry::Syscall, &mut after) };
            self.counts.audits += 1;
            if after.rax != expected.to_return() {
                let reason = match expected {
                    Error::BADHANDLE => "audit: a closed handle is still open",
                    _ => "audit: an open handle is closed or has other rights",
                };
                self.violation(&plan, &after, reason);
            }
        }
    }
}
