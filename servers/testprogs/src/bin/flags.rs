//! flags: makes syscalls with RFLAGS bits a careless kernel would inherit.
//! DF and AC set: `get_pid` and `write` through `syscall` and `get_pid`
//! through `int 0x80` must work and hand both flags back unchanged. Then TF
//! set right before a `syscall`: the single-step trap must land in ring 3 and
//! kill this program with a debug exception, never inside the kernel.
//!
//! It writes `testspec::flags::DF_AC_LINE` with DF and AC set, reports
//! `check.df_ac_syscalls` (the results and flags were right), then
//! `trap_expected=0x...` (where the trap must be reported) before it sets
//! TF. Reporting `check.trap=fail` would mean no trap came.

#![no_std]
#![no_main]

use core::arch::asm;
use libsys::abi::Syscall;
use libsys::results::{check, report};
use testspec::flags::DF_AC_LINE;

libsys::entry!(main);

const DF: u64 = 1 << 10;
const AC: u64 = 1 << 18;
const TF: u64 = 1 << 8;

/// What the syscalls made with DF and AC set returned.
struct Results {
    pid: u64,
    written: u64,
    int80_pid: u64,
    /// RFLAGS right after the last syscall.
    flags: u64,
}

/// Sets DF and AC, makes the syscalls, reads RFLAGS back, and clears both
/// flags again, all in one `asm!` block: Rust code must never run with DF set.
fn syscalls_with_df_and_ac(line: &[u8]) -> Results {
    let (pid, written, int80_pid, flags): (u64, u64, u64, u64);
    // SAFETY: deliberate: DF and AC are set only inside this block and cleared
    // before it ends; the write only reads `line`, valid for its length, and
    // the syscalls preserve every register but RAX, RCX and R11.
    unsafe {
        asm!(
            "std",
            "pushfq",
            "or qword ptr [rsp], {ac}",
            "popfq",
            "mov eax, {get_pid}",
            "syscall",
            "mov {pid}, rax",
            "mov eax, {write}",
            "syscall",
            "mov {written}, rax",
            "mov eax, {get_pid}",
            "int 0x80",
            "mov {int80_pid}, rax",
            "pushfq",
            "pop {flags}",
            "pushfq",
            "and qword ptr [rsp], {not_ac}",
            "popfq",
            "cld",
            ac = const AC,
            not_ac = const !AC,
            get_pid = const Syscall::GetPid as u64,
            write = const Syscall::Write as u64,
            pid = out(reg) pid,
            written = out(reg) written,
            int80_pid = out(reg) int80_pid,
            flags = out(reg) flags,
            inout("rdi") 1u64 => _,
            inout("rsi") line.as_ptr() => _,
            inout("rdx") line.len() => _,
            out("rax") _,
            out("rcx") _,
            out("r11") _,
        );
    }
    Results {
        pid,
        written,
        int80_pid,
        flags,
    }
}

/// With `armed`, sets TF right before a `syscall` (`get_pid`): the CPU traps
/// after the instruction that follows the one that set TF, and the kernel
/// must kill this program there. Without `armed`, only returns the address
/// of the instruction after that `syscall`, where the trap should be
/// reported. One function, never inlined, so both calls share the address.
#[inline(never)]
fn single_step_syscall(armed: bool) -> u64 {
    let after: u64;
    // SAFETY: deliberate: armed, TF makes the CPU trap after the `syscall`
    // and the kernel kills this program there. Should it not, TF is cleared
    // again before any Rust code runs.
    unsafe {
        asm!(
            "lea {after}, [rip + 2f]",
            "test {armed}, {armed}",
            "jz 3f",
            "mov eax, {get_pid}",
            "pushfq",
            "or qword ptr [rsp], {tf}",
            "popfq",
            "syscall",
            "2:",
            "pushfq",
            "and qword ptr [rsp], {not_tf}",
            "popfq",
            "3:",
            armed = in(reg) u64::from(armed),
            after = out(reg) after,
            get_pid = const Syscall::GetPid as u64,
            tf = const TF,
            not_tf = const !TF,
            out("rax") _,
            out("rcx") _,
            out("r11") _,
        );
    }
    after
}

fn main() -> i32 {
    let line = DF_AC_LINE.as_bytes();
    let results = syscalls_with_df_and_ac(line);
    let pid = libsys::get_pid() as u64;
    let all_right = results.pid == pid
        && results.int80_pid == pid
        && results.written == line.len() as u64
        && results.flags & (DF | AC) == DF | AC;
    if !check("df_ac_syscalls", all_right) {
        report("df_ac.pid", results.pid);
        report("df_ac.int80_pid", results.int80_pid);
        report("df_ac.expected_pid", pid);
        report("df_ac.written", results.written);
        report("df_ac.rflags", format_args!("{:#x}", results.flags));
        return 1;
    }

    let expected = single_step_syscall(false);
    report("trap_expected", format_args!("{expected:#x}"));
    single_step_syscall(true);
    check("trap", false);
    2
}
