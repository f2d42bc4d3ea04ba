//! Memory the kernel maps for programs: the permissions of a mapping, where
//! mappings may go, and the limits on memory objects.
//!
//! A program owns the user half of its address space below its stack's
//! guard page, except for the first 2 MiB (which stay unmapped so that null
//! pointers fault): `mem_map` and `mem_map_object` place mappings in
//! `[USER_BASE, MAP_END)` wherever nothing is mapped yet (its image, its
//! stack and its earlier mappings are). With address 0 the kernel picks the
//! lowest free range at or above [`MAP_ARENA`].

use bitflags::bitflags;

bitflags! {
    /// What ring 3 may do with mapped pages.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct Perms: u64 {
        /// Read (every mapping needs it).
        const READ = 1 << 0;
        /// Write. Never together with `EXEC` (W^X): EINVAL.
        const WRITE = 1 << 1;
        /// Execute.
        const EXEC = 1 << 2;
    }
}

impl Perms {
    /// Checks a permission word from a syscall: known bits only, READ set,
    /// not writable and executable at once. EINVAL otherwise.
    pub fn check(bits: u64) -> Result<Perms, crate::Error> {
        let perms = Perms::from_bits(bits).ok_or(crate::Error::INVAL)?;
        if !perms.contains(Perms::READ) || perms.contains(Perms::WRITE | Perms::EXEC) {
            return Err(crate::Error::INVAL);
        }
        Ok(perms)
    }
}

/// Where `mem_map` and `mem_map_object` place a mapping asked for at
/// address 0: the lowest free range at or above this address.
pub const MAP_ARENA: u64 = 0x0000_1000_0000_0000;
/// The end of the range mappings may use: the stack's guard page and the
/// stack lie above it.
pub const MAP_END: u64 = crate::USER_END - (STACK_PAGES + 1) * crate::PAGE_SIZE;
/// Pages of every program's stack, below [`crate::USER_END`]; a guard page
/// lies below it. The pages are made (zeroed) on first touch.
pub const STACK_PAGES: u64 = 16;
/// The largest memory object, in bytes (16 MiB).
pub const MAX_OBJECT_SIZE: u64 = 16 << 20;
/// The memory a program may use when its manifest entry names no limit, in
/// pages (8 MiB): its image, its stack, its mappings and the memory objects
/// it holds or maps.
pub const DEFAULT_MEMORY_PAGES: u64 = 2048;

const _: () = assert!(MAP_ARENA < MAP_END && MAP_END.is_multiple_of(crate::PAGE_SIZE));

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn permissions_are_checked() {
        assert_eq!(Perms::check(1), Ok(Perms::READ));
        assert_eq!(Perms::check(3), Ok(Perms::READ | Perms::WRITE));
        assert_eq!(Perms::check(5), Ok(Perms::READ | Perms::EXEC));
        assert_eq!(Perms::check(7), Err(Error::INVAL));
        assert_eq!(Perms::check(2), Err(Error::INVAL));
        assert_eq!(Perms::check(0), Err(Error::INVAL));
        assert_eq!(Perms::check(9), Err(Error::INVAL));
    }
}
