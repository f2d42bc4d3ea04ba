//! What the test programs (`servers/testprogs`, `servers/hostile`) and the
//! system tests (`tests/tests/`) agree on: the addresses the programs poke,
//! the names of the kernel counters they report, the text they send through
//! the kernel for the tests to compare, and the tables of cases that drive a
//! program and its test alike.
//!
//! Written once here, so a program and its test cannot drift apart: the
//! crate is `no_std` with no dependency but `abi`, so it builds for the
//! kernel's target (the programs) and for the host (the tests). Programs
//! report their results as `key=value` lines (`libsys::results`), which the
//! tests read with `abi::results`.

#![cfg_attr(not(test), no_std)]

use abi::stats::Stats;

/// Inside the kernel's executable segment: 64 KiB into the kernel image,
/// past the PVH note and boot trampoline (linked at their physical
/// addresses and never mapped at -2 GiB). Present but supervisor-only:
/// `kwrite` writes it and `kernel-jump` jumps to it; `tests/tests/syscalls.rs`
/// checks against the kernel ELF that it is still text.
pub const KERNEL_TEXT: u64 = 0xffff_ffff_8011_0000;

/// The first word of the kernel's direct map of physical memory: present
/// but supervisor-only (`kread` reads it, `msg-faults` names it as a
/// buffer).
pub const KERNEL_DIRECT_MAP: u64 = 0xffff_8000_0000_0000;

/// Two bytes below the canonical boundary, where a `syscall` would return
/// to a non-canonical address; never mapped (`canonical-edge` jumps there).
pub const CANONICAL_EDGE: u64 = 0x7fff_ffff_fffe;

/// A label the console does not serve (`flood`, `handle-stuffer`).
pub const UNSERVED_LABEL: u32 = 0xbad;

/// IPC round trips the `worker` bystander makes with echo by default.
pub const WORKER_ROUNDS: u64 = 300;

/// The kernel counters a scenario must give back, as the programs that
/// compare them (`supervisor`, `spawner`) report them: `before.NAME=N`,
/// `after.NAME=N` and [`counters::COUNTERS_BACK`].
pub mod counters {
    use super::Stats;

    fn available_frames(stats: &Stats) -> u64 {
        stats.available_frames()
    }

    fn processes(stats: &Stats) -> u64 {
        stats.processes
    }

    fn threads(stats: &Stats) -> u64 {
        stats.threads
    }

    fn endpoints(stats: &Stats) -> u64 {
        stats.endpoints
    }

    fn handles(stats: &Stats) -> u64 {
        stats.handles
    }

    /// How to read a counter.
    pub type Read = fn(&Stats) -> u64;

    /// Each counter's name and how to read it.
    pub const COUNTERS: [(&str, Read); 5] = [
        ("available_frames", available_frames),
        ("processes", processes),
        ("threads", threads),
        ("endpoints", endpoints),
        ("handles", handles),
    ];

    /// The check that every counter came back (`check.counters_back`).
    pub const COUNTERS_BACK: &str = "counters_back";
}

/// `int80`: a line written through `int 0x80`.
pub mod int80 {
    /// What it writes, as the value of `greeting`.
    pub const GREETING: &str = "hello through int 0x80";
}

/// `registers`: a line written with every register filled, once through
/// `syscall` and once through `int 0x80`.
pub mod registers {
    /// The line, with its newline.
    pub const FILLED_LINE: &str = "filled.line=written with every register filled\n";
}

/// `flags`: a line written with DF and AC set (inside one `asm!` block).
pub mod flags {
    /// The line, with its newline.
    pub const DF_AC_LINE: &str = "df_ac.line=written with DF and AC set\n";
}

/// `bad-write`: `write` with buffers the kernel must refuse with EFAULT.
pub mod bad_write {
    /// An address in the kernel's half.
    pub const KERNEL_ADDRESS: u64 = 0xffff_8000_0000_1000;
    /// The first non-canonical address.
    pub const NON_CANONICAL: u64 = 0x8000_0000_0000_0000;
    /// A canonical user address nothing maps.
    pub const UNMAPPED: u64 = 0x10_0000_0000;

    /// Where a bad buffer lies.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Buffer {
        /// [`KERNEL_ADDRESS`], 16 bytes.
        KernelAddress,
        /// [`NON_CANONICAL`], 16 bytes.
        NonCanonical,
        /// [`UNMAPPED`], 16 bytes.
        Unmapped,
        /// Address 0, 10 bytes.
        Null,
        /// A valid buffer with a length that wraps around the address space.
        WrappingLength,
        /// 32 bytes straddling the top of the stack (`abi::USER_END`).
        StackTop,
        /// 32 bytes straddling the end of the program image.
        ImageEnd,
    }

    /// Every case: its key (`write.KEY=EFAULT`) and buffer.
    pub const EFAULT_CASES: [(&str, Buffer); 7] = [
        ("kernel_address", Buffer::KernelAddress),
        ("non_canonical", Buffer::NonCanonical),
        ("unmapped", Buffer::Unmapped),
        ("null", Buffer::Null),
        ("wrapping_length", Buffer::WrappingLength),
        ("stack_top", Buffer::StackTop),
        ("image_end", Buffer::ImageEnd),
    ];
}

/// `enosys`: syscall numbers the kernel does not know: just past the
/// table, a small number, one above 32 bits, and all ones.
pub const UNKNOWN_SYSCALLS: [u64; 4] = [abi::syscall::SYSCALLS.len() as u64, 999, 1 << 32, u64::MAX];

/// `pass-server` and `pass-client`: a message sent on a passed handle.
pub mod pass {
    /// Its bytes.
    pub const GREETING: &str = "hello through a passed handle";
    /// Its label.
    pub const LABEL: u32 = 0x77;
    /// The badge of the handle the client passes.
    pub const BADGE: u64 = 42;
}

/// `high-spinner`: timer ticks it keeps the CPU for (ten time slices).
pub const HIGH_SPINNER_TICKS: u64 = 20;

/// `raw-registers`: calls each function of libsys's raw layer with a
/// syscall number the kernel does not know and an argument value of its
/// own in every argument, so that the kernel's syscall trace shows which
/// register each argument reached.
pub mod raw_layer {
    /// What is called.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Function {
        /// `raw::syscallN`.
        Syscall(usize),
        /// `raw::ipc`.
        Ipc,
        /// `raw::int80_syscall3`.
        Int80,
    }

    /// Every function, in the order the program calls them.
    pub const FUNCTIONS: [Function; 9] = [
        Function::Syscall(0),
        Function::Syscall(1),
        Function::Syscall(2),
        Function::Syscall(3),
        Function::Syscall(4),
        Function::Syscall(5),
        Function::Syscall(6),
        Function::Ipc,
        Function::Int80,
    ];

    impl Function {
        /// The syscall number it is called with: unknown to the kernel,
        /// and its own.
        pub const fn number(self) -> u64 {
            0x7e57_0000
                + match self {
                    Function::Syscall(count) => count as u64,
                    Function::Ipc => 7,
                    Function::Int80 => 8,
                }
        }

        /// The value of its argument `index` (for `raw::ipc`: handle, info,
        /// buffer, capacity, then the six words).
        pub const fn value(self, index: usize) -> u64 {
            0x5eed_0000_0000_0000 | self.number() << 8 | index as u64
        }

        /// Its key in the program's report (`syscall3`, `ipc`, `int80`).
        pub fn key(self) -> &'static str {
            match self {
                Function::Syscall(count) => [
                    "syscall0", "syscall1", "syscall2", "syscall3", "syscall4", "syscall5", "syscall6",
                ][count],
                Function::Ipc => "ipc",
                Function::Int80 => "int80",
            }
        }
    }
}

/// `privileged`: the privileged instructions ring 3 tries, one per boot.
/// The program runs the case its `case=` argument names; the test of each
/// case (`tests/tests/hostile.rs`) boots it with the I/O right the case
/// says and expects a general protection fault at the instruction the
/// program reports (`at=0x...`), with one of the case's error codes.
pub mod privileged {
    /// What the program executes.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Instruction {
        /// Masks interrupts.
        Cli,
        /// Unmasks interrupts.
        Sti,
        /// Halts the CPU.
        Hlt,
        /// Reads COM1 (0x3f8).
        InSerial,
        /// Writes COM1 (0x3f8).
        OutSerial,
        /// Writes QEMU's exit port 0xf4 (`isa-debug-exit`): it would stop
        /// the machine.
        OutExit,
        /// Writes LSTAR, the syscall entry point.
        Wrmsr,
        /// Reads LSTAR.
        Rdmsr,
        /// Loads a global descriptor table.
        Lgdt,
        /// Loads an interrupt descriptor table.
        Lidt,
        /// Switches the page tables.
        MovCr3,
        /// Takes the kernel's GS base.
        Swapgs,
        /// Raises the timer vector (0x20) by hand: its gate is for the
        /// kernel only.
        IntTimer,
    }

    /// One case.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Case {
        /// The program's `case=` argument.
        pub name: &'static str,
        /// The instruction that must fault.
        pub instruction: Instruction,
        /// Whether the manifest entry gives the program the serial I/O
        /// right (`io = ["serial"]`).
        pub io: bool,
        /// Whether the program first sets IOPL to 3 with `popfq` (which
        /// ring 3 cannot: it reports `iopl=0`) and makes a syscall
        /// (`pid=N`).
        pub raise_iopl_first: bool,
        /// The error codes the fault may carry; empty: none.
        pub error_codes: &'static [u64],
    }

    const fn case(name: &'static str, instruction: Instruction) -> Case {
        Case {
            name,
            instruction,
            io: false,
            raise_iopl_first: false,
            error_codes: &[],
        }
    }

    /// Every case.
    pub const CASES: &[Case] = &[
        case("cli", Instruction::Cli),
        case("sti", Instruction::Sti),
        case("hlt", Instruction::Hlt),
        case("in-serial", Instruction::InSerial),
        case("out-serial", Instruction::OutSerial),
        case("out-exit", Instruction::OutExit),
        // The bitmap opens COM1 only: the serial right does not reach 0xf4.
        Case {
            io: true,
            ..case("out-exit-with-serial-right", Instruction::OutExit)
        },
        case("wrmsr", Instruction::Wrmsr),
        case("rdmsr", Instruction::Rdmsr),
        case("lgdt", Instruction::Lgdt),
        case("lidt", Instruction::Lidt),
        case("mov-cr3", Instruction::MovCr3),
        case("swapgs", Instruction::Swapgs),
        // `int n` through a gate of DPL 0: the error code names the IDT
        // entry, with bit 1 (IDT) set: 0x20 << 3 | 2 on hardware; QEMU's
        // TCG scales the vector by the 16-byte gate size instead (0x202).
        Case {
            error_codes: &[0x102, 0x202],
            ..case("int-timer", Instruction::IntTimer)
        },
        Case {
            raise_iopl_first: true,
            ..case("iopl", Instruction::Cli)
        },
    ];

    /// The case named `name`.
    pub fn find(name: &str) -> Option<&'static Case> {
        CASES.iter().find(|case| case.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_keys() {
        let names = privileged::CASES.iter().map(|case| case.name);
        let keys = bad_write::EFAULT_CASES.iter().map(|(key, _)| *key);
        let counters = counters::COUNTERS.iter().map(|(name, _)| *name);
        for list in [names.collect::<std::vec::Vec<_>>(), keys.collect(), counters.collect()] {
            for (index, name) in list.iter().enumerate() {
                assert!(abi::results::is_key(name), "{name}");
                assert!(!list[..index].contains(name), "{name} twice");
            }
        }
        assert_eq!(
            privileged::find("iopl").map(|case| case.instruction),
            Some(privileged::Instruction::Cli)
        );
    }

    #[test]
    fn lines_are_key_value() {
        for line in [registers::FILLED_LINE, flags::DF_AC_LINE] {
            let text = line.strip_suffix('\n').expect("a whole line");
            assert!(abi::results::parse(text).is_some(), "{line}");
        }
    }
}
