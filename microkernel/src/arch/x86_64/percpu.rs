//! The per-CPU block, reached through GS while the kernel runs.
//!
//! In ring 3 the GS base is the user's and `KERNEL_GS_BASE` holds this block's
//! address; every entry from ring 3 executes `swapgs` first, every exit to
//! ring 3 executes it last. The entry stubs read the fields at the fixed
//! offsets in [`offsets`]. A second CPU needs only its own block (and its own
//! GDT and TSS, which live in it).

use super::frame::{FRAME_SIZE, TrapFrame};
use super::gdt::Tss;
use core::mem::offset_of;

/// This CPU's kernel state.
#[repr(C, align(64))]
pub struct PerCpu {
    /// Address of this block, so code can turn GS into a pointer.
    pub self_pointer: u64,
    /// Scratch slot: the user RSP between `syscall` and the frame push.
    pub user_rsp: u64,
    /// Top of the current thread's register save area: where the `syscall`
    /// stub builds the frame, and (as TSS.RSP0) where the CPU pushes an
    /// interrupt frame from ring 3. The thread's kernel entry stack.
    pub frame_top: u64,
    /// Top of this CPU's kernel stack, on which all kernel code runs.
    pub kernel_stack_top: u64,
    /// Index of the thread running on this CPU (`u64::MAX` when idle).
    pub current_thread: u64,
    /// This CPU's number.
    pub cpu_id: u64,
    /// 1 when SMAP is on, so the entry stubs execute `clac` (which faults on
    /// CPUs without SMAP).
    pub smap_enabled: u64,
    /// 1 while the kernel copies from or to user memory; a page fault then
    /// resumes at the copy's recovery point instead of being fatal.
    pub in_user_copy: u64,
    /// Global descriptor table of this CPU (5 segments and the 2-word TSS).
    pub gdt: [u64; 7],
    pub tss: Tss,
}

/// Field offsets for the assembly stubs.
pub mod offsets {
    use super::*;
    pub const USER_RSP: usize = offset_of!(PerCpu, user_rsp);
    pub const FRAME_TOP: usize = offset_of!(PerCpu, frame_top);
    pub const KERNEL_STACK_TOP: usize = offset_of!(PerCpu, kernel_stack_top);
    pub const SMAP_ENABLED: usize = offset_of!(PerCpu, smap_enabled);
}

static mut CPU0: PerCpu = PerCpu {
    self_pointer: 0,
    user_rsp: 0,
    frame_top: 0,
    kernel_stack_top: 0,
    current_thread: u64::MAX,
    cpu_id: 0,
    smap_enabled: 0,
    in_user_copy: 0,
    gdt: [0; 7],
    tss: Tss::new(),
};

/// The block of the boot CPU, before GS points at it.
pub fn cpu0() -> *mut PerCpu {
    &raw mut CPU0
}

/// This CPU's block, through GS.
pub fn this_cpu() -> *mut PerCpu {
    let pointer: u64;
    // SAFETY: GS points at the per-CPU block whenever the kernel runs (set at
    // boot, swapped on every ring transition); its first field is its address.
    unsafe { core::arch::asm!("mov {}, gs:[0]", out(reg) pointer, options(nostack, readonly, preserves_flags)) };
    pointer as *mut PerCpu
}

/// Makes `frame` the one that the next entry from ring 3 saves into.
pub fn set_current_frame(frame: *mut TrapFrame, thread: u64) {
    let top = frame as u64 + FRAME_SIZE as u64;
    let cpu = this_cpu();
    // SAFETY: the kernel runs with interrupts off on one CPU, so nothing else
    // reads or writes this CPU's block concurrently; the fields are plain data.
    unsafe {
        (*cpu).frame_top = top;
        (*cpu).tss.rsp[0] = top;
        (*cpu).current_thread = thread;
    }
}

/// Whether a page fault now would be inside a user copy.
pub fn in_user_copy() -> bool {
    // SAFETY: a plain read of this CPU's block; see `set_current_frame`.
    unsafe { (*this_cpu()).in_user_copy != 0 }
}
