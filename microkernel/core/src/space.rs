//! Address spaces, as the kernel's logic sees them: a trait the machine
//! implements with its page tables (and the host tests with a map).

use crate::physmem::{Frame, FrameSource};

/// Permissions of a user page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageFlags {
    /// Writable (never together with `executable` for user pages).
    pub writable: bool,
    /// Executable.
    pub executable: bool,
    /// Reachable from ring 3.
    pub user: bool,
}

/// Why a mapping could not be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// No frame for a page table.
    NoMemory,
    /// The page is mapped already.
    AlreadyMapped,
}

/// One process's address space: the user half of its page tables.
pub trait AddressSpace: Sized {
    /// A new address space with an empty user half.
    fn new(frames: &mut impl FrameSource) -> Result<Self, MapError>;

    /// Identifies the address space (on x86_64, the physical address of its
    /// top-level table).
    fn root(&self) -> u64;

    /// Maps the user page at `virt` to `frame`.
    fn map(&mut self, virt: u64, frame: Frame, flags: PageFlags, frames: &mut impl FrameSource)
    -> Result<(), MapError>;

    /// Removes the mapping of the user page at `virt`, if any, and returns
    /// its frame (which the caller frees if it owns it). When the address
    /// space is active, the TLB forgets the page before this returns.
    fn unmap(&mut self, virt: u64) -> Option<Frame>;

    /// Gives the mapped user page at `virt` the permissions `flags` (no
    /// effect if it is not mapped), flushing its TLB entry as `unmap` does.
    fn protect(&mut self, virt: u64, flags: PageFlags);

    /// The physical address and effective permissions of the user page
    /// containing `virt`, as ring 3 would see them.
    fn translate(&self, virt: u64) -> Option<(u64, PageFlags)>;

    /// Frees the page tables and the top-level table. Every user page must
    /// have been unmapped (the kernel frees the pages it owns itself). The
    /// address space must not be active.
    fn destroy(self, frames: &mut impl FrameSource);
}
