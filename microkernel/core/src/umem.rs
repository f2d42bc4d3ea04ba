//! User memory, reached only through [`UserSlice`].
//!
//! A pointer and length from user space are an allegation until checked: the
//! range must not wrap, must lie in the user half, and every page must be
//! mapped, user-accessible and (when the kernel writes) writable in the
//! address space it belongs to. Only then does the machine copy it
//! ([`crate::machine::Machine::read_user`] and its siblings), which still
//! turns a fault during the copy into EFAULT.

use crate::space::{AddressSpace, PageFlags};
use abi::{Error, PAGE_SIZE, USER_END};

/// A user buffer of one address space whose range has been checked: it does
/// not wrap and lies in the user half. Its pages are checked separately
/// ([`UserSlice::check`]), against the address space they belong to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserSlice {
    address: u64,
    len: usize,
}

/// Whether the kernel reads or writes the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// The kernel reads it (the user sends it).
    Read,
    /// The kernel writes it (the user receives into it).
    Write,
}

impl UserSlice {
    /// The empty slice.
    pub const EMPTY: UserSlice = UserSlice { address: 0, len: 0 };

    /// Checks that `[address, address + len)` does not wrap and lies in the
    /// user half. An empty slice is always valid.
    #[inline]
    pub fn new(address: u64, len: usize) -> Result<UserSlice, Error> {
        if len == 0 {
            return Ok(UserSlice::EMPTY);
        }
        let end = address.checked_add(len as u64).ok_or(Error::FAULT)?;
        if end > USER_END {
            return Err(Error::FAULT);
        }
        Ok(UserSlice { address, len })
    }

    /// Its first address.
    pub fn address(&self) -> u64 {
        self.address
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The first `len` bytes (no more than the slice has).
    pub fn prefix(&self, len: usize) -> UserSlice {
        UserSlice {
            address: self.address,
            len: len.min(self.len),
        }
    }

    /// Checks every page is mapped for user `access` in `space`.
    #[inline]
    pub fn check(&self, space: &impl AddressSpace, access: Access) -> Result<(), Error> {
        let mut page = self.address & !(PAGE_SIZE - 1);
        let end = self.address + self.len as u64;
        while page < end {
            let (_, flags) = space.translate(page).ok_or(Error::FAULT)?;
            if !allows(flags, access) {
                return Err(Error::FAULT);
            }
            page += PAGE_SIZE;
        }
        Ok(())
    }
}

/// Whether a page with `flags` may be used by ring 3 for `access`.
pub fn allows(flags: PageFlags, access: Access) -> bool {
    flags.user && (access == Access::Read || flags.writable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_must_stay_in_the_user_half() {
        assert_eq!(UserSlice::new(0, 0), Ok(UserSlice::EMPTY));
        assert_eq!(UserSlice::new(u64::MAX, 0), Ok(UserSlice::EMPTY));
        assert_eq!(UserSlice::new(USER_END - 1, 1).map(|s| s.len()), Ok(1));
        assert_eq!(UserSlice::new(USER_END - 1, 2), Err(Error::FAULT));
        assert_eq!(UserSlice::new(u64::MAX, 2), Err(Error::FAULT));
        assert_eq!(UserSlice::new(0x1000, 10).unwrap().prefix(4).len(), 4);
    }
}
