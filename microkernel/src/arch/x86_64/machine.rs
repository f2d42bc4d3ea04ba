//! The machine under the generic kernel: [`X86`] implements
//! `kernel_core::machine::Machine` with this CPU's page tables, its per-CPU
//! block, the user-copy routine and the direct map.

use super::gdt::{KERNEL_CODE, KERNEL_DATA, USER_CODE, USER_DATA};
use super::paging::{self, AddressSpace};
use super::percpu;
use super::tss::{IOMAP_ALLOWED, IOMAP_DENIED};
use super::usercopy;
use abi::{Error, PAGE_SIZE};
use kernel_core::machine::{Machine, Published};
use kernel_core::physmem::Frame;
use kernel_core::space::AddressSpace as _;
use kernel_core::trapframe::{IDLE_VECTOR, TrapFrame, USER_RFLAGS, UserSelectors};
use kernel_core::umem::{Access, FrameTarget, UserSlice, allows};

/// What the fast paths read without the kernel state (see `Published`);
/// the `syscall` stub's quick path reads it by its symbol.
pub(super) static PUBLISHED: Published = Published::new();

/// This machine. It holds no state of its own: what it needs lives in the
/// per-CPU block, the page tables and [`PUBLISHED`].
#[derive(Debug)]
pub struct X86;

/// What a switch to a thread writes besides its frame: its address space
/// and its I/O map base.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Switch {
    root: u64,
    iomap: u16,
}

impl Machine for X86 {
    type Space = AddressSpace;
    type Switch = Switch;
    const NO_SWITCH: Switch = Switch {
        root: 0,
        iomap: IOMAP_DENIED,
    };

    #[inline(always)]
    fn published(&self) -> &Published {
        &PUBLISHED
    }

    #[inline(always)]
    fn cpu(&self) -> usize {
        percpu::cpu_id_in_kernel() as usize
    }

    fn kick(&mut self, cpus: u8) {
        super::smp::kick(cpus);
    }

    #[inline(always)]
    fn set_ipc_prefers_lock(&mut self, prefers: bool) {
        super::percpu::set_ipc_prefers_lock(prefers);
    }

    fn switch_target(&self, space: &AddressSpace, io_ports: bool) -> Switch {
        Switch {
            root: space.root(),
            iomap: if io_ports { IOMAP_ALLOWED } else { IOMAP_DENIED },
        }
    }

    #[inline(always)]
    fn switch_to(&mut self, thread: usize, frame_top: usize, switch: &Switch) {
        percpu::switch(thread as u64, frame_top as u64, switch.root, switch.iomap);
    }

    fn switch_to_kernel(&mut self) {
        // While no thread is current nothing enters from ring 3, so the
        // save-area top is never used; one frame above null says so.
        percpu::switch(
            u64::MAX,
            TrapFrame::SIZE as u64,
            super::layout::kernel_root(),
            IOMAP_DENIED,
        );
    }

    fn user_frame(&self, entry: u64, stack: u64) -> TrapFrame {
        let selectors = UserSelectors {
            code: USER_CODE as u64,
            data: USER_DATA as u64,
        };
        TrapFrame::new_user(entry, stack, selectors)
    }

    fn store_word(&mut self, frame: Frame, offset: usize, value: u64) {
        assert!(offset.is_multiple_of(8) && offset + 8 <= PAGE_SIZE as usize);
        let address = super::layout::phys_to_virt(frame.address()) + offset as u64;
        // SAFETY: the direct map covers every frame the allocator hands out;
        // the word is 8-aligned, so the store is one `mov` that a reader
        // sees whole.
        unsafe { core::ptr::write_volatile(address as *mut u64, value) }
    }

    fn irq_mask(&mut self, line: usize, masked: bool) {
        super::ioapic::set_masked(line, masked);
    }

    unsafe fn zero_frame(&mut self, frame: Frame) {
        // SAFETY: the caller owns the frame; the direct map covers it (the
        // allocator manages only memory below 4 GiB).
        unsafe {
            core::ptr::write_bytes(
                super::layout::phys_to_virt(frame.address()) as *mut u8,
                0,
                PAGE_SIZE as usize,
            )
        };
    }

    unsafe fn write_frame(&mut self, frame: Frame, offset: usize, bytes: &[u8]) {
        assert!(offset + bytes.len() <= PAGE_SIZE as usize, "a write past the frame");
        let target = (super::layout::phys_to_virt(frame.address()) as usize + offset) as *mut u8;
        // SAFETY: as for `zero_frame`; the range stays inside the frame.
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), target, bytes.len()) };
    }

    fn read_user(&mut self, space: &AddressSpace, from: UserSlice, out: &mut [u8]) -> Result<(), Error> {
        // Only the active address space is reached through user addresses,
        // and never beyond the checked slice.
        if space.root() != paging::active_root() || out.len() > from.len() {
            return Err(Error::FAULT);
        }
        // SAFETY: `out` is kernel memory of its length; the source is user
        // memory of the active address space, in the user half (checked by
        // `UserSlice`); a fault in the copy becomes an error.
        unsafe { usercopy::copy(out.as_mut_ptr(), from.address() as *const u8, out.len()) }.map_err(|_| Error::FAULT)
    }

    fn write_user(&mut self, space: &AddressSpace, to: UserSlice, data: &[u8]) -> Result<(), Error> {
        if space.root() != paging::active_root() || data.len() > to.len() {
            return Err(Error::FAULT);
        }
        // SAFETY: as for `read_user`, with the roles swapped.
        unsafe { usercopy::copy(to.address() as *mut u8, data.as_ptr(), data.len()) }.map_err(|_| Error::FAULT)
    }

    fn transfer(
        &mut self,
        from: &AddressSpace,
        source: UserSlice,
        to: &AddressSpace,
        destination: UserSlice,
        len: usize,
    ) -> Result<(), Error> {
        transfer(from, source, to, destination, len)
    }

    #[inline(always)]
    unsafe fn copy_to_frames(&mut self, from: &AddressSpace, source: UserSlice, to: FrameTarget) -> Result<(), Error> {
        let len = source.len();
        if from.root() != paging::active_root() || len > to.capacity {
            return Err(Error::FAULT);
        }
        let first = PAGE_SIZE as usize - to.offset;
        let source = source.address() as *const u8;
        let target = |frame: u64, offset: usize| (super::layout::phys_to_virt(frame) as usize + offset) as *mut u8;
        // SAFETY: the caller guarantees the frames are the pages under a
        // writable user buffer that takes `len` bytes from `to.offset` on
        // (the first `first` in the first page, the rest in the second),
        // reached through the direct map; the source is user memory of the
        // active address space in the user half (a `UserSlice`), and a fault
        // on it becomes an error.
        unsafe {
            if len <= first {
                usercopy::copy(target(to.frames[0], to.offset), source, len)
            } else {
                usercopy::copy(target(to.frames[0], to.offset), source, first)
                    .and_then(|()| usercopy::copy(target(to.frames[1], 0), source.add(first), len - first))
            }
        }
        .map_err(|_| Error::FAULT)
    }

    #[inline(always)]
    fn timestamp(&self) -> u64 {
        // SAFETY: rdtsc reads a counter; CR4.TSD is clear so it is allowed.
        unsafe { core::arch::x86_64::_rdtsc() }
    }

    fn trace_write(&mut self, bytes: &[u8]) {
        // SAFETY: `rep outsb` reads `bytes` (valid for its length) and writes
        // an I/O port that only the debug console device decodes.
        unsafe {
            core::arch::asm!(
                "rep outsb",
                in("dx") abi::trace::TRACE_PORT,
                inout("rsi") bytes.as_ptr() => _,
                inout("rcx") bytes.len() => _,
                options(nostack, preserves_flags, readonly)
            )
        }
    }
}

/// Copies `len` bytes from `source` in `from` to `destination` in `to`. One
/// of the two address spaces must be the active one, and its slice must have
/// been checked (as every syscall checks its buffers before anything
/// happens): it is copied through its user addresses inside `stac`/`clac`,
/// where a fault still becomes EFAULT. The other side is checked here, page
/// by page, and reached through the direct map.
fn transfer(
    from: &AddressSpace,
    source: UserSlice,
    to: &AddressSpace,
    destination: UserSlice,
    len: usize,
) -> Result<(), Error> {
    if len > source.len() || len > destination.len() {
        return Err(Error::FAULT);
    }
    let active = paging::active_root();
    let sending = from.root() == active;
    assert!(
        sending || to.root() == active,
        "IPC transfer between two inactive address spaces"
    );
    let mut done = 0usize;
    while done < len {
        let src = source.address() + done as u64;
        let dst = destination.address() + done as u64;
        let chunk = (len - done)
            .min((PAGE_SIZE - src % PAGE_SIZE) as usize)
            .min((PAGE_SIZE - dst % PAGE_SIZE) as usize);
        let result = if sending {
            let (phys, flags) = to.translate(dst).ok_or(Error::FAULT)?;
            if !allows(flags, Access::Write) {
                return Err(Error::FAULT);
            }
            // SAFETY: the destination is a user page of `to`, just checked
            // writable, reached through the direct map; the source is checked
            // user memory of the active address space.
            unsafe { usercopy::copy(super::layout::phys_to_virt(phys) as *mut u8, src as *const u8, chunk) }
        } else {
            let (phys, flags) = from.translate(src).ok_or(Error::FAULT)?;
            if !allows(flags, Access::Read) {
                return Err(Error::FAULT);
            }
            // SAFETY: as above with the roles swapped.
            unsafe { usercopy::copy(dst as *mut u8, super::layout::phys_to_virt(phys) as *const u8, chunk) }
        };
        result.map_err(|_| Error::FAULT)?;
        done += chunk;
    }
    Ok(())
}

unsafe extern "C" {
    /// The idle loop, in the entry code's assembly (the RIP of the idle
    /// frame; never called).
    fn idle_halt();
}

/// The frame of this CPU's idle loop: ring 0, interrupts on, halting on
/// this CPU's kernel stack until the next interrupt (`idle_halt`). The exit
/// path knows it by its vector and goes to `idle_halt` without loading it,
/// but it is a complete frame all the same. Built on first use; nothing
/// writes it afterwards (an interrupt that ends idling pushes its own frame
/// on the kernel stack, and the loop's state is discarded).
pub fn idle_frame() -> *mut TrapFrame {
    let frame = percpu::idle_frame();
    // SAFETY: the idle frame is this CPU's, written only here, by the
    // kernel with interrupts off, and read only by the exit path.
    unsafe {
        if (*frame).vector != IDLE_VECTOR {
            *frame = TrapFrame {
                vector: IDLE_VECTOR,
                rip: idle_halt as *const () as u64,
                cs: KERNEL_CODE as u64,
                rflags: USER_RFLAGS,
                rsp: percpu::kernel_stack_top(),
                ss: KERNEL_DATA as u64,
                ..TrapFrame::ZERO
            };
        }
    }
    frame
}
