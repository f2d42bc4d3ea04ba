//! privileged: executes one privileged instruction from ring 3, named by
//! its `instruction=` argument. Every one of them must end the program with
//! a general protection fault reported at that very instruction, which the
//! program announces first (`executing cli at 0x201010`); printing the line
//! after it would mean ring 3 got hold of the machine.
//!
//! | argument | what it tries |
//! |---|---|
//! | `cli`, `sti` | masking or unmasking interrupts |
//! | `hlt` | halting the CPU |
//! | `in-serial`, `out-serial` | reading and writing COM1 (0x3f8) without the I/O right |
//! | `out-exit` | writing QEMU's exit port 0xf4 (`isa-debug-exit`): it would stop the machine |
//! | `wrmsr`, `rdmsr` | writing and reading LSTAR, the syscall entry point |
//! | `lgdt`, `lidt` | loading a descriptor table |
//! | `mov-cr3` | switching the page tables |
//! | `swapgs` | taking the kernel's GS base |
//! | `int-timer` | raising the timer vector (0x20) by hand: its gate is for the kernel only |
//! | `iopl` | setting IOPL to 3 with `popfq` (silently ignored), making a syscall, then `cli` |

#![no_std]
#![no_main]

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

/// One case: its function and the address of its privileged instruction.
struct Case {
    run: unsafe extern "C" fn(u64),
    at: usize,
}

fn case(name: &str) -> Option<Case> {
    let first = |run: unsafe extern "C" fn(u64)| Case { run, at: run as usize };
    Some(match name {
        "cli" | "iopl" => first(privileged_cli),
        "sti" => first(privileged_sti),
        "hlt" => first(privileged_hlt),
        "in-serial" => Case {
            run: privileged_in_serial,
            at: address(privileged_in_serial_at),
        },
        "out-serial" => Case {
            run: privileged_out_serial,
            at: address(privileged_out_serial_at),
        },
        "out-exit" => Case {
            run: privileged_out_exit,
            at: address(privileged_out_exit_at),
        },
        "wrmsr" => Case {
            run: privileged_wrmsr,
            at: address(privileged_wrmsr_at),
        },
        "rdmsr" => Case {
            run: privileged_rdmsr,
            at: address(privileged_rdmsr_at),
        },
        "lgdt" => first(privileged_lgdt),
        "lidt" => first(privileged_lidt),
        "mov-cr3" => first(privileged_mov_cr3),
        "swapgs" => first(privileged_swapgs),
        "int-timer" => first(privileged_int_timer),
        _ => return None,
    })
}

fn main() -> i32 {
    let name = libsys::arg("instruction").unwrap_or("");
    let Some(case) = case(name) else {
        libsys::println!("privileged: unknown instruction {name:?}");
        return 2;
    };
    if name == "iopl" {
        // SAFETY: deliberate: tries to raise IOPL with popfq. At CPL 3 the
        // CPU ignores the IOPL bits, so only RFLAGS' other bits are written
        // back, unchanged.
        let rflags = unsafe { privileged_raise_iopl() };
        libsys::println!("privileged: IOPL after popfq with IOPL 3: {}", (rflags >> 12) & 3);
        // A syscall in between: the kernel must not hand IOPL back either.
        libsys::println!("privileged: made a syscall, pid {}", libsys::get_pid());
    }
    // lgdt and lidt read a 10-byte descriptor (limit 0, base 0) at RDI, and
    // mov cr3 would take that address as its page-table root; the other
    // cases ignore their argument.
    let descriptor = [0u8; 16];
    libsys::println!("privileged: executing {name} at {:#x}", case.at);
    // SAFETY: deliberately unsound: executes a privileged instruction in
    // ring 3, which must raise a general protection fault before it has any
    // effect. `descriptor` outlives the call.
    unsafe { (case.run)(descriptor.as_ptr() as u64) };
    libsys::println!("privileged: {name} did not fault: ring 3 has the machine");
    1
}
