//! registers: fills every general-purpose register with a known value, makes
//! a syscall, and checks what came back. Through `syscall` only RAX, RCX and
//! R11 may change; through `int 0x80` only RAX. Covers a syscall that returns
//! at once (`get_pid`), one that switches threads (`yield`) and one that
//! blocks in IPC with the console (`write`). Reports
//! `preserved.CASE=N` for each case whose registers all came back,
//! `changed.CASE.REGISTER=BEFORE->AFTER` for each one that did not, and
//! `changed=N` in all; the line it writes with every register filled is
//! `testspec::registers::FILLED_LINE`. Exit status 0 if nothing else
//! changed.

#![no_std]
#![no_main]

use libsys::abi::Syscall;
use libsys::results::report;
use testspec::registers::FILLED_LINE;

libsys::entry!(main);

/// Registers saved after the syscall, in this order, then RAX.
const NAMES: [&str; 14] = [
    "rbx", "rbp", "rdi", "rsi", "rdx", "r8", "r9", "r10", "r12", "r13", "r14", "r15", "rcx", "r11",
];
/// The value each register is filled with (RDI, RSI and RDX carry the
/// syscall's arguments instead).
const fn pattern(index: usize) -> u64 {
    0x5eed_0000_0000_0000 | (index as u64) << 8 | index as u64
}

/// Makes syscall `number` by `instruction` (`syscall` or `int 0x80`) with
/// every register filled, and returns the registers afterwards (RAX last).
macro_rules! filled_syscall {
    ($instruction:literal, $number:expr, $a0:expr, $a1:expr, $a2:expr) => {{
        let mut after = [0u64; 15];
        // SAFETY: deliberate: RBX and RBP (which `asm!` cannot name) are saved
        // and restored on the stack; every other register is declared
        // clobbered; the kernel only reads the arguments (a valid buffer for
        // `write`), and `after` is written through the pointer kept on the
        // stack.
        unsafe {
            core::arch::asm!(
                "push rbx",
                "push rbp",
                "push rax",
                "mov rbx, {p0}",
                "mov rbp, {p1}",
                "mov r8, {p5}",
                "mov r9, {p6}",
                "mov r10, {p7}",
                "mov r12, {p8}",
                "mov r13, {p9}",
                "mov r14, {p10}",
                "mov r15, {p11}",
                "mov rcx, {p12}",
                "mov r11, {p13}",
                "mov eax, {number}",
                $instruction,
                "xchg rax, [rsp]",
                "mov [rax], rbx",
                "mov [rax + 8], rbp",
                "mov [rax + 16], rdi",
                "mov [rax + 24], rsi",
                "mov [rax + 32], rdx",
                "mov [rax + 40], r8",
                "mov [rax + 48], r9",
                "mov [rax + 56], r10",
                "mov [rax + 64], r12",
                "mov [rax + 72], r13",
                "mov [rax + 80], r14",
                "mov [rax + 88], r15",
                "mov [rax + 96], rcx",
                "mov [rax + 104], r11",
                "pop rcx",
                "mov [rax + 112], rcx",
                "pop rbp",
                "pop rbx",
                number = const $number as u64,
                p0 = const pattern(0),
                p1 = const pattern(1),
                p5 = const pattern(5),
                p6 = const pattern(6),
                p7 = const pattern(7),
                p8 = const pattern(8),
                p9 = const pattern(9),
                p10 = const pattern(10),
                p11 = const pattern(11),
                p12 = const pattern(12),
                p13 = const pattern(13),
                inout("rax") after.as_mut_ptr() => _,
                inout("rdi") $a0 => _,
                inout("rsi") $a1 => _,
                inout("rdx") $a2 => _,
                out("rcx") _,
                out("r8") _,
                out("r9") _,
                out("r10") _,
                out("r11") _,
                out("r12") _,
                out("r13") _,
                out("r14") _,
                out("r15") _,
            );
        }
        after
    }};
}

/// Compares the registers after a syscall with what went in; prints every
/// difference. Returns how many there were.
fn check(what: &str, after: &[u64; 15], arguments: [u64; 3], int80: bool) -> u32 {
    let mut changed = 0;
    let checked = if int80 { NAMES.len() } else { NAMES.len() - 2 };
    for (index, name) in NAMES.iter().enumerate().take(checked) {
        let expected = match index {
            2..=4 => arguments[index - 2],
            _ => pattern(index),
        };
        if after[index] != expected {
            report(
                format_args!("changed.{what}.{name}"),
                format_args!("{expected:#x}->{:#x}", after[index]),
            );
            changed += 1;
        }
    }
    if changed == 0 {
        report(format_args!("preserved.{what}"), checked);
    }
    changed
}

fn main() -> i32 {
    let line = FILLED_LINE.as_bytes();
    let (buffer, len) = (line.as_ptr() as u64, line.len() as u64);
    let pid = libsys::get_pid() as u64;
    let mut changed = 0;

    let after = filled_syscall!(
        "syscall",
        Syscall::GetPid,
        0x5eed_0202u64,
        0x5eed_0303u64,
        0x5eed_0404u64
    );
    changed += check(
        "syscall_get_pid",
        &after,
        [0x5eed_0202, 0x5eed_0303, 0x5eed_0404],
        false,
    );
    let after = filled_syscall!(
        "syscall",
        Syscall::Yield,
        0x5eed_0202u64,
        0x5eed_0303u64,
        0x5eed_0404u64
    );
    changed += check("syscall_yield", &after, [0x5eed_0202, 0x5eed_0303, 0x5eed_0404], false);
    let after = filled_syscall!("syscall", Syscall::Write, 1u64, buffer, len);
    changed += check("syscall_write", &after, [1, buffer, len], false);
    let after = filled_syscall!(
        "int 0x80",
        Syscall::GetPid,
        0x5eed_0202u64,
        0x5eed_0303u64,
        0x5eed_0404u64
    );
    changed += check("int80_get_pid", &after, [0x5eed_0202, 0x5eed_0303, 0x5eed_0404], true);
    let after = filled_syscall!(
        "int 0x80",
        Syscall::Yield,
        0x5eed_0202u64,
        0x5eed_0303u64,
        0x5eed_0404u64
    );
    changed += check("int80_yield", &after, [0x5eed_0202, 0x5eed_0303, 0x5eed_0404], true);
    let after = filled_syscall!("int 0x80", Syscall::Write, 1u64, buffer, len);
    changed += check("int80_write", &after, [1, buffer, len], true);
    if after[14] != len {
        report("int80_write.result", after[14]);
        changed += 1;
    }
    let pid_result = filled_syscall!("syscall", Syscall::GetPid, 0u64, 0u64, 0u64)[14];
    if pid_result != pid {
        report("get_pid.result", pid_result);
        changed += 1;
    }
    report("changed", changed);
    changed as i32
}
