//! The register save areas of all threads, and switching between them.
//!
//! Each thread's [`TrapFrame`] lives here at a fixed address: entry stubs
//! save into it (through `gs:frame_top` and TSS.RSP0) and the exit path
//! restores from it. The kernel reaches a frame only through [`frame`], while
//! it runs with interrupts off on this single CPU.

use super::frame::{FRAME_SIZE, TrapFrame};
use super::gdt::{IOMAP_ALLOWED, IOMAP_DENIED};
use super::paging;
use super::percpu;
use crate::config::MAX_THREADS;
use core::cell::UnsafeCell;

#[repr(C, align(64))]
struct Contexts([UnsafeCell<TrapFrame>; MAX_THREADS]);

// SAFETY: frames are touched only by the kernel (interrupts off, one CPU)
// and by the entry stubs of the thread that owns them.
unsafe impl Sync for Contexts {}

static CONTEXTS: Contexts = Contexts([const { UnsafeCell::new(empty_frame()) }; MAX_THREADS]);

const fn empty_frame() -> TrapFrame {
    TrapFrame {
        r15: 0,
        r14: 0,
        r13: 0,
        r12: 0,
        rbp: 0,
        rbx: 0,
        r11: 0,
        r10: 0,
        r9: 0,
        r8: 0,
        rax: 0,
        rcx: 0,
        rdx: 0,
        rsi: 0,
        rdi: 0,
        vector: 0,
        error_code: 0,
        rip: 0,
        cs: 0,
        rflags: 0,
        rsp: 0,
        ss: 0,
    }
}

/// The saved registers of `thread`.
#[inline(always)]
pub fn frame_pointer(thread: usize) -> *mut TrapFrame {
    CONTEXTS.0[thread].get()
}

/// The saved registers of `thread`, for the kernel to read and change.
///
/// The kernel holds at most one such reference per thread at a time (it runs
/// with interrupts off, and the thread's own entry stubs cannot run
/// meanwhile); [`frames_pair`] hands out two distinct ones.
#[inline(always)]
pub fn frame(thread: usize) -> &'static mut TrapFrame {
    // SAFETY: see above: the kernel is the only user of the frame while it
    // runs, and callers never keep two references to the same frame.
    unsafe { &mut *frame_pointer(thread) }
}

/// The frames of two different threads at once (sender and receiver).
#[inline(always)]
pub fn frames_pair(a: usize, b: usize) -> (&'static mut TrapFrame, &'static mut TrapFrame) {
    // Without the two frames would alias; a plain assert keeps the check but
    // not the cost of formatting arguments.
    assert!(a != b);
    (frame(a), frame(b))
}

/// Everything a switch to a thread writes, computed once when the thread
/// starts: its number, the top of its save area, its PML4 and its I/O map
/// base.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Switch {
    thread: u64,
    frame_top: u64,
    root: u64,
    iomap: u16,
}

impl Switch {
    pub const NONE: Switch = Switch {
        thread: u64::MAX,
        frame_top: 0,
        root: 0,
        iomap: IOMAP_DENIED,
    };

    /// The switch to `thread`, running in the address space `root`, with or
    /// without the I/O ports the bitmap opens.
    pub fn new(thread: usize, root: u64, io_ports: bool) -> Switch {
        Switch {
            thread: thread as u64,
            frame_top: frame_pointer(thread) as u64 + FRAME_SIZE as u64,
            root,
            iomap: if io_ports { IOMAP_ALLOWED } else { IOMAP_DENIED },
        }
    }
}

/// Makes a thread the one the CPU returns to: its address space, its save
/// area for the next entry, and its I/O port rights.
#[inline(always)]
pub fn switch_to(to: &Switch) {
    percpu::switch(to.thread, to.frame_top, to.root, to.iomap);
}

/// The frame of the idle loop: ring 0, interrupts on, halting on this CPU's
/// kernel stack until the next interrupt. Built fresh on every use (an
/// interrupt that ends idling discards the loop's state).
pub fn idle_frame() -> *mut TrapFrame {
    static IDLE: IdleFrame = IdleFrame(UnsafeCell::new(empty_frame()));
    let frame = IDLE.0.get();
    let cpu = percpu::this_cpu();
    // SAFETY: the idle frame is written only here, by the kernel with
    // interrupts off, and read only by the exit path resuming it.
    unsafe {
        *frame = TrapFrame {
            vector: super::frame::KERNEL_BUILT_VECTOR,
            rip: idle_loop as *const () as u64,
            cs: super::selectors::KERNEL_CODE as u64,
            rflags: super::frame::USER_RFLAGS,
            rsp: (*cpu).kernel_stack_top,
            ss: super::selectors::KERNEL_DATA as u64,
            ..TrapFrame::default()
        };
    }
    frame
}

struct IdleFrame(UnsafeCell<TrapFrame>);

// SAFETY: as for `Contexts`: only the kernel, with interrupts off, touches it.
unsafe impl Sync for IdleFrame {}

/// Waits for interrupts; the timer handler decides what runs next.
extern "C" fn idle_loop() -> ! {
    loop {
        x86_64::instructions::hlt();
    }
}

/// Forgets the current thread (it exited): the kernel's own page tables
/// become active so the old address space can be freed.
pub fn switch_to_kernel() {
    let top = IDLE_FRAME_TOP;
    percpu::switch(u64::MAX, top, paging::kernel_root(), IOMAP_DENIED);
}

/// What the save-area top points at while no thread is current: nothing may
/// enter from ring 3 then, so any value is as good; null plus a frame.
const IDLE_FRAME_TOP: u64 = FRAME_SIZE as u64;
