//! The heap: `alloc`'s `Vec`, `String`, `BTreeMap` and the rest, on memory
//! the program maps from the kernel as it needs it.
//!
//! With the `alloc` feature, libsys installs a global allocator: Talc, a
//! general-purpose `no_std` allocator, behind a spin lock. When it runs out
//! of room it maps another run of private pages with `mem_map` (at least
//! [`GROWTH`] bytes, more for a big allocation) and takes it as a new heap.
//! The pages count against the program's memory limit when they are mapped
//! and are made, zeroed, on first touch. An allocation the limit (or the
//! machine) cannot take fails like any allocation failure in Rust: the
//! program panics with "memory allocation of N bytes failed", and the
//! console reports it; nothing else is affected.
//!
//! ```no_run
//! extern crate alloc;
//! use alloc::collections::BTreeMap;
//! use alloc::string::String;
//!
//! let mut names: BTreeMap<u32, String> = BTreeMap::new();
//! names.insert(7, String::from("seven"));
//! ```

use abi::memory::Perms;
use core::alloc::Layout;
use talc::base::Talc;
use talc::base::binning::Binning;
use talc::source::Source;

/// The least a heap grows by: 64 KiB.
pub const GROWTH: usize = 64 << 10;

/// Where the heap gets memory: `mem_map`.
#[derive(Debug)]
pub struct MemMap;

// SAFETY: `acquire` only maps fresh pages and hands them to the `talc` it is
// given; it never allocates (no formatting, no collections).
unsafe impl Source for MemMap {
    fn acquire<B: Binning>(talc: &mut Talc<Self, B>, layout: Layout) -> Result<(), ()> {
        // Room for the allocation at its alignment, and for Talc's own
        // bookkeeping of a new heap.
        let needed = layout.size() + layout.align() + talc::min_first_heap_size::<B>();
        let size = needed.next_multiple_of(abi::PAGE_SIZE as usize).max(GROWTH);
        let base = crate::sys::mem_map(0, size, Perms::READ | Perms::WRITE).map_err(drop)?;
        // SAFETY: the kernel just mapped `size` bytes of fresh, writable
        // memory at `base` for this program; nothing else refers to it.
        unsafe { talc.claim(base as *mut u8, size) }.map(drop).ok_or(())
    }
}

/// The program's global allocator.
#[global_allocator]
static HEAP: talc::sync::TalcLock<spin::Mutex<()>, MemMap, talc::base::binning::DefaultBinning> =
    talc::sync::TalcLock::new(MemMap);
