//! User memory, reached only through [`UserSlice`].
//!
//! A pointer and length from user space are an allegation until checked: the
//! range must not wrap, must lie in the user half, and every page must be
//! mapped, user-accessible and (when the kernel writes) writable in the
//! address space it belongs to. Only then is it copied: the side in the
//! active address space through its user addresses inside `stac`/`clac`
//! (a fault there still becomes EFAULT), the other side through the direct
//! map after the same page-table check.

use crate::arch::{self, AddressSpace, PageFlags};
use abi::{Error, PAGE_SIZE, USER_END};

/// A checked-for-range user buffer of one address space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserSlice {
    address: u64,
    len: usize,
}

/// Whether the kernel reads or writes the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

impl UserSlice {
    /// Checks that `[address, address + len)` does not wrap and lies in the
    /// user half. An empty slice is always valid.
    pub fn new(address: u64, len: usize) -> Result<UserSlice, Error> {
        if len == 0 {
            return Ok(UserSlice { address: 0, len: 0 });
        }
        let end = address.checked_add(len as u64).ok_or(Error::FAULT)?;
        if end > USER_END {
            return Err(Error::FAULT);
        }
        Ok(UserSlice { address, len })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The first `len` bytes (`len` no more than the slice's length).
    pub fn prefix(&self, len: usize) -> UserSlice {
        UserSlice {
            address: self.address,
            len: len.min(self.len),
        }
    }

    /// Checks every page is mapped for user `access` in `space`.
    pub fn check(&self, space: &AddressSpace, access: Access) -> Result<(), Error> {
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

    /// Copies the slice (of the active address space `space`) into `out`.
    pub fn read_into(&self, space: &AddressSpace, out: &mut [u8]) -> Result<(), Error> {
        debug_assert!(out.len() <= self.len);
        self.check(space, Access::Read)?;
        // SAFETY: `out` is kernel memory of `out.len()` bytes; the source was
        // checked to be mapped user memory of the active address space.
        unsafe { arch::user_copy(out.as_mut_ptr(), self.address as *const u8, out.len()) }.map_err(|_| Error::FAULT)
    }

    /// Copies `data` into the slice (of the active address space `space`).
    pub fn write_from(&self, space: &AddressSpace, data: &[u8]) -> Result<(), Error> {
        debug_assert!(data.len() <= self.len);
        self.prefix(data.len()).check(space, Access::Write)?;
        // SAFETY: `data` is kernel memory; the destination was checked to be
        // mapped, writable user memory of the active address space.
        unsafe { arch::user_copy(self.address as *mut u8, data.as_ptr(), data.len()) }.map_err(|_| Error::FAULT)
    }
}

fn allows(flags: PageFlags, access: Access) -> bool {
    flags.user && (access == Access::Read || flags.writable)
}

/// Copies `len` bytes from `source` in `from` to `destination` in `to`. One
/// of the two address spaces must be the active one, and its slice must have
/// been checked (as every syscall checks its buffers before anything
/// happens): it is copied through its user addresses inside `stac`/`clac`,
/// where a fault still becomes EFAULT. The other side is checked here, page
/// by page, and reached through the direct map.
pub fn transfer(
    from: &AddressSpace,
    source: UserSlice,
    to: &AddressSpace,
    destination: UserSlice,
    len: usize,
) -> Result<(), Error> {
    debug_assert!(len <= source.len && len <= destination.len);
    let active = arch::active_root();
    let sending = from.root() == active;
    assert!(
        sending || to.root() == active,
        "IPC transfer between two inactive address spaces"
    );
    let mut done = 0usize;
    while done < len {
        let src = source.address + done as u64;
        let dst = destination.address + done as u64;
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
            unsafe { arch::user_copy(arch::phys_to_virt(phys) as *mut u8, src as *const u8, chunk) }
        } else {
            let (phys, flags) = from.translate(src).ok_or(Error::FAULT)?;
            if !allows(flags, Access::Read) {
                return Err(Error::FAULT);
            }
            // SAFETY: as above with the roles swapped.
            unsafe { arch::user_copy(dst as *mut u8, arch::phys_to_virt(phys) as *const u8, chunk) }
        };
        result.map_err(|_| Error::FAULT)?;
        done += chunk;
    }
    Ok(())
}
