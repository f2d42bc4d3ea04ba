//! Copies between kernel memory and the current address space's user pages.
//!
//! The copy runs with `stac` (SMAP off for exactly the copy) where SMAP is
//! on; if it faults anyway, the page-fault handler sees the fault at one of
//! the copy's two rep instructions and resumes at the routine's failure
//! exit, which reports it. Callers check ranges first (`crate::umem`), so a
//! fault here is a second line of defence, not the normal path.

use super::percpu::offsets;
use core::arch::global_asm;
use kernel_core::trapframe::TrapFrame;

// Two copy routines, each CPU calling the one `init_cpu` chose for it by
// its SMAP setting: with SMAP on, `stac` opens user memory for exactly
// the copy and `clac` closes it; without, those two instructions fault, and
// the plain routine has neither. Choosing once per CPU instead of testing a
// flag on each copy keeps four instructions off every copy.
global_asm!(
    r#"
    .section .text.entry, "ax"
    /* rdi = destination, rsi = source, rdx = length; returns 0, or 1 after a
       fault. Eight bytes at a time, then the rest: under TCG every iteration
       of a rep string instruction is an executed instruction. A fault is
       only ever taken at one of the two rep instructions (the page-fault
       handler checks the address, `recover`), which resumes at the routine's
       fault label. */
    .macro USER_COPY name, open, close
    .balign 16
    .global \name
\name:
    movq %rdx, %rcx
    shrq $3, %rcx
    \open
    .global \name\()_words
\name\()_words:
    rep movsq
    movq %rdx, %rcx
    andq $7, %rcx
    .global \name\()_tail
\name\()_tail:
    rep movsb
    xorl %eax, %eax
\name\()_done:
    \close
    retq
    .global \name\()_fault
\name\()_fault:
    movl $1, %eax
    jmp \name\()_done
    .endm

    USER_COPY user_copy_smap, stac, clac
    USER_COPY user_copy_plain, nop, nop
    "#,
    options(att_syntax)
);

unsafe extern "C" {
    fn user_copy_smap();
    fn user_copy_smap_words();
    fn user_copy_smap_tail();
    fn user_copy_smap_fault();
    fn user_copy_plain();
    fn user_copy_plain_words();
    fn user_copy_plain_tail();
    fn user_copy_plain_fault();
}

/// Chooses this CPU's copy routine: the one with `stac`/`clac` if SMAP is
/// on. Before its first user copy.
pub fn init_cpu(smap: bool) {
    let routine = if smap { user_copy_smap } else { user_copy_plain };
    super::percpu::set_user_copy(routine as *const () as u64);
}

/// A copy that faulted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CopyFault;

/// Copies `len` bytes; one side is a user address of the current address
/// space.
///
/// # Safety
/// The kernel side must be valid kernel memory for `len` bytes. The user
/// side must lie entirely in the user half (checked by the caller); it may be
/// unmapped, which yields `CopyFault`.
pub unsafe fn copy(destination: *mut u8, source: *const u8, len: usize) -> Result<(), CopyFault> {
    let failed: u64;
    // SAFETY: the caller guarantees the kernel side and confines the user
    // side to the user half; faults on it are recovered by `recover`. The
    // routine this CPU's block names (set before any copy, `init_cpu`) uses
    // only the registers named here, so the compiler keeps everything else
    // live across the call instead of saving every caller-saved register as
    // for a Rust call.
    unsafe {
        core::arch::asm!(
            "call qword ptr gs:[{copy}]",
            copy = const offsets::USER_COPY,
            inout("rdi") destination => _,
            inout("rsi") source => _,
            inout("rdx") len => _,
            out("rcx") _,
            out("rax") failed,
        )
    };
    match failed {
        0 => Ok(()),
        _ => Err(CopyFault),
    }
}

/// Called by the page-fault handler for a fault in the kernel: if it was
/// taken at a copy routine's rep instruction (a user copy), resumes at that
/// routine's failure exit and says so. A fault anywhere else is a kernel bug
/// and is left to the caller to report.
pub fn recover(frame: &mut TrapFrame) -> bool {
    let at = |instruction: unsafe extern "C" fn()| frame.rip == instruction as *const () as u64;
    let fault = if at(user_copy_smap_words) || at(user_copy_smap_tail) {
        user_copy_smap_fault
    } else if at(user_copy_plain_words) || at(user_copy_plain_tail) {
        user_copy_plain_fault
    } else {
        return false;
    };
    frame.rip = fault as *const () as u64;
    true
}
