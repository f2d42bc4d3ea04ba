//! Page tables: the kernel's own mappings and one address space per process.
//!
//! All physical memory below [`DIRECT_MAP_SIZE`] is mapped at
//! [`DIRECT_MAP_BASE`] (2 MiB pages, no-execute); the kernel image runs at
//! [`KERNEL_VIRT_BASE`] with 4 KiB pages: text read-only and executable,
//! read-only data and writable data no-execute, and the stack guard pages
//! left unmapped. Every address space shares these upper-half mappings (the
//! few PML4 slots from 256 up that the kernel's PML4 uses are copied from it
//! when an address space is created, and the kernel never adds a slot
//! later). The lower half belongs to the process.

use super::layout::{DIRECT_MAP_BASE, DIRECT_MAP_SIZE, kernel_root, kernel_slots, phys_to_virt, virt_to_phys};
use heapless::Vec;
use kernel_core::physmem::{Frame, FrameSource, PAGE_SIZE};
use kernel_core::space::{self, MapError, PageFlags};

/// Physical memory from here up to 4 GiB is device memory on QEMU: uncached.
const MMIO_START: u64 = 3 << 30;

const PRESENT: u64 = 1 << 0;
const WRITABLE: u64 = 1 << 1;
const USER: u64 = 1 << 2;
const WRITE_THROUGH: u64 = 1 << 3;
const CACHE_DISABLE: u64 = 1 << 4;
const HUGE: u64 = 1 << 7;
const GLOBAL: u64 = 1 << 8;
const NO_EXECUTE: u64 = 1 << 63;
const ADDRESS_MASK: u64 = 0x000f_ffff_ffff_f000;
const ENTRIES: usize = 512;

type Table = [u64; ENTRIES];

fn table(phys: u64) -> *mut Table {
    phys_to_virt(phys) as *mut Table
}

fn index(virt: u64, level: u32) -> usize {
    ((virt >> (12 + 9 * level)) & 0x1ff) as usize
}

/// A zeroed frame for a page table: one known to be zero if the frame
/// source has one, else one cleared here.
fn zeroed(frames: &mut impl FrameSource) -> Result<u64, MapError> {
    let (frame, known_zero) = frames.allocate_zeroed().ok_or(MapError::NoMemory)?;
    if !known_zero {
        // SAFETY: the frame was just allocated, so nothing else uses it, and
        // it lies in the direct map (the allocator manages only memory below
        // 4 GiB).
        unsafe { core::ptr::write_bytes(phys_to_virt(frame.address()) as *mut u8, 0, PAGE_SIZE as usize) };
    }
    Ok(frame.address())
}

/// The next-level table of `entry`, creating it (with `flags`) if absent.
///
/// # Safety
/// `parent` must be a live page table owned by the caller.
unsafe fn next_table(
    parent: *mut Table,
    slot: usize,
    flags: u64,
    frames: &mut impl FrameSource,
) -> Result<*mut Table, MapError> {
    // SAFETY: the caller owns `parent`; slot < 512.
    let entry = unsafe { &mut (*parent)[slot] };
    if *entry & PRESENT == 0 {
        *entry = zeroed(frames)? | flags | PRESENT;
    } else if *entry & HUGE != 0 {
        return Err(MapError::AlreadyMapped);
    }
    Ok(table(*entry & ADDRESS_MASK))
}

unsafe extern "C" {
    static __text_start: u8;
    static __text_end: u8;
    static __rodata_start: u8;
    static __rodata_end: u8;
    static __data_start: u8;
    static __bss_end: u8;
    static cpu0_stack_guard: u8;
    static nmi_stack_guard: u8;
    static double_fault_stack_guard: u8;
    static machine_check_stack_guard: u8;
}

/// Builds the kernel's final page tables and switches to them. The boot
/// tables' identity map of low memory is gone afterwards.
pub fn init_kernel_space(frames: &mut impl FrameSource) -> Result<(), MapError> {
    let root = zeroed(frames)?;
    let pml4 = table(root);
    // SAFETY: `root` and every table below are fresh frames owned here; the
    // linker symbols only provide addresses.
    unsafe {
        // The direct map: 2 MiB pages, global, never executable.
        let pdpt = next_table(pml4, index(DIRECT_MAP_BASE, 3), WRITABLE, frames)?;
        for gib in 0..DIRECT_MAP_SIZE >> 30 {
            let pd = next_table(pdpt, gib as usize, WRITABLE, frames)?;
            for slot in 0..ENTRIES as u64 {
                let phys = (gib << 30) | (slot << 21);
                let cache = if phys >= MMIO_START {
                    WRITE_THROUGH | CACHE_DISABLE
                } else {
                    0
                };
                (*pd)[slot as usize] = phys | PRESENT | WRITABLE | HUGE | GLOBAL | NO_EXECUTE | cache;
            }
        }
        // The kernel image, 4 KiB pages with the permissions of its sections.
        let mut guards: heapless::Vec<u64, { 4 * kernel_core::config::MAX_CPUS }> = heapless::Vec::new();
        guards.extend([
            &raw const cpu0_stack_guard as u64,
            &raw const nmi_stack_guard as u64,
            &raw const double_fault_stack_guard as u64,
            &raw const machine_check_stack_guard as u64,
        ]);
        for cpu in 1..kernel_core::config::MAX_CPUS {
            guards.extend(super::layout::ap_stacks_of(cpu).1);
        }
        let sections = [
            (&raw const __text_start as u64, &raw const __text_end as u64, 0),
            (
                &raw const __rodata_start as u64,
                &raw const __rodata_end as u64,
                NO_EXECUTE,
            ),
            (
                &raw const __data_start as u64,
                &raw const __bss_end as u64,
                WRITABLE | NO_EXECUTE,
            ),
        ];
        for (start, end, flags) in sections {
            let mut page = start & !(PAGE_SIZE - 1);
            while page < end {
                if !guards.contains(&page) {
                    map_kernel_page(pml4, page, virt_to_phys(page), flags | GLOBAL, frames)?;
                }
                page += PAGE_SIZE;
            }
        }
        let mut slots = [0u64; 4];
        for slot in 256..ENTRIES {
            if (*pml4)[slot] != 0 {
                slots[(slot - 256) / 64] |= 1 << (slot % 64);
            }
        }
        super::layout::set_kernel_root(root, slots);
        core::arch::asm!("mov cr3, {}", in(reg) root, options(nostack, preserves_flags));
        super::percpu::set_active_root(root);
    }
    Ok(())
}

/// # Safety
/// `pml4` must be the kernel PML4 under construction.
unsafe fn map_kernel_page(
    pml4: *mut Table,
    virt: u64,
    phys: u64,
    flags: u64,
    frames: &mut impl FrameSource,
) -> Result<(), MapError> {
    // SAFETY: forwarded from the caller; each level is created as needed.
    unsafe {
        let pdpt = next_table(pml4, index(virt, 3), WRITABLE, frames)?;
        let pd = next_table(pdpt, index(virt, 2), WRITABLE, frames)?;
        let pt = next_table(pd, index(virt, 1), WRITABLE, frames)?;
        (*pt)[index(virt, 0)] = phys | PRESENT | flags;
    }
    Ok(())
}

/// A process's address space: its own PML4, kernel half shared.
///
/// It remembers the page tables it created and the entry that points at
/// each, so tearing it down frees only those (a scan of every table entry
/// costs thousands of instructions); if the list fills up, teardown falls
/// back to scanning the user half. Pages are the kernel's to free: it
/// unmaps every one before the address space goes. It also counts the
/// pages mapped: when none is left, clearing the remembered entries leaves
/// every table zero, and the tables go back to the frame source as zeroed
/// frames (the next address space's tables need no clearing).
#[derive(Debug)]
pub struct AddressSpace {
    root: u64,
    tables: Vec<Tracked, MAX_TRACKED_TABLES>,
    untracked: bool,
    /// Leaf entries present.
    pages: usize,
}

/// A page table an address space made, and the entry pointing at it.
#[derive(Clone, Copy, Debug)]
struct Tracked {
    table: u64,
    parent: u64,
    slot: usize,
}

/// Page tables an address space keeps track of.
const MAX_TRACKED_TABLES: usize = 32;

impl space::AddressSpace for AddressSpace {
    /// A new address space with an empty user half.
    fn new(frames: &mut impl FrameSource) -> Result<AddressSpace, MapError> {
        let root = zeroed(frames)?;
        // SAFETY: `root` is a fresh zeroed frame; the kernel PML4 is live
        // and its upper half never changes after boot: its other slots are
        // zero, as they are in `root`.
        unsafe {
            let (new, kernel) = (&mut *table(root), &*table(kernel_root()));
            kernel_slots(|slot| new[slot] = kernel[slot]);
        }
        Ok(AddressSpace {
            root,
            tables: Vec::new(),
            untracked: false,
            pages: 0,
        })
    }

    /// Physical address of the PML4, for CR3.
    fn root(&self) -> u64 {
        self.root
    }

    /// Maps the user page at `virt` to `frame`.
    fn map(
        &mut self,
        virt: u64,
        frame: Frame,
        flags: PageFlags,
        frames: &mut impl FrameSource,
    ) -> Result<(), MapError> {
        assert!(
            virt < abi::USER_END && virt.is_multiple_of(PAGE_SIZE),
            "user mappings are pages of the user half"
        );
        // Intermediate levels allow everything; the leaf decides.
        let walk = WRITABLE | USER;
        // SAFETY: the tables of the user half belong to this address space.
        unsafe {
            let pdpt = self.tracked_table(table(self.root), index(virt, 3), walk, frames)?;
            let pd = self.tracked_table(pdpt, index(virt, 2), walk, frames)?;
            let pt = self.tracked_table(pd, index(virt, 1), walk, frames)?;
            let entry = &mut (*pt)[index(virt, 0)];
            if *entry & PRESENT != 0 {
                return Err(MapError::AlreadyMapped);
            }
            let mut leaf = frame.address() | PRESENT;
            if flags.user {
                leaf |= USER;
            }
            if flags.writable {
                leaf |= WRITABLE;
            }
            if !flags.executable {
                leaf |= NO_EXECUTE;
            }
            *entry = leaf;
        }
        self.pages += 1;
        Ok(())
    }

    /// Removes the mapping of the user page at `virt`; flushes its TLB
    /// entry when this address space is active.
    fn unmap(&mut self, virt: u64) -> Option<Frame> {
        let entry = self.leaf(virt)?;
        // SAFETY: `leaf` returned a live entry of this address space's tables.
        let frame = unsafe {
            let frame = Frame::containing(*entry & ADDRESS_MASK);
            *entry = 0;
            frame
        };
        self.pages -= 1;
        self.flush(virt);
        Some(frame)
    }

    /// Gives the mapped user page at `virt` the permissions `flags`.
    fn protect(&mut self, virt: u64, flags: PageFlags) {
        let Some(entry) = self.leaf(virt) else { return };
        // SAFETY: as in `unmap`.
        unsafe {
            let mut leaf = (*entry & ADDRESS_MASK) | PRESENT;
            if flags.user {
                leaf |= USER;
            }
            if flags.writable {
                leaf |= WRITABLE;
            }
            if !flags.executable {
                leaf |= NO_EXECUTE;
            }
            *entry = leaf;
        }
        self.flush(virt);
    }

    /// The physical address and effective permissions of the user page
    /// containing `virt`, as the CPU would see them from ring 3.
    #[inline]
    fn translate(&self, virt: u64) -> Option<(u64, PageFlags)> {
        self.walk(virt)
    }

    /// Frees every page table and the PML4 (every page was unmapped). The
    /// address space must not be active.
    fn destroy(self, frames: &mut impl FrameSource) {
        assert_ne!(active_root(), self.root, "destroying the active address space");
        // Another CPU may still run it (a thread of the ended process was
        // running there): it leaves the address space before the tables go.
        super::tlb::shootdown(self.root, 0, 0, true);
        if self.untracked {
            // SAFETY: only this address space's user-half tables are walked;
            // they are owned by it and by nothing else.
            unsafe { free_tables(self.root, 3, 0..256, frames) };
            return;
        }
        if self.pages == 0 {
            // No leaf is left, so once the entries pointing at the tables
            // are cleared, every table holds only zeroes.
            for tracked in &self.tables {
                // SAFETY: `parent` is this address space's PML4 or one of
                // its tables, live until the loop below frees it.
                unsafe { (*table(tracked.parent))[tracked.slot] = 0 };
            }
            for tracked in &self.tables {
                frames.release_zeroed(Frame::containing(tracked.table));
            }
            // SAFETY: the root is this address space's own, unused by now.
            kernel_slots(|slot| unsafe { (*table(self.root))[slot] = 0 });
            frames.release_zeroed(Frame::containing(self.root));
        } else {
            for tracked in &self.tables {
                frames.release(Frame::containing(tracked.table));
            }
            frames.release(Frame::containing(self.root));
        }
    }
}

impl AddressSpace {
    /// The leaf entry mapping the user page at `virt`, if it is present.
    fn leaf(&mut self, virt: u64) -> Option<*mut u64> {
        if virt >= abi::USER_END {
            return None;
        }
        let mut current = self.root;
        for level in (1..4).rev() {
            // SAFETY: every table reachable from this root is a live page
            // table of this address space, mapped by the direct map.
            let entry = unsafe { (*table(current))[index(virt, level)] };
            if entry & PRESENT == 0 || entry & HUGE != 0 {
                return None;
            }
            current = entry & ADDRESS_MASK;
        }
        // SAFETY: as above; the slot index is below 512.
        let entry = unsafe { &raw mut (*table(current))[index(virt, 0)] };
        // SAFETY: `entry` points into a live table.
        (unsafe { *entry } & PRESENT != 0).then_some(entry)
    }

    /// Makes the TLB forget `virt` if this address space is the active one
    /// (an inactive one's entries went when CR3 last changed: user pages are
    /// never global).
    fn flush(&self, virt: u64) {
        if active_root() == self.root {
            x86_64::instructions::tlb::flush(x86_64::VirtAddr::new(virt));
        }
        // Every other CPU that runs this address space forgets it too
        // before the call returns.
        super::tlb::shootdown(self.root, virt, 1, false);
    }

    /// [`next_table`], remembering a table it creates.
    ///
    /// # Safety
    /// As for `next_table`; `parent` belongs to this address space.
    unsafe fn tracked_table(
        &mut self,
        parent: *mut Table,
        slot: usize,
        flags: u64,
        frames: &mut impl FrameSource,
    ) -> Result<*mut Table, MapError> {
        // SAFETY: forwarded from the caller.
        let present = unsafe { (*parent)[slot] & PRESENT != 0 };
        // SAFETY: forwarded from the caller.
        let child = unsafe { next_table(parent, slot, flags, frames)? };
        let tracked = Tracked {
            table: virt_to_phys(child as u64),
            parent: virt_to_phys(parent as u64),
            slot,
        };
        if !present && self.tables.push(tracked).is_err() {
            self.untracked = true;
        }
        Ok(child)
    }

    /// The page-table walk of `translate`.
    #[inline(always)]
    fn walk(&self, virt: u64) -> Option<(u64, PageFlags)> {
        if virt >= abi::USER_END {
            return None;
        }
        let mut current = self.root;
        let mut writable = true;
        let mut user = true;
        let mut executable = true;
        for level in (0..4).rev() {
            // SAFETY: every table reachable from this root is a live page
            // table of this address space, mapped by the direct map.
            let entry = unsafe { (*table(current))[index(virt, level)] };
            if entry & PRESENT == 0 || entry & HUGE != 0 {
                return None;
            }
            writable &= entry & WRITABLE != 0;
            user &= entry & USER != 0;
            executable &= entry & NO_EXECUTE == 0;
            current = entry & ADDRESS_MASK;
        }
        Some((
            current | (virt & (PAGE_SIZE - 1)),
            PageFlags {
                writable,
                executable,
                user,
            },
        ))
    }
}

/// Frees the tables below `phys` (a table at `level` > 0), then itself.
///
/// # Safety
/// `phys` must be a table owned by the caller and no longer in use, with no
/// page mapped below it.
unsafe fn free_tables(phys: u64, level: u32, slots: core::ops::Range<usize>, frames: &mut impl FrameSource) {
    let t = table(phys);
    for slot in slots {
        // SAFETY: `t` is a live table owned by the caller.
        let entry = unsafe { (*t)[slot] };
        if entry & PRESENT == 0 || level == 1 && entry & HUGE != 0 {
            continue;
        }
        if level > 1 {
            // SAFETY: a present non-leaf entry points at a child table owned
            // by the same address space.
            unsafe { free_tables(entry & ADDRESS_MASK, level - 1, 0..ENTRIES, frames) };
        } else {
            frames.release(Frame::containing(entry & ADDRESS_MASK));
        }
    }
    frames.release(Frame::containing(phys));
}

/// Physical address of the PML4 in CR3.
#[inline(always)]
pub fn active_root() -> u64 {
    super::percpu::active_root()
}
