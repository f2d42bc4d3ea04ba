//! CPU features and control state: CR0/CR4 hardening and the syscall MSRs.

use super::gdt;
use core::arch::x86_64::{__cpuid, __cpuid_count};
use x86_64::registers::control::{Cr0, Cr0Flags, Cr4, Cr4Flags};
use x86_64::registers::model_specific::Msr;

const IA32_EFER: u32 = 0xc000_0080;
const IA32_STAR: u32 = 0xc000_0081;
const IA32_LSTAR: u32 = 0xc000_0082;
const IA32_FMASK: u32 = 0xc000_0084;
const IA32_GS_BASE: u32 = 0xc000_0101;
const IA32_KERNEL_GS_BASE: u32 = 0xc000_0102;

const EFER_SCE: u64 = 1 << 0;
const EFER_NXE: u64 = 1 << 11;

/// RFLAGS bits `syscall` clears on entry (IA32_FMASK). Each closes a hole:
pub const SFMASK: u64 = RFLAGS_TF | RFLAGS_IF | RFLAGS_DF | RFLAGS_IOPL | RFLAGS_NT | RFLAGS_RF | RFLAGS_AC;
/// TF: a user who sets the trap flag would otherwise single-step the entry
/// stub, taking #DB before the stack switch.
pub const RFLAGS_TF: u64 = 1 << 8;
/// IF: the kernel runs with interrupts off; an interrupt between `swapgs`
/// and the stack switch would run on the user stack.
pub const RFLAGS_IF: u64 = 1 << 9;
/// DF: the Rust ABI assumes a clear direction flag; string copies would run
/// backwards through kernel memory.
pub const RFLAGS_DF: u64 = 1 << 10;
/// IOPL: never set in ring 3, cleared anyway so the kernel never inherits it.
pub const RFLAGS_IOPL: u64 = 3 << 12;
/// NT: a set nested-task flag would make a later `iretq` attempt a task switch.
pub const RFLAGS_NT: u64 = 1 << 14;
/// RF: resume flag, meaningless in the kernel; clear it so debug faults work.
pub const RFLAGS_RF: u64 = 1 << 16;
/// AC: with SMAP on, a set AC lets the kernel touch user memory anywhere;
/// only the user-copy routines may set it.
pub const RFLAGS_AC: u64 = 1 << 18;

/// Hardening features found and switched on.
#[derive(Clone, Copy, Debug, Default)]
pub struct Features {
    pub nx: bool,
    pub smep: bool,
    pub smap: bool,
    pub umip: bool,
}

/// What the boot log prints about the syscall MSRs.
#[derive(Clone, Copy, Debug)]
pub struct SyscallMsrs {
    pub efer: u64,
    pub star: u64,
    pub lstar: u64,
    pub fmask: u64,
}

fn read_msr(msr: u32) -> u64 {
    // SAFETY: reading these architectural MSRs has no side effect; every
    // x86_64 CPU has them.
    unsafe { Msr::new(msr).read() }
}

fn write_msr(msr: u32, value: u64) {
    // SAFETY: each caller writes a value this module derived for that MSR,
    // at boot, before any user code runs.
    unsafe { Msr::new(msr).write(value) }
}

/// Detects and enables NX, SMEP, SMAP and UMIP; disables FPU and SSE so that
/// a user program using them faults instead of leaking state across processes
/// (the kernel does not save FPU state; programs are built soft-float).
pub fn init_control_registers() -> Features {
    let extended = __cpuid(0x8000_0001);
    let has7 = __cpuid(0).eax >= 7;
    let leaf7 = __cpuid_count(if has7 { 7 } else { 0 }, 0);
    let features = Features {
        nx: extended.edx & (1 << 20) != 0,
        smep: has7 && leaf7.ebx & (1 << 7) != 0,
        smap: has7 && leaf7.ebx & (1 << 20) != 0,
        umip: has7 && leaf7.ecx & (1 << 2) != 0,
    };

    let mut cr4 = Cr4::read();
    cr4.set(Cr4Flags::SUPERVISOR_MODE_EXECUTION_PROTECTION, features.smep);
    cr4.set(Cr4Flags::SUPERVISOR_MODE_ACCESS_PREVENTION, features.smap);
    cr4.set(Cr4Flags::USER_MODE_INSTRUCTION_PREVENTION, features.umip);
    cr4.remove(Cr4Flags::OSFXSR | Cr4Flags::OSXMMEXCPT_ENABLE | Cr4Flags::OSXSAVE | Cr4Flags::FSGSBASE);
    cr4.insert(Cr4Flags::PAGE_GLOBAL);
    // SAFETY: only features CPUID reports are enabled; the kernel itself uses
    // no FPU/SSE instructions (the target is soft-float) and no FSGSBASE.
    unsafe { Cr4::write(cr4) };

    let mut cr0 = Cr0::read();
    cr0.insert(Cr0Flags::WRITE_PROTECT | Cr0Flags::EMULATE_COPROCESSOR | Cr0Flags::MONITOR_COPROCESSOR);
    cr0.remove(Cr0Flags::TASK_SWITCHED | Cr0Flags::ALIGNMENT_MASK);
    // SAFETY: write protection makes the kernel honour read-only pages, and
    // EM makes x87/SSE instructions fault; nothing in the kernel uses them.
    unsafe { Cr0::write(cr0) };
    features
}

/// Programs the syscall MSRs (`syscall` enters at `lstar`) and the GS bases
/// (GS = `per_cpu`, this CPU's block), reads them back and panics if the CPU
/// did not take them.
pub fn init_syscall_msrs(per_cpu: u64, lstar: u64, nx: bool) -> SyscallMsrs {
    let mut efer = read_msr(IA32_EFER) | EFER_SCE;
    if nx {
        efer |= EFER_NXE;
    }
    write_msr(IA32_EFER, efer);
    write_msr(IA32_STAR, gdt::STAR);
    write_msr(IA32_LSTAR, lstar);
    write_msr(IA32_FMASK, SFMASK);
    // The kernel runs with GS = the per-CPU block; user mode starts with GS
    // base 0, parked in KERNEL_GS_BASE until the first swapgs.
    write_msr(IA32_GS_BASE, per_cpu);
    write_msr(IA32_KERNEL_GS_BASE, 0);

    let programmed = SyscallMsrs {
        efer: read_msr(IA32_EFER),
        star: read_msr(IA32_STAR),
        lstar: read_msr(IA32_LSTAR),
        fmask: read_msr(IA32_FMASK),
    };
    assert!(programmed.efer & EFER_SCE != 0, "EFER.SCE did not stick");
    assert_eq!(programmed.star, gdt::STAR, "STAR read back differently");
    assert_eq!(programmed.lstar, lstar, "LSTAR read back differently");
    assert_eq!(programmed.fmask & SFMASK, SFMASK, "FMASK read back differently");
    assert_eq!(read_msr(IA32_GS_BASE), per_cpu, "GS_BASE read back differently");
    programmed
}
