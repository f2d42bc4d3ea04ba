//! What the kernel's logic needs from the machine, as a trait.
//!
//! The core of the kernel (handles, IPC, processes, scheduling) is generic
//! over [`Machine`], like Tock's `UserspaceKernelBoundary` or Hubris's
//! `kerncore`: the kernel binary implements it with page tables, `swapgs` and
//! the local APIC, and the host tests implement it with plain memory, so the
//! same code runs under `cargo test` and in QEMU.

use crate::physmem::Frame;
use crate::space::AddressSpace;
use crate::trapframe::TrapFrame;
use crate::umem::{FrameTarget, UserSlice};
use abi::Error;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

/// What the fast paths read without taking the kernel state: a few words
/// published by the kernel with atomic stores. The `syscall` stub's quick
/// path answers `get_ticks` and `abi_version` from it, and every path checks
/// whether tracing is on here.
#[derive(Debug)]
pub struct Published {
    /// Timer ticks since boot: the kernel's clock.
    pub ticks: AtomicU64,
    /// The ABI version `abi_version` reports.
    pub abi_version: AtomicU32,
    /// Whether trace records are written.
    pub tracing: AtomicBool,
    /// Syscalls the quick path answered (the dispatcher counts the rest).
    pub quick_syscalls: AtomicU64,
}

impl Published {
    /// The state at boot.
    pub const fn new() -> Published {
        Published {
            ticks: AtomicU64::new(0),
            abi_version: AtomicU32::new(abi::ABI_VERSION),
            tracing: AtomicBool::new(false),
            quick_syscalls: AtomicU64::new(0),
        }
    }

    /// Timer ticks since boot.
    #[inline(always)]
    pub fn ticks(&self) -> u64 {
        self.ticks.load(Ordering::Relaxed)
    }

    /// Whether tracing is on.
    #[inline(always)]
    pub fn tracing(&self) -> bool {
        self.tracing.load(Ordering::Relaxed)
    }
}

impl Default for Published {
    fn default() -> Self {
        Self::new()
    }
}

/// The machine under the kernel.
pub trait Machine {
    /// A process's address space.
    type Space: AddressSpace;
    /// What switching to a thread needs besides its frame, computed once when
    /// the thread starts so that a switch looks nothing up.
    type Switch: Copy + core::fmt::Debug + PartialEq;
    /// A `Switch` that names no thread.
    const NO_SWITCH: Self::Switch;

    /// The published words of [`Published`].
    fn published(&self) -> &Published;

    /// The CPU the kernel runs on (0 is the boot CPU).
    fn cpu(&self) -> usize;

    /// Asks the CPUs of `cpus` (one bit each, never the calling one) to
    /// enter the kernel and pick again: a thread they should run is ready.
    fn kick(&mut self, cpus: u8);

    /// Whether this CPU's next register-only IPC syscall should go straight
    /// to the kernel's exclusive mode: the IPC fast path says so when the
    /// last message it took with the kernel to itself woke a peer that could
    /// not run here (a peer on another CPU), which shared mode would decline
    /// (`crate::ipc::fastpath::try_shared`), and says not when it switched
    /// to its peer. A hint for the entry path: a stale one costs time, never
    /// a wrong answer.
    fn set_ipc_prefers_lock(&mut self, prefers: bool);

    /// The switch to a thread of the address space `space`, with or without
    /// the I/O ports the manifest may grant.
    fn switch_target(&self, space: &Self::Space, io_ports: bool) -> Self::Switch;

    /// Makes `thread` the one the CPU returns to: `frame_top` is the end of
    /// its [`TrapFrame`] (where the next entry from ring 3 saves its
    /// registers), `switch` says what else changes.
    fn switch_to(&mut self, thread: usize, frame_top: usize, switch: &Self::Switch);

    /// No thread is current any more (it ended): the kernel's own address
    /// space becomes active, so the old one can be freed.
    fn switch_to_kernel(&mut self);

    /// The frame that starts a user thread at `entry` with stack `stack`.
    fn user_frame(&self, entry: u64, stack: u64) -> TrapFrame;

    /// Fills `frame` with zeros.
    ///
    /// # Safety
    /// `frame` must be allocated and owned by the caller, and mapped by no
    /// other address space.
    unsafe fn zero_frame(&mut self, frame: Frame);

    /// Copies `bytes` into `frame` at `offset` (which with the length stays
    /// inside the frame).
    ///
    /// # Safety
    /// As for [`Machine::zero_frame`].
    unsafe fn write_frame(&mut self, frame: Frame, offset: usize, bytes: &[u8]);

    /// Copies `out.len()` bytes of user memory at `from` (a slice of `space`,
    /// the active address space, already checked readable) into `out`.
    fn read_user(&mut self, space: &Self::Space, from: UserSlice, out: &mut [u8]) -> Result<(), Error>;

    /// Copies `data` into user memory at `to` (a slice of `space`, the active
    /// address space, already checked writable).
    fn write_user(&mut self, space: &Self::Space, to: UserSlice, data: &[u8]) -> Result<(), Error>;

    /// Copies `len` bytes from `source` in `from` to `destination` in `to`,
    /// one of which is the active address space; the other side is checked
    /// page by page as it is copied. EFAULT when a page is missing or lacks
    /// the permission.
    fn transfer(
        &mut self,
        from: &Self::Space,
        source: UserSlice,
        to: &Self::Space,
        destination: UserSlice,
        len: usize,
    ) -> Result<(), Error>;

    /// Copies the bytes of `source`, a slice of `from` (the active address
    /// space) whose pages were found readable with their mappings unchanged
    /// since, into the physical pages of `to` from `to.offset` on (crossing
    /// into its second page past the first's end): the IPC fast path, which
    /// knows the pages under the receiver's buffer. EFAULT if the source
    /// faults all the same, or if it is longer than `to` takes.
    ///
    /// # Safety
    /// `to.frames` must be the pages under a user buffer of `to.capacity`
    /// bytes that a live address space maps writable, as the kernel found
    /// them with no mapping changed since: the copy writes physical memory.
    unsafe fn copy_to_frames(&mut self, from: &Self::Space, source: UserSlice, to: FrameTarget) -> Result<(), Error>;

    /// Stores `value` at byte `offset` (8-aligned) of `frame` in one
    /// aligned write: the time page, which user space reads while the
    /// kernel writes it.
    fn store_word(&mut self, frame: Frame, offset: usize, value: u64);

    /// Masks (`true`) or unmasks interrupt line `line` at the interrupt
    /// controller.
    fn irq_mask(&mut self, line: usize, masked: bool);

    /// A counter that only grows (the TSC; guest instructions under QEMU's
    /// icount), for trace timestamps.
    fn timestamp(&self) -> u64;

    /// Writes bytes to the trace channel.
    fn trace_write(&mut self, bytes: &[u8]);
}
