//! The IPC message: a [`MsgInfo`] word plus up to [`MAX_WORDS`] words in
//! registers and an optional byte buffer copied by the kernel.
//!
//! `MsgInfo` bit layout (the value in RSI):
//!
//! | bits   | field  | meaning                                                   |
//! |--------|--------|-----------------------------------------------------------|
//! | 0-31   | label  | chosen by the sender; the protocol's operation code       |
//! | 32-35  | words  | message words that are valid, 0 to 6                      |
//! | 36-48  | length | bytes in the buffer, 0 to 4096                            |
//! | 49-52  | flags  | [`MsgFlags`]                                              |
//! | 53-63  | timeout| ticks to wait at most; 0 waits as long as it takes       |

use crate::Error;
use bitflags::bitflags;
use core::fmt;

/// Message words carried in registers.
pub const MAX_WORDS: usize = 6;
/// Largest byte buffer one message carries.
pub const MAX_BUFFER: usize = 4096;

const WORDS_SHIFT: u32 = 32;
const WORDS_MASK: u64 = 0xf;
const LEN_SHIFT: u32 = 36;
const LEN_MASK: u64 = 0x1fff;
const FLAGS_SHIFT: u32 = 49;
const FLAGS_MASK: u64 = 0xf;
const TIMEOUT_SHIFT: u32 = 53;
const TIMEOUT_MASK: u64 = 0x7ff;

/// Longest timeout a message can carry, in timer ticks.
pub const MAX_TIMEOUT: u32 = TIMEOUT_MASK as u32;

/// The label of an error reply. A server that answers a call with an
/// error sends this label, one word holding the error as a syscall would
/// return it ([`Error::to_return`], `-code`), no bytes and no handle
/// ([`error_reply`]). A client reads every reply with this label as an
/// error ([`reply_error`]); `libsys`'s `call` returns it as `Err`. So no
/// protocol may use this label for anything else.
pub const ERROR_LABEL: u32 = u32::MAX;

/// The label of the message a receiver gets for the bits of a notification
/// bound to its endpoint (`notify_bind`); see [`crate::notify`].
pub const NOTIFICATION_LABEL: u32 = u32::MAX - 1;

/// The `MsgInfo` and word 0 of an error reply carrying `error`.
pub const fn error_reply(error: Error) -> (MsgInfo, u64) {
    (MsgInfo::new(ERROR_LABEL, 1, 0), error.to_return())
}

/// The error a reply carries, if it is an error reply (label
/// [`ERROR_LABEL`]): the error in word 0, or `EINVAL` when the reply has
/// that label but not the shape of an error reply (one word, no bytes, no
/// handle, a known error code).
pub const fn reply_error(info: MsgInfo, word0: u64) -> Option<Error> {
    if info.label() != ERROR_LABEL {
        return None;
    }
    if info.words() != 1 || !info.is_empty() || info.flags().contains(MsgFlags::HANDLE) {
        return Some(Error::INVAL);
    }
    match Error::decode(word0) {
        Err(code) => match Error::from_code(code) {
            Some(error) => Some(error),
            None => Some(Error::INVAL),
        },
        Ok(_) => Some(Error::INVAL),
    }
}

bitflags! {
    /// Flags of a message.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct MsgFlags: u8 {
        /// Word 0 carries a handle of the sender (which needs the TRANSFER
        /// right); the receiver gets a copy and finds its own handle number
        /// in word 0.
        const HANDLE = 1 << 0;
        /// The kernel wrote this message (forwarded `write`, exit and fault
        /// notices). User programs cannot set it.
        const KERNEL = 1 << 1;
        /// Do not wait for a peer: if none is waiting, fail with ETIMEDOUT.
        /// For `call` it covers the send; the reply is waited for.
        const NONBLOCK = 1 << 2;
    }
}

/// The flags' names joined by `|` (`HANDLE|KERNEL`), unknown bits in hex
/// after them; `0x0` for none.
impl fmt::Display for MsgFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (name, _) in self.iter_names() {
            if !first {
                f.write_str("|")?;
            }
            f.write_str(name)?;
            first = false;
        }
        let unknown = self.bits() & !MsgFlags::all().bits();
        if unknown != 0 || first {
            if !first {
                f.write_str("|")?;
            }
            write!(f, "{unknown:#x}")?;
        }
        Ok(())
    }
}

/// Describes a message: label, word count, buffer length, flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct MsgInfo(pub u64);

impl MsgInfo {
    /// A message with `label`, `words` register words and `len` buffer bytes.
    /// Out-of-range counts are masked; [`MsgInfo::check`] catches them.
    pub const fn new(label: u32, words: usize, len: usize) -> Self {
        MsgInfo(label as u64 | ((words as u64 & WORDS_MASK) << WORDS_SHIFT) | ((len as u64 & LEN_MASK) << LEN_SHIFT))
    }

    /// The same message with `flags` (replacing its flags).
    pub const fn with_flags(self, flags: MsgFlags) -> Self {
        MsgInfo((self.0 & !(FLAGS_MASK << FLAGS_SHIFT)) | ((flags.bits() as u64) << FLAGS_SHIFT))
    }

    /// The label: the protocol's operation code.
    pub const fn label(self) -> u32 {
        self.0 as u32
    }

    /// How many message words are valid (0 to 6 in a valid message).
    pub const fn words(self) -> usize {
        ((self.0 >> WORDS_SHIFT) & WORDS_MASK) as usize
    }

    /// How many bytes of the buffer the message carries.
    pub const fn len(self) -> usize {
        ((self.0 >> LEN_SHIFT) & LEN_MASK) as usize
    }

    /// Whether the message carries no bytes.
    pub const fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// The flags (unknown bits kept, so [`MsgInfo::check`] can refuse them).
    pub const fn flags(self) -> MsgFlags {
        MsgFlags::from_bits_retain(((self.0 >> FLAGS_SHIFT) & FLAGS_MASK) as u8)
    }

    /// Timer ticks the operation may wait before failing with ETIMEDOUT; 0
    /// waits as long as it takes.
    pub const fn timeout(self) -> u32 {
        ((self.0 >> TIMEOUT_SHIFT) & TIMEOUT_MASK) as u32
    }

    /// The same message with a timeout (clamped to [`MAX_TIMEOUT`]).
    pub const fn with_timeout(self, ticks: u32) -> Self {
        let ticks = if ticks > MAX_TIMEOUT { MAX_TIMEOUT } else { ticks };
        MsgInfo((self.0 & !(TIMEOUT_MASK << TIMEOUT_SHIFT)) | ((ticks as u64) << TIMEOUT_SHIFT))
    }

    /// Whether this is a plain message of valid shape: no flags, no timeout,
    /// at most [`MAX_WORDS`] words and [`MAX_BUFFER`] bytes (what the
    /// kernel's fast path takes). Two comparisons: the length, flags and
    /// timeout lie above the word count, in that order.
    #[inline(always)]
    pub const fn is_plain(self) -> bool {
        let high = self.0 >> WORDS_SHIFT;
        high & WORDS_MASK <= MAX_WORDS as u64 && high >> (LEN_SHIFT - WORDS_SHIFT) <= MAX_BUFFER as u64
    }

    /// Checks a `MsgInfo` a user program passed in: unknown flags clear, no
    /// KERNEL flag, word count and length within bounds.
    pub const fn check(self) -> Result<Self, Error> {
        let flags = ((self.0 >> FLAGS_SHIFT) & FLAGS_MASK) as u8;
        if flags & !(MsgFlags::HANDLE.bits() | MsgFlags::NONBLOCK.bits()) != 0 {
            return Err(Error::INVAL);
        }
        if self.words() > MAX_WORDS {
            return Err(Error::INVAL);
        }
        if flags & MsgFlags::HANDLE.bits() != 0 && self.words() == 0 {
            return Err(Error::INVAL);
        }
        if self.len() > MAX_BUFFER {
            return Err(Error::TOOLONG);
        }
        Ok(self)
    }
}

/// The fields, as traces print them: `{label=7 words=6 len=64}`, with
/// `flags=HANDLE|NONBLOCK` and `timeout=5` when they are not empty.
impl fmt::Display for MsgInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{label={} words={} len={}", self.label(), self.words(), self.len())?;
        if !self.flags().is_empty() {
            write!(f, " flags={}", self.flags())?;
        }
        if self.timeout() != 0 {
            write!(f, " timeout={}", self.timeout())?;
        }
        f.write_str("}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip() {
        let info = MsgInfo::new(0xdead_beef, 6, 4096).with_flags(MsgFlags::HANDLE);
        assert_eq!(info.label(), 0xdead_beef);
        assert_eq!(info.words(), 6);
        assert_eq!(info.len(), 4096);
        assert_eq!(info.flags(), MsgFlags::HANDLE);
        assert_eq!(info.check(), Ok(info));
        assert_eq!(info.with_flags(MsgFlags::empty()).flags(), MsgFlags::empty());
    }

    #[test]
    fn check_refuses_what_users_may_not_send() {
        assert_eq!(MsgInfo::new(1, 7, 0).check(), Err(Error::INVAL));
        assert_eq!(MsgInfo::new(1, 0, 4097).check(), Err(Error::TOOLONG));
        assert_eq!(
            MsgInfo::new(1, 1, 0).with_flags(MsgFlags::KERNEL).check(),
            Err(Error::INVAL)
        );
        assert_eq!(
            MsgInfo::new(1, 0, 0).with_flags(MsgFlags::HANDLE).check(),
            Err(Error::INVAL)
        );
        assert_eq!(MsgInfo(1 << 52).check(), Err(Error::INVAL)); // unknown flag
        let waiting = MsgInfo::new(1, 0, 0).with_flags(MsgFlags::NONBLOCK).with_timeout(5);
        assert_eq!(waiting.check(), Ok(waiting));
    }

    #[test]
    fn plain_means_no_flags_no_timeout_and_valid_counts() {
        assert!(MsgInfo::new(u32::MAX, 6, 4096).is_plain());
        assert!(MsgInfo::new(0, 0, 0).is_plain());
        assert!(!MsgInfo::new(0, 7, 0).is_plain());
        assert!(!MsgInfo::new(0, 0, 4097).is_plain());
        assert!(!MsgInfo::new(0, 0, 0).with_flags(MsgFlags::NONBLOCK).is_plain());
        assert!(!MsgInfo::new(0, 1, 0).with_flags(MsgFlags::HANDLE).is_plain());
        assert!(!MsgInfo::new(0, 0, 0).with_timeout(1).is_plain());
        assert!(!MsgInfo(u64::MAX).is_plain());
    }

    #[test]
    fn display_shows_every_field_that_is_set() {
        let info = MsgInfo::new(3, 1, 2);
        assert_eq!(std::format!("{info}"), "{label=3 words=1 len=2}");
        let info = info.with_flags(MsgFlags::HANDLE | MsgFlags::NONBLOCK).with_timeout(5);
        assert_eq!(
            std::format!("{info}"),
            "{label=3 words=1 len=2 flags=HANDLE|NONBLOCK timeout=5}"
        );
        assert_eq!(std::format!("{}", MsgFlags::empty()), "0x0");
        assert_eq!(std::format!("{}", MsgFlags::from_bits_retain(0b1001)), "HANDLE|0x8");
    }

    #[test]
    fn error_replies_round_trip() {
        for &error in Error::ALL {
            let (info, word) = error_reply(error);
            assert_eq!(info.check(), Ok(info));
            assert_eq!(reply_error(info, word), Some(error));
        }
        // Not an error reply.
        assert_eq!(reply_error(MsgInfo::new(0, 1, 0), Error::FAULT.to_return()), None);
        // The label with another shape, or no known code: still an error.
        let (info, word) = error_reply(Error::FAULT);
        assert_eq!(reply_error(MsgInfo::new(ERROR_LABEL, 0, 0), word), Some(Error::INVAL));
        assert_eq!(reply_error(MsgInfo::new(ERROR_LABEL, 1, 8), word), Some(Error::INVAL));
        assert_eq!(reply_error(info.with_flags(MsgFlags::HANDLE), word), Some(Error::INVAL));
        assert_eq!(reply_error(info, 4000u64.wrapping_neg()), Some(Error::INVAL));
        assert_eq!(reply_error(info, 5), Some(Error::INVAL));
    }

    #[test]
    fn fields_do_not_overlap() {
        let all = MsgInfo::new(u32::MAX, 0xf, 0x1fff).with_flags(MsgFlags::from_bits_retain(0xf));
        assert_eq!(all.0, (1 << 53) - 1);
        assert_eq!(all.with_timeout(u32::MAX).0, u64::MAX);
        assert_eq!(all.with_timeout(u32::MAX).timeout(), MAX_TIMEOUT);
        assert_eq!(MsgInfo::new(9, 1, 2).with_timeout(100).timeout(), 100);
        assert_eq!(MsgInfo::new(9, 1, 2).with_timeout(100).label(), 9);
    }
}
