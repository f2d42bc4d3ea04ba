//! Handles: a process's names for kernel objects, with rights.

use bitflags::bitflags;

/// A process's name for a kernel object (endpoint, memory object,
/// notification, interrupt line, process): `index | generation << 8`, where `index`
/// is a slot of the process's handle table and `generation` counts how often
/// that slot was reused. A handle kept after it was closed no longer matches
/// its slot and is `EBADHANDLE`, not someone else's endpoint.
pub type Handle = u64;

/// Bits of a handle that hold the slot index.
pub const INDEX_BITS: u32 = 8;
const _: () = assert!(MAX_HANDLES <= 1 << INDEX_BITS);
/// Bits of the generation (it wraps).
pub const GENERATION_BITS: u32 = 24;

/// The handle naming slot `index` in its `generation`.
pub const fn make(index: usize, generation: u32) -> Handle {
    index as u64 | ((generation & ((1 << GENERATION_BITS) - 1)) as u64) << INDEX_BITS
}

/// The slot index of a handle (possibly out of range: check it).
pub const fn index(handle: Handle) -> usize {
    (handle & ((1 << INDEX_BITS) - 1)) as usize
}

/// The generation of a handle.
pub const fn generation(handle: Handle) -> u32 {
    ((handle >> INDEX_BITS) & ((1 << GENERATION_BITS) - 1)) as u32
}

/// Handles a process can hold at once.
pub const MAX_HANDLES: usize = 32;

/// By convention handle 0 is the console: `write` sends through it. A process
/// whose handle 0 is not a SEND handle to an endpoint gets `EBADHANDLE` or
/// `ENORIGHTS` from `write`.
pub const CONSOLE: Handle = 0;

bitflags! {
    /// What a handle allows its holder to do with the object it names.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct Rights: u64 {
        /// `send` and `call` to the endpoint.
        const SEND = 1 << 0;
        /// `recv` and `reply_recv` on the endpoint.
        const RECEIVE = 1 << 1;
        /// Pass a copy of the handle to another process in a message, or
        /// duplicate it with `handle_dup`.
        const TRANSFER = 1 << 2;
        /// Map the memory object it names readable (`mem_map_object`).
        const MAP_READ = 1 << 3;
        /// Map the memory object it names writable.
        const MAP_WRITE = 1 << 4;
        /// Signal the notification it names (`notify`, or as the target of
        /// `irq_bind` and `process_watch`).
        const SIGNAL = 1 << 5;
        /// Wait on what it names: a notification's bits (`notify_wait`,
        /// `notify_bind`), a process's end (`process_wait`,
        /// `process_watch`), an interrupt line (`irq_bind`, `irq_ack`).
        const WAIT = 1 << 6;
        /// End the process it names (`process_kill`).
        const KILL = 1 << 7;
    }
}

impl Rights {
    /// Names used in manifests, docs and traces.
    pub const NAMES: [(&'static str, Rights); 8] = [
        ("send", Rights::SEND),
        ("recv", Rights::RECEIVE),
        ("transfer", Rights::TRANSFER),
        ("map_read", Rights::MAP_READ),
        ("map_write", Rights::MAP_WRITE),
        ("signal", Rights::SIGNAL),
        ("wait", Rights::WAIT),
        ("kill", Rights::KILL),
    ];

    /// Parses a comma-separated list such as `send,transfer`.
    pub fn parse_list(text: &str) -> Option<Rights> {
        let mut rights = Rights::empty();
        for word in text.split(',') {
            let (_, right) = Self::NAMES.iter().find(|(name, _)| *name == word)?;
            rights |= *right;
        }
        Some(rights)
    }
}

/// The rights' names joined by `|` (`send|transfer`), unknown bits in hex
/// after them; `0x0` for none.
impl core::fmt::Display for Rights {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut first = true;
        for (name, _) in Self::NAMES.iter().filter(|(_, right)| self.contains(*right)) {
            if !first {
                f.write_str("|")?;
            }
            f.write_str(name)?;
            first = false;
        }
        let unknown = self.bits() & !Rights::all().bits();
        if unknown != 0 || first {
            if !first {
                f.write_str("|")?;
            }
            write!(f, "{unknown:#x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handle_encoding() {
        assert_eq!(make(0, 0), 0);
        assert_eq!(make(3, 2), 0x203);
        assert_eq!((index(0x203), generation(0x203)), (3, 2));
        assert_eq!(generation(make(1, u32::MAX)), (1 << GENERATION_BITS) - 1);
    }

    #[test]
    fn parse_rights() {
        assert_eq!(Rights::parse_list("send"), Some(Rights::SEND));
        assert_eq!(
            Rights::parse_list("recv,transfer"),
            Some(Rights::RECEIVE | Rights::TRANSFER)
        );
        assert_eq!(Rights::parse_list("send,bogus"), None);
        assert_eq!(Rights::parse_list(""), None);
    }

    #[test]
    fn display_names_rights() {
        assert_eq!(std::format!("{}", Rights::SEND | Rights::TRANSFER), "send|transfer");
        assert_eq!(std::format!("{}", Rights::empty()), "0x0");
        assert_eq!(
            std::format!("{}", Rights::from_bits_retain(0b1_0000_0010)),
            "recv|0x100"
        );
        for (name, right) in Rights::NAMES {
            assert_eq!(Rights::parse_list(&std::format!("{right}")), Some(right), "{name}");
        }
    }
}
