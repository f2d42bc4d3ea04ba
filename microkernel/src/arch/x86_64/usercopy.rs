//! Copies between kernel memory and the current address space's user pages.
//!
//! The copy runs with `stac` (SMAP off for exactly the copy) and marks the
//! CPU as inside a user copy; if the copy faults anyway, the page-fault
//! handler resumes it at `user_copy_fault`, which reports failure. Callers
//! check ranges first (`crate::umem`), so a fault here is a second line of
//! defence, not the normal path.

use super::percpu::offsets;
use core::arch::global_asm;
use kernel_core::trapframe::TrapFrame;

global_asm!(
    r#"
    .section .text.entry, "ax"
    .balign 16
    .global user_copy_bytes
    /* rdi = destination, rsi = source, rdx = length; returns 0, or 1 after a fault.
       Eight bytes at a time, then the rest: under TCG every iteration of a
       rep string instruction is an executed instruction. */
user_copy_bytes:
    movq %rdx, %rcx
    shrq $3, %rcx
    cmpq $0, %gs:{smap}
    je 1f
    stac
1:
    movq $1, %gs:{in_copy}
    .global user_copy_words
user_copy_words:
    rep movsq
    movq %rdx, %rcx
    andq $7, %rcx
    .global user_copy_instruction
user_copy_instruction:
    rep movsb
    xorl %eax, %eax
user_copy_done:
    movq $0, %gs:{in_copy}
    cmpq $0, %gs:{smap}
    je 2f
    clac
2:
    retq
    .global user_copy_fault
user_copy_fault:
    movl $1, %eax
    jmp user_copy_done
    "#,
    smap = const offsets::SMAP_ENABLED,
    in_copy = const offsets::IN_USER_COPY,
    options(att_syntax)
);

unsafe extern "C" {
    fn user_copy_bytes(destination: *mut u8, source: *const u8, len: usize) -> u64;
    fn user_copy_words();
    fn user_copy_instruction();
    fn user_copy_fault();
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
    if len == 0 {
        return Ok(());
    }
    let failed: u64;
    // SAFETY: the caller guarantees the kernel side and confines the user
    // side to the user half; faults on it are recovered by `recover`. The
    // routine uses only the registers named here (and the per-CPU block),
    // so the compiler keeps everything else live across the call instead of
    // saving every caller-saved register as for a Rust call.
    unsafe {
        core::arch::asm!(
            "call {copy}",
            copy = sym user_copy_bytes,
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

/// Called by the page-fault handler for a fault taken inside a user copy:
/// resumes at the failure exit. A fault anywhere else in the copy routine is
/// a kernel bug and is left to the caller to report.
pub fn recover(frame: &mut TrapFrame) -> bool {
    let at = frame.rip;
    if at != user_copy_words as *const () as u64 && at != user_copy_instruction as *const () as u64 {
        return false;
    }
    frame.rip = user_copy_fault as *const () as u64;
    true
}
