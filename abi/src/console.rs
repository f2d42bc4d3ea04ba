//! The console protocol: what the kernel and clients send to the console
//! server.
//!
//! The kernel forwards every `write` as a `call` with label [`WRITE`] and
//! sends exit and fault notices with labels [`EXIT`] and [`FAULT`]; all three
//! carry [`crate::message::MsgFlags::KERNEL`], which user programs cannot set,
//! so the console can trust the process id and name in them.

/// A forwarded `write`. Words: `[fd, pid, 0, 0, name0, name1]`; the buffer holds
/// the bytes. The console replies with word 0 = bytes written.
pub const WRITE: u32 = 1;
/// A process called `exit`. Words: `[pid, status, 0, 0, name0, name1]`.
pub const EXIT: u32 = 2;
/// A process was killed by a fault. Words:
/// `[pid, vector | error_code << 8, rip, address, name0, name1]`, where
/// `address` is CR2 for a page fault.
pub const FAULT: u32 = 3;

/// Word index of the process id in all three messages.
pub const WORD_PID: usize = 1;
/// Word indices of the packed process name.
pub const WORD_NAME: [usize; 2] = [4, 5];

/// Packs a name of up to 16 bytes into two message words (little-endian,
/// zero-padded). Longer names are cut.
pub fn pack_name(name: &str) -> [u64; 2] {
    let mut bytes = [0u8; 16];
    let len = name.len().min(16);
    bytes[..len].copy_from_slice(&name.as_bytes()[..len]);
    let mut words = [0u64; 2];
    for (i, chunk) in bytes.chunks_exact(8).enumerate() {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        words[i] = u64::from_le_bytes(word);
    }
    words
}

/// Unpacks a name packed by [`pack_name`]; returns the bytes and their
/// length (up to the first zero byte).
pub fn unpack_name(words: [u64; 2]) -> ([u8; 16], usize) {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&words[0].to_le_bytes());
    bytes[8..].copy_from_slice(&words[1].to_le_bytes());
    let len = bytes.iter().position(|&b| b == 0).unwrap_or(16);
    (bytes, len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for name in ["", "a", "hello", "exactly16bytes!!", "longer-than-sixteen"] {
            let (bytes, len) = unpack_name(pack_name(name));
            let expected = &name.as_bytes()[..name.len().min(16)];
            assert_eq!(&bytes[..len], expected);
        }
    }
}
