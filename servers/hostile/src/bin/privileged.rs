//! privileged: executes one privileged instruction from ring 3: the case
//! of `testspec::privileged::CASES` its `case=` argument names (the table
//! also drives the case's test in `tests/tests/hostile.rs`). Every one of
//! them must end the program with a general protection fault reported at
//! that very instruction, which the program reports first (`case=NAME`,
//! `at=0x201010`); reporting `returned=` would mean ring 3 got hold of the
//! machine. A case that raises IOPL first reports what IOPL became
//! (`iopl=0`: ring 3 cannot raise it) and makes a syscall (`pid=N`) before
//! its instruction.

#![no_std]
#![no_main]

use libsys::results::report;
use testspec::privileged::{self, Instruction};

libsys::entry!(main);

// Each case is a function whose label `<name>_at` marks the privileged
// instruction itself: that is the RIP the fault must be reported at. They
// take one argument in RDI (a pointer or a value, as the case needs).
core::arch::global_asm!(
    ".pushsection .text.privileged, \"ax\"",
    ".global privileged_cli, privileged_sti, privileged_hlt",
    ".global privileged_in_serial, privileged_in_serial_at",
    ".global privileged_out_serial, privileged_out_serial_at",
    ".global privileged_out_exit, privileged_out_exit_at",
    ".global privileged_wrmsr, privileged_wrmsr_at, privileged_rdmsr, privileged_rdmsr_at",
    ".global privileged_lgdt, privileged_lidt, privileged_mov_cr3, privileged_swapgs",
    ".global privileged_int_timer, privileged_raise_iopl",
    "privileged_cli:",
    "    cli",
    "    ret",
    "privileged_sti:",
    "    sti",
    "    ret",
    "privileged_hlt:",
    "    hlt",
    "    ret",
    "privileged_in_serial:",
    "    mov dx, 0x3f8",
    "privileged_in_serial_at:",
    "    in al, dx",
    "    ret",
    "privileged_out_serial:",
    "    mov dx, 0x3f8",
    "    mov al, 0x21",
    "privileged_out_serial_at:",
    "    out dx, al",
    "    ret",
    // 0x31 to isa-debug-exit would end QEMU with status 0x63.
    "privileged_out_exit:",
    "    mov dx, 0xf4",
    "    mov al, 0x31",
    "privileged_out_exit_at:",
    "    out dx, al",
    "    ret",
    // LSTAR: the kernel's syscall entry point.
    "privileged_wrmsr:",
    "    mov ecx, 0xc0000082",
    "    xor eax, eax",
    "    xor edx, edx",
    "privileged_wrmsr_at:",
    "    wrmsr",
    "    ret",
    "privileged_rdmsr:",
    "    mov ecx, 0xc0000082",
    "privileged_rdmsr_at:",
    "    rdmsr",
    "    ret",
    "privileged_lgdt:",
    "    lgdt [rdi]",
    "    ret",
    "privileged_lidt:",
    "    lidt [rdi]",
    "    ret",
    "privileged_mov_cr3:",
    "    mov cr3, rdi",
    "    ret",
    "privileged_swapgs:",
    "    swapgs",
    "    ret",
    "privileged_int_timer:",
    "    int 0x20",
    "    ret",
    // Returns RFLAGS as the CPU left them after the attempt.
    "privileged_raise_iopl:",
    "    pushfq",
    "    or qword ptr [rsp], 0x3000",
    "    popfq",
    "    pushfq",
    "    pop rax",
    "    ret",
    ".popsection",
);

unsafe extern "C" {
    fn privileged_cli(argument: u64);
    fn privileged_sti(argument: u64);
    fn privileged_hlt(argument: u64);
    fn privileged_in_serial(argument: u64);
    fn privileged_in_serial_at();
    fn privileged_out_serial(argument: u64);
    fn privileged_out_serial_at();
    fn privileged_out_exit(argument: u64);
    fn privileged_out_exit_at();
    fn privileged_wrmsr(argument: u64);
    fn privileged_wrmsr_at();
    fn privileged_rdmsr(argument: u64);
    fn privileged_rdmsr_at();
    fn privileged_lgdt(argument: u64);
    fn privileged_lidt(argument: u64);
    fn privileged_mov_cr3(argument: u64);
    fn privileged_swapgs(argument: u64);
    fn privileged_int_timer(argument: u64);
    fn privileged_raise_iopl() -> u64;
}

/// The address of a label in the assembly above.
fn address(label: unsafe extern "C" fn()) -> usize {
    label as usize
}

/// What runs a case: its function and the address of its privileged
/// instruction.
struct Target {
    run: unsafe extern "C" fn(u64),
    at: usize,
}

/// The function and address of `instruction`.
fn target(instruction: Instruction) -> Target {
    let first = |run: unsafe extern "C" fn(u64)| Target { run, at: run as usize };
    let labelled = |run: unsafe extern "C" fn(u64), at: unsafe extern "C" fn()| Target { run, at: address(at) };
    match instruction {
        Instruction::Cli => first(privileged_cli),
        Instruction::Sti => first(privileged_sti),
        Instruction::Hlt => first(privileged_hlt),
        Instruction::InSerial => labelled(privileged_in_serial, privileged_in_serial_at),
        Instruction::OutSerial => labelled(privileged_out_serial, privileged_out_serial_at),
        Instruction::OutExit => labelled(privileged_out_exit, privileged_out_exit_at),
        Instruction::Wrmsr => labelled(privileged_wrmsr, privileged_wrmsr_at),
        Instruction::Rdmsr => labelled(privileged_rdmsr, privileged_rdmsr_at),
        Instruction::Lgdt => first(privileged_lgdt),
        Instruction::Lidt => first(privileged_lidt),
        Instruction::MovCr3 => first(privileged_mov_cr3),
        Instruction::Swapgs => first(privileged_swapgs),
        Instruction::IntTimer => first(privileged_int_timer),
    }
}

fn main() -> i32 {
    let name = libsys::arg("case").unwrap_or("");
    let Some(case) = privileged::find(name) else {
        report("case", format_args!("unknown {name:?}"));
        return 2;
    };
    let target = target(case.instruction);
    if case.raise_iopl_first {
        // SAFETY: deliberate: tries to raise IOPL with popfq. At CPL 3 the
        // CPU ignores the IOPL bits, so only RFLAGS' other bits are written
        // back, unchanged.
        let rflags = unsafe { privileged_raise_iopl() };
        report("iopl", (rflags >> 12) & 3);
        // A syscall in between: the kernel must not hand IOPL back either.
        report("pid", libsys::get_pid());
    }
    // lgdt and lidt read a 10-byte descriptor (limit 0, base 0) at RDI, and
    // mov cr3 would take that address as its page-table root; the other
    // cases ignore their argument.
    let descriptor = [0u8; 16];
    report("case", name);
    report("at", format_args!("{:#x}", target.at));
    // SAFETY: deliberately unsound: executes a privileged instruction in
    // ring 3, which must raise a general protection fault before it has any
    // effect. `descriptor` outlives the call.
    unsafe { (target.run)(descriptor.as_ptr() as u64) };
    report("returned", name);
    1
}
