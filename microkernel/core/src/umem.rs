//! User memory, reached only through [`UserSlice`].
//!
//! A pointer and length from user space are an allegation until checked: the
//! range must not wrap, must lie in the user half, and every page must be
//! mapped, user-accessible and (when the kernel writes) writable in the
//! address space it belongs to. Only then does the machine copy it
//! ([`crate::machine::Machine::read_user`] and its siblings), which still
//! turns a fault during the copy into EFAULT.

use crate::space::{AddressSpace, PageFlags};
use abi::message::MAX_BUFFER;
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

/// What the kernel remembers of a thread's buffers between its syscalls,
/// so that the IPC fast path moves bytes with neither a second check nor a
/// page-table walk: the range it last sent from (found readable), the
/// receive buffer it last named (found writable) and the physical pages
/// under that buffer.
///
/// It holds only while the mappings it describes do: `vm` forgets it for
/// every thread of a process whose mappings change (unmap, protect, the end
/// of the process), and a thread slot starts with nothing remembered. Pages
/// made on first touch add mappings and change none, so they keep it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckedBuffers {
    /// `[start, end)` of user memory last found readable for sending.
    send: (u64, u64),
    /// The receive buffer `(address, capacity)` last found writable.
    receive: (u64, u64),
    /// Where bytes sent to that buffer go.
    target: FrameTarget,
}

/// Where the bytes of a message go when the receiver's pages are known: the
/// physical pages of its buffer and the offset into the first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameTarget {
    /// Physical addresses of the first page and of the next (0 if the
    /// buffer does not reach it).
    pub frames: [u64; 2],
    /// Where the buffer starts in the first page.
    pub offset: usize,
    /// How many bytes the buffer takes.
    pub capacity: usize,
}

impl CheckedBuffers {
    /// Nothing remembered.
    pub const NONE: CheckedBuffers = CheckedBuffers {
        send: (0, 0),
        receive: (0, 0),
        target: FrameTarget {
            frames: [0; 2],
            offset: 0,
            capacity: 0,
        },
    };

    /// Whether `len` bytes at `address` lie in the range last found
    /// readable (an empty range always does).
    #[inline(always)]
    pub fn sends(&self, address: u64, len: usize) -> bool {
        len == 0 || self.send_slice(address, len).is_some()
    }

    /// The slice of `len` bytes (at least one) at `address`, if it lies in
    /// the range last found readable: a [`UserSlice`] without checking its
    /// range again (the remembered one was checked).
    #[inline(always)]
    pub fn send_slice(&self, address: u64, len: usize) -> Option<UserSlice> {
        let (start, end) = self.send;
        (start <= address && address <= end && len as u64 <= end - address).then_some(UserSlice { address, len })
    }

    /// Remembers `slice` as found readable.
    pub fn sent(&mut self, slice: UserSlice) {
        if !slice.is_empty() {
            self.send = (slice.address, slice.address + slice.len as u64);
        }
    }

    /// Whether the receive buffer `(address, capacity)` is the one last
    /// found writable (an empty one needs no check).
    #[inline(always)]
    pub fn receives(&self, address: u64, capacity: u64) -> bool {
        capacity == 0 || self.receive == (address, capacity)
    }

    /// Remembers the receive buffer `(address, capacity)` as found writable,
    /// with the physical pages under its first [`MAX_BUFFER`] bytes.
    pub fn received(&mut self, address: u64, capacity: u64, frames: [u64; 2]) {
        self.receive = (address, capacity);
        self.target = FrameTarget {
            frames,
            offset: (address % PAGE_SIZE) as usize,
            capacity: (capacity as usize).min(MAX_BUFFER),
        };
    }

    /// The pages under the remembered receive buffer, if it is
    /// `(address, capacity)` and not empty.
    #[inline(always)]
    pub fn receive_target(&self, address: u64, capacity: u64) -> Option<&FrameTarget> {
        (capacity != 0 && self.receive == (address, capacity)).then_some(&self.target)
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
