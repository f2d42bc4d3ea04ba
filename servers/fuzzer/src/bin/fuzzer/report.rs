//! The fuzzer's report: lines sent to the printer (handle
//! [`fuzzer::handles::PRINTER`]), never through `write`, whose handle 0 is
//! the sink. Violations, progress, and the summary at the end, which is
//! `key=value` lines for the build tool to read (`abi::results`):
//! `fuzz.outcomes.SYSCALL=ok:N EFAULT:N ...` per syscall (and `unknown`),
//! `fuzz.outcomes.all=...`, `fuzz.excluded=`, the counts of the call
//! mix, which instance it is and the tick it started fuzzing at
//! (`fuzz.instance=`, `fuzz.start_tick=`: instances running at once must
//! overlap), and last `fuzz.seed=`, `fuzz.calls=`, `fuzz.violations=` and
//! `fuzz.ticks=`.

use crate::Fuzzer;
use crate::check::{OUTCOMES, SLOTS, outcome};
use crate::generate::Plan;
use crate::invoke::{ARGUMENT_REGS, Regs};
use abi::Error;
use abi::syscall::SYSCALLS;
use core::fmt::{self, Write};
use fuzzer::{Line, PRINT, error_name, handles};
use libsys::ipc::{self, Msg};

/// Violations printed in full; the rest are only counted.
const PRINTED_VIOLATIONS: u64 = 40;

/// Counters of everything the fuzzer did.
pub struct Counts {
    /// Per syscall slot (table entries, then unknown numbers): calls per
    /// outcome (success, each ABI error, any other code).
    pub outcomes: [[u64; OUTCOMES]; SLOTS],
    /// Out-pointers moved into the scratch pages because the kernel could
    /// have written live data through them.
    pub redirected: u64,
    /// Calls made through `int 0x80`.
    pub int80: u64,
    /// Extra calls made to audit the handle model.
    pub audits: u64,
    /// Extra calls made to check memory (`stats` into pages that must be
    /// refused, the memory limit, the measurements at start, the release
    /// at the end).
    pub probes: u64,
    /// `mem_unmap` and `mem_protect` ranges replaced because they held a
    /// page of the fuzzer's own.
    pub confined: u64,
    /// Victims `process_kill` ended.
    pub killed: u64,
    /// Notification messages a receive delivered.
    pub notified: u64,
    /// ETABLEFULL from `notify_create` or `mem_create` that only the
    /// kernel's tables being full because of the other fuzzers running at
    /// once explains.
    pub shared_full: u64,
}

impl Counts {
    pub const fn new() -> Counts {
        Counts {
            outcomes: [[0; OUTCOMES]; SLOTS],
            redirected: 0,
            int80: 0,
            audits: 0,
            probes: 0,
            confined: 0,
            killed: 0,
            notified: 0,
            shared_full: 0,
        }
    }

    pub fn record(&mut self, plan: &Plan, rax: u64) {
        let slot = plan.syscall.map_or(SLOTS - 1, |syscall| syscall as usize);
        self.outcomes[slot][outcome(rax)] += 1;
    }
}

/// The name of an outcome slot.
fn outcome_name(index: usize) -> &'static str {
    match index {
        0 => "ok",
        _ => Error::ALL.get(index - 1).map_or("other", |error| error.name()),
    }
}

/// The name of a syscall slot.
fn slot_name(slot: usize) -> &'static str {
    SYSCALLS.get(slot).map_or("unknown", |desc| desc.name)
}

/// A plan's syscall name.
pub fn plan_name(plan: &Plan) -> &'static str {
    plan.syscall.map_or("unknown", |syscall| syscall.name())
}

/// Writes the registers of `regs` as `rdi=0x.. rsi=0x.. ...`.
struct Registers<'a>(&'a Regs);

impl fmt::Display for Registers<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, reg) in ARGUMENT_REGS.iter().enumerate() {
            if index > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{}={:#x}", reg.name(), self.0.get(*reg))?;
        }
        Ok(())
    }
}

/// The outcomes that happened, as `ok:N EFAULT:N ...`.
struct Outcomes<'a>(&'a [u64; OUTCOMES]);

impl fmt::Display for Outcomes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let happened = self.0.iter().enumerate().filter(|(_, count)| **count > 0);
        for (shown, (index, count)) in happened.enumerate() {
            let separator = if shown == 0 { "" } else { " " };
            write!(f, "{separator}{}:{count}", outcome_name(index))?;
        }
        Ok(())
    }
}

/// A RAX value as `0x..` plus the error name.
struct Result(u64);

impl fmt::Display for Result {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Error::decode(self.0) {
            Ok(value) => write!(f, "{value:#x}"),
            Err(code) => write!(f, "-{code} {}", error_name(code)),
        }
    }
}

impl Fuzzer {
    /// Sends one line (a newline is added) to the printer.
    pub fn say(&mut self, args: fmt::Arguments) {
        self.line.clear();
        let _ = self.line.write_fmt(args);
        let _ = self.line.write_str("\n");
        let sent = ipc::send(handles::PRINTER, &Msg::new(PRINT), self.line.as_bytes());
        if sent.is_err() {
            self.report_lost = true;
        }
    }

    /// Records and (the first few times) prints a violation.
    pub fn violation(&mut self, plan: &Plan, after: &Regs, reason: &str) {
        self.violations += 1;
        if self.violations > PRINTED_VIOLATIONS {
            return;
        }
        let (seed, index) = (self.seed, self.index);
        self.say(format_args!(
            "fuzz: VIOLATION seed {seed} call {index}: {reason}: {} ({:#x}) via {}: {} -> rax={} | after: {}",
            plan_name(plan),
            plan.number,
            plan.entry.name(),
            Registers(&plan.regs),
            Result(after.rax),
            Registers(after),
        ));
        if self.violations == PRINTED_VIOLATIONS {
            self.say(format_args!("fuzz: further violations are only counted"));
        }
    }

    /// Prints one call (for `log=N`).
    pub fn log_call(&mut self, plan: &Plan, after: &Regs) {
        let index = self.index;
        self.say(format_args!(
            "fuzz: call {index}: {} ({:#x}) via {}: {} -> {}",
            plan_name(plan),
            plan.number,
            plan.entry.name(),
            Registers(&plan.regs),
            Result(after.rax),
        ));
    }

    /// Prints the summary: per syscall, per outcome, what was left out and
    /// the mix of calls, and the totals last. It started fuzzing at tick
    /// `start` and took `ticks`.
    pub fn summary(&mut self, start: u64, ticks: u64) {
        for slot in 0..SLOTS {
            let counts = self.counts.outcomes[slot];
            if counts.iter().all(|count| *count == 0) {
                continue;
            }
            self.say(format_args!("fuzz.outcomes.{}={}", slot_name(slot), Outcomes(&counts)));
        }
        let mut all = [0; OUTCOMES];
        for (index, total) in all.iter_mut().enumerate() {
            *total = self.counts.outcomes.iter().map(|slot| slot[index]).sum();
        }
        self.say(format_args!("fuzz.outcomes.all={}", Outcomes(&all)));
        // Left out: never returns, or waits in a way the fuzzer cannot bound.
        let mut line = Line::new();
        let excluded = SYSCALLS.iter().filter(|desc| !crate::generate::fuzzable(desc));
        for (index, desc) in excluded.enumerate() {
            let _ = write!(line, "{}{}", if index == 0 { "" } else { " " }, desc.name);
        }
        self.say(format_args!(
            "fuzz.excluded={}",
            core::str::from_utf8(line.as_bytes()).unwrap_or("?")
        ));
        let counts = [
            ("fuzz.int80_calls", self.counts.int80),
            ("fuzz.redirected_out_pointers", self.counts.redirected),
            ("fuzz.audit_calls", self.counts.audits),
            ("fuzz.memory_probes", self.counts.probes),
            ("fuzz.confined_ranges", self.counts.confined),
            ("fuzz.victims", self.victims),
            ("fuzz.victims_killed", self.counts.killed),
            ("fuzz.notification_messages", self.counts.notified),
            ("fuzz.shared_tables_full", self.counts.shared_full),
            ("fuzz.instance", self.instance),
            ("fuzz.start_tick", start),
            ("fuzz.seed", self.seed),
            ("fuzz.calls", self.index),
            ("fuzz.violations", self.violations),
            ("fuzz.ticks", ticks),
        ];
        for (key, value) in counts {
            self.say(format_args!("{key}={value}"));
        }
    }
}
