//! The key-value server's interface, declared once for the server
//! (`src/bin/kv.rs`) and its clients ([`protocol::Client`]). Keys and values
//! are UTF-8 text; the server keeps them in a `BTreeMap<String, String>` on
//! its heap.
//!
//! ```no_run
//! let kv = kv::protocol::Client::new(1); // handle 1: SEND to kv
//! kv.put(&kv::entry("colour", "green"))?;
//! let value = kv.get(b"colour")?;
//! assert_eq!(&value[..], b"green");
//! # Ok::<(), libsys::Error>(())
//! ```

#![no_std]
#![forbid(unsafe_code)]

use libsys::interface::Bytes;

/// Longest key or value, in bytes.
pub const MAX_TEXT: usize = 1024;
/// Longest `put` request: key, the separator, value.
pub const MAX_ENTRY: usize = 2 * MAX_TEXT + 1;

/// The separator between key and value in a `put` request (keys cannot
/// hold it).
pub const SEPARATOR: u8 = 0;

libsys::interface! {
    /// What the key-value server does.
    pub mod protocol {
        /// Stores `entry` (key, [`SEPARATOR`], value); returns whether the
        /// key was new. EINVAL for text that is not UTF-8, no separator, or
        /// a key or value longer than [`MAX_TEXT`].
        fn put(entry: &[u8]) -> bool = 1;
        /// The value under `key`; ENOTFOUND if there is none.
        fn get(key: &[u8]) -> Bytes<MAX_TEXT> = 2;
        /// Removes `key`; returns whether it was there.
        fn remove(key: &[u8]) -> bool = 3;
        /// How many keys there are, and how many bytes of text they hold.
        fn size() -> (u64, u64) = 4;
    }
}

/// The bytes of a `put` request for `key` and `value` (they must fit
/// [`MAX_ENTRY`]).
pub fn entry(key: &str, value: &str) -> heapless_entry::Entry {
    heapless_entry::Entry::new(key, value)
}

/// A `put` request's bytes, built on the stack.
pub mod heapless_entry {
    use super::{MAX_ENTRY, SEPARATOR};

    /// Key, separator and value, in a fixed buffer.
    pub struct Entry {
        bytes: [u8; MAX_ENTRY],
        len: usize,
    }

    impl Entry {
        /// The entry for `key` and `value`, cut to fit.
        pub fn new(key: &str, value: &str) -> Entry {
            let mut entry = Entry {
                bytes: [0; MAX_ENTRY],
                len: 0,
            };
            for part in [key.as_bytes(), &[SEPARATOR], value.as_bytes()] {
                let take = part.len().min(MAX_ENTRY - entry.len);
                entry.bytes[entry.len..entry.len + take].copy_from_slice(&part[..take]);
                entry.len += take;
            }
            entry
        }
    }

    impl core::ops::Deref for Entry {
        type Target = [u8];

        fn deref(&self) -> &[u8] {
            &self.bytes[..self.len]
        }
    }
}
