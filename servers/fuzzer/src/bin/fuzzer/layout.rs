//! The fuzzer's own memory: the scratch pages the kernel may write into,
//! the read-only image, the live data the kernel must never be asked to
//! write, and the unmapped pages around them.
//!
//! The scratch pages are a static in section `.lbss`, which the linker
//! places after `.bss`, page-aligned, as the last thing of the image: the
//! page after them is unmapped, so a buffer can straddle the boundary from
//! writable scratch into nothing. [`Layout::new`] checks that at run time
//! (with the linker's `_end`) and turns the straddles off if it is not so.
//!
//! The image's own pages (what `mem_unmap` and `mem_protect` must never be
//! given, and what a mapping can never be placed over) are read from its
//! program headers, which the first segment maps with the ELF header: each
//! `PT_LOAD` segment with a memory size, rounded out to whole pages, as the
//! kernel maps it (docs/abi.md, "Memory").

use abi::memory::MAP_END;
use abi::message::MAX_BUFFER;
use abi::{PAGE_SIZE, USER_BASE, USER_END};

/// Size of the scratch area: room for a whole `MAX_BUFFER` window at many
/// offsets, plus page boundaries to straddle.
pub const SCRATCH_SIZE: usize = 4 * PAGE_SIZE as usize;

/// Page-aligned bytes.
#[repr(C, align(4096))]
pub struct Pages([u8; SCRATCH_SIZE]);

/// The only memory of the fuzzer the kernel is ever asked to write: receive
/// buffers, `stats` output. Nothing else lives here; the fuzzer reads it
/// only to check what the kernel wrote.
#[unsafe(link_section = ".lbss")]
static mut SCRATCH: Pages = Pages([0; SCRATCH_SIZE]);

// Symbols the linker (ld.lld) defines; only their addresses are used.
unsafe extern "C" {
    /// Start of the image (its ELF header, mapped read-only).
    static __executable_start: u8;
    /// End of `.text`.
    static _etext: u8;
    /// End of the image (after `.lbss`).
    static _end: u8;
}

/// Bytes below `USER_END` treated as the stack: the kernel maps 64 KiB
/// there; a whole MiB is kept out of the kernel's reach to be safe.
const STACK_RESERVE: u64 = 1 << 20;
/// Pages of the stack the kernel maps (its guard page lies below them).
pub const STACK_PAGES: u64 = abi::memory::STACK_PAGES;
/// Most `PT_LOAD` segments the layout records.
pub const MAX_SEGMENTS: usize = 8;
/// ELF `PT_LOAD`.
const PT_LOAD: u32 = 1;

const fn page_down(address: u64) -> u64 {
    address & !(PAGE_SIZE - 1)
}

const fn page_up(address: u64) -> u64 {
    (address + PAGE_SIZE - 1) & !(PAGE_SIZE - 1)
}

/// Where things are, learned once at start.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    /// `[start, end)` of the scratch pages.
    pub scratch: (u64, u64),
    /// `[start, end)` of pages holding only read-only image (headers,
    /// rodata, code).
    pub read_only: (u64, u64),
    /// First address past the image (page-aligned).
    pub image_end: u64,
    /// Whether the scratch pages end the image (the next page is unmapped).
    pub scratch_is_last: bool,
    /// Lowest page of the stack (the guard page lies right below).
    pub stack_bottom: u64,
    /// `[start, end)` of the writable image other than scratch: live data.
    live_image: (u64, u64),
    /// `[start, end)` of the image after the scratch pages (empty when the
    /// scratch pages are last).
    live_tail: (u64, u64),
    /// `[start, end)` of each segment of the image, page-aligned, in
    /// program-header order; `segment_count` of them (0: the headers could
    /// not be read).
    pub segments: [(u64, u64); MAX_SEGMENTS],
    pub segment_count: usize,
}

impl Layout {
    pub fn new() -> Layout {
        let scratch_start = &raw const SCRATCH as u64;
        let scratch_end = scratch_start + SCRATCH_SIZE as u64;
        let image_start = &raw const __executable_start as u64;
        let text_end = &raw const _etext as u64;
        let image_end = page_up(&raw const _end as u64);
        let (segments, segment_count) =
            segments(image_start, page_down(text_end)).unwrap_or(([(0, 0); MAX_SEGMENTS], 0));
        Layout {
            scratch: (scratch_start, scratch_end),
            // The page holding the end of the text may be shared with
            // nothing else, but only whole text pages are counted.
            read_only: (image_start, page_down(text_end)),
            image_end,
            scratch_is_last: scratch_end == image_end && scratch_start.is_multiple_of(PAGE_SIZE),
            stack_bottom: USER_END - STACK_PAGES * PAGE_SIZE,
            live_image: (page_down(text_end), scratch_start.min(image_end)),
            live_tail: (scratch_end.min(image_end), image_end),
            segments,
            segment_count,
        }
    }

    /// The image's segments, page-aligned.
    pub fn segments(&self) -> &[(u64, u64)] {
        &self.segments[..self.segment_count]
    }

    /// Pages the image's segments take: what the kernel charges the memory
    /// limit for them.
    pub fn image_pages(&self) -> u64 {
        self.segments()
            .iter()
            .map(|(start, end)| (end - start) / PAGE_SIZE)
            .sum()
    }

    /// Whether `[start, end)` (with `start < end <= USER_END`) holds a page
    /// of the fuzzer's own: a page of its image, the stack's guard page or
    /// the stack. Pages between the segments, around the image and in the
    /// mapping area are not its own (unless it mapped them itself).
    pub fn touches_own(&self, start: u64, end: u64) -> bool {
        end > MAP_END || self.segments().iter().any(|&(from, to)| from < end && start < to)
    }

    /// Whether `page` may hold live data of the fuzzer: writable image
    /// outside the scratch pages, or the stack.
    fn is_live(&self, page: u64) -> bool {
        let within = |(start, end): (u64, u64)| page.saturating_add(PAGE_SIZE) > start && page < end;
        within(self.live_image) || within(self.live_tail) || (USER_END - STACK_RESERVE..USER_END).contains(&page)
    }

    /// Whether the kernel may be handed `[address, address + capacity)` to
    /// write into: the part it could write (at most `MAX_BUFFER` bytes, the
    /// most any syscall writes, and at least the first byte even when the
    /// capacity is 0) touches no page of live data. Wrapping ranges are
    /// followed around the address space.
    pub fn out_window_safe(&self, address: u64, capacity: u64) -> bool {
        let window = capacity.clamp(1, MAX_BUFFER as u64);
        let last = page_down(address.wrapping_add(window - 1));
        let mut page = page_down(address);
        loop {
            if self.is_live(page) {
                return false;
            }
            if page == last {
                return true;
            }
            page = page.wrapping_add(PAGE_SIZE);
        }
    }

    /// Whether `[address, address + len)` lies inside the scratch pages.
    pub fn in_scratch(&self, address: u64, len: u64) -> bool {
        address >= self.scratch.0 && address.checked_add(len).is_some_and(|end| end <= self.scratch.1)
    }

    /// Reads `N` bytes of the scratch pages at `address` (which must lie in
    /// them), as the kernel left them.
    pub fn read_scratch<const N: usize>(&self, address: u64) -> Option<[u8; N]> {
        if !self.in_scratch(address, N as u64) {
            return None;
        }
        let mut out = [0u8; N];
        let base = &raw const SCRATCH as *const u8;
        let offset = (address - self.scratch.0) as usize;
        for (index, byte) in out.iter_mut().enumerate() {
            // SAFETY: `offset + index` lies inside SCRATCH (checked above);
            // the kernel may have written these bytes during a syscall, so
            // they are read volatile, one by one, as plain bytes.
            *byte = unsafe { core::ptr::read_volatile(base.add(offset + index)) };
        }
        Some(out)
    }

    /// Sanity of the layout itself: the image starts at `USER_BASE` or
    /// above, the read-only part is non-empty and the current stack pointer
    /// lies in the stack.
    pub fn problems(&self, stack_pointer: u64) -> Option<&'static str> {
        if self.read_only.0 < USER_BASE || self.read_only.1 <= self.read_only.0 + PAGE_SIZE {
            return Some("no read-only image pages found");
        }
        if stack_pointer < self.stack_bottom || stack_pointer >= USER_END {
            return Some("the stack is not where the kernel maps it");
        }
        if self.scratch.0 < self.live_image.0 {
            return Some("the scratch pages lie before the writable image");
        }
        let covered = |start: u64, end: u64| self.segments().iter().any(|&(from, to)| from <= start && end <= to);
        if self.segment_count == 0
            || !covered(page_down(self.scratch.0), page_up(self.scratch.1))
            || !covered(self.read_only.0, self.read_only.0 + PAGE_SIZE)
            || self.segments().iter().any(|&(_, end)| end > self.image_end)
        {
            return Some("its program headers do not describe its image");
        }
        None
    }
}

/// Reads `N` bytes of the image at `address` (little-endian fields).
fn image_bytes<const N: usize>(address: u64) -> [u8; N] {
    let mut out = [0u8; N];
    for (index, byte) in out.iter_mut().enumerate() {
        let pointer = core::ptr::with_exposed_provenance::<u8>(address as usize + index);
        // SAFETY: callers pass addresses inside the first, read-only pages
        // of the image (the ELF header and program headers), which the
        // kernel mapped and nothing ever unmaps.
        *byte = unsafe { pointer.read_volatile() };
    }
    out
}

/// The `PT_LOAD` segments with a memory size, page-aligned, from the
/// program headers at `image_start` (the ELF header), which must lie below
/// `readable_end`. `None` if the headers are not where they should be.
fn segments(image_start: u64, readable_end: u64) -> Option<([(u64, u64); MAX_SEGMENTS], usize)> {
    let within = |offset: u64, len: u64| {
        image_start
            .checked_add(offset)?
            .checked_add(len)
            .filter(|end| *end <= readable_end)
    };
    within(0, 64)?;
    if image_bytes::<4>(image_start) != *b"\x7fELF" {
        return None;
    }
    let phoff = u64::from_le_bytes(image_bytes(image_start + 32));
    let phentsize = u16::from_le_bytes(image_bytes(image_start + 54)) as u64;
    let phnum = u16::from_le_bytes(image_bytes(image_start + 56)) as u64;
    if phentsize < 56 {
        return None;
    }
    within(phoff, phentsize.checked_mul(phnum)?)?;
    let mut out = [(0, 0); MAX_SEGMENTS];
    let mut count = 0;
    for index in 0..phnum {
        let header = image_start + phoff + index * phentsize;
        let kind = u32::from_le_bytes(image_bytes(header));
        let vaddr = u64::from_le_bytes(image_bytes(header + 16));
        let memsz = u64::from_le_bytes(image_bytes(header + 40));
        if kind != PT_LOAD || memsz == 0 {
            continue;
        }
        *out.get_mut(count)? = (page_down(vaddr), page_up(vaddr.checked_add(memsz)?));
        count += 1;
    }
    Some((out, count))
}

/// The current stack pointer (for [`Layout::problems`]).
pub fn stack_pointer() -> u64 {
    let value: u64;
    // SAFETY: reads RSP into a register; touches no memory.
    unsafe { core::arch::asm!("mov {}, rsp", out(reg) value, options(nomem, nostack, preserves_flags)) };
    value
}
