//! The console protocol: what the kernel and clients send to the console
//! server.
//!
//! The kernel forwards every `write` as a `call` with label [`WRITE`] and
//! sends exit and fault notices with labels [`EXIT`] and [`FAULT`]; all three
//! carry [`crate::message::MsgFlags::KERNEL`], which user programs cannot set,
//! so the console can trust the process id and name in them.
//!
//! Clients take the typed input with [`ATTACH`] and [`READ`]
//! (`libsys::io::Stdin` does both).

/// A forwarded `write`. Words: `[fd, pid, 0, 0, name0, name1]`; the buffer holds
/// the bytes. The console replies with word 0 = bytes written, or an error
/// (see [`write_result`]). It prints each line prefixed with `name[pid]: `,
/// control bytes other than `\n` and `\t` escaped as `\xNN`, and takes only
/// as many bytes as make at most [`MAX_WRITE_OUTPUT`] bytes of output (at
/// least one): the rest is the caller's to send again (`write_all` does).
pub const WRITE: u32 = 1;
/// The most serial output one `write` makes the console print, prefixes and
/// escapes included: the bound on the work one request can cause it (4096
/// newlines would otherwise be 4096 prefixed lines).
pub const MAX_WRITE_OUTPUT: usize = 2048;
/// A process called `exit`. Words: `[pid, status, 0, 0, name0, name1]`.
pub const EXIT: u32 = 2;
/// A process was killed by a fault. Words:
/// `[pid, vector | error_code << 8, rip, address, name0, name1]`, where
/// `address` is CR2 for a page fault.
pub const FAULT: u32 = 3;
/// A process was killed for using up the CPU time its manifest entry allows.
/// Words: `[pid, limit in ticks, rip, 0, name0, name1]`.
pub const LIMIT: u32 = 4;

/// A process was ended by `process_kill`. Words:
/// `[pid, killer's pid, rip, 0, name0, name1]`.
pub const KILLED: u32 = 5;

/// Word indices of the packed process name in every notice and write.
pub const WORD_NAME: [usize; 2] = [4, 5];

// Console input. The console server drives the serial port's receive
// interrupt and keeps what is typed in a line discipline (echo, erase,
// Ctrl-C); one client at a time, the holder, takes the input. See the
// console input protocol in docs/abi.md.

/// Console input: a client attaches to take the input. Word 0 carries a
/// handle (HANDLE flag) to a notification with SIGNAL, which the console
/// signals with [`INPUT_READY`] when a line is ready and [`INTERRUPT`] on
/// Ctrl-C; word 1 is the attaching process's pid (0: none given). The
/// holder is known by the badge of its console handle (processes sharing a
/// badge share the input).
///
/// The previous holder is set aside, not forgotten: it cannot read while
/// the new one holds the input, and gets it back (with an [`INPUT_READY`]
/// if lines wait) when the new holder's process ends, which the console
/// learns from the exit notice with that pid. A process that attaches again
/// moves to the top. At most [`MAX_HOLDERS`] holders are kept (the oldest
/// is dropped). With no holder, typed bytes are dropped and counted.
///
/// Reply: no words. Error replies: EINVAL without a handle; else the error
/// `notify` gives for the handle, when it is not a notification the
/// console may signal (ENORIGHTS without SIGNAL, as for an endpoint;
/// EWRONGKIND for another object with SIGNAL).
pub const ATTACH: u32 = 16;
/// Console input: the holder takes complete lines (each ending in `\n`).
/// Word 0: the most bytes the reply may carry, at most
/// [`crate::message::MAX_BUFFER`] (0 or missing: that many; the client's reply
/// buffer must hold them, or the call fails with ETOOLONG and the bytes
/// count as dropped); word 1: the most lines (0 or missing: no limit).
/// Whole lines come while they fit; a line longer than word 0 comes in
/// pieces of that size, the last ending in `\n`.
///
/// Reply: the bytes; word 0 = input bytes dropped since the last read (no
/// holder, a line longer than [`MAX_LINE`], a reply the reader could not
/// take); word 1 = bytes of complete lines still waiting after these. An
/// empty reply means no line is ready: wait for [`INPUT_READY`]. Only the
/// holder may read: anyone else gets an ENORIGHTS error reply.
pub const READ: u32 = 17;
/// Notification bit: a complete line waits to be read.
pub const INPUT_READY: u64 = 1 << 0;
/// Notification bit: Ctrl-C was typed. What was typed and not read yet
/// (the line being typed and complete lines) is dropped, as a terminal
/// does, so nothing typed before the Ctrl-C is read after it.
pub const INTERRUPT: u64 = 1 << 1;
/// Holders the console keeps (the current one and those set aside).
pub const MAX_HOLDERS: usize = 4;
/// The longest line, with its `\n`: typed bytes beyond it are dropped
/// (erase and Enter still work).
pub const MAX_LINE: usize = 1024;
/// Bytes of typed input the console keeps (complete lines and the one being
/// typed). When it is full and a holder is attached, the console stops
/// taking bytes from the serial port until a `READ` makes room, so the
/// UART (and QEMU's character device behind it) holds the rest: nothing is
/// lost.
pub const INPUT_CAPACITY: usize = 4096;

use crate::fault::{PageFaultCode, vector_name};
use core::fmt;

/// An exit or fault notice, decoded from its label and words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Notice {
    /// The process it is about.
    pub pid: u64,
    /// The process name's bytes, zero-padded ([`Notice::name`] reads it).
    pub name: [u8; 16],
    /// How many bytes of `name` are the name.
    pub name_len: usize,
    /// How the process ended.
    pub kind: NoticeKind,
}

/// How a process ended, as its notice says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoticeKind {
    /// It called `exit` ([`EXIT`]).
    Exited {
        /// Its exit status.
        status: i64,
    },
    /// A CPU exception killed it ([`FAULT`]).
    Killed {
        /// The exception vector.
        vector: u8,
        /// The error code the CPU pushed (0 if none).
        error_code: u64,
        /// The instruction that faulted.
        rip: u64,
        /// CR2 for a page fault: the address it touched.
        address: u64,
    },
    /// Ended by `process_kill` from process `by` ([`KILLED`]).
    KilledBy {
        /// The pid of the process that killed it.
        by: u64,
        /// Where it was.
        rip: u64,
    },
    /// Killed for using up its CPU time limit of `ticks` ([`LIMIT`]).
    OverLimit {
        /// The limit, in timer ticks.
        ticks: u64,
        /// Where it was running.
        rip: u64,
    },
}

impl Notice {
    /// The words of an exit notice.
    pub fn exit_words(pid: u64, name: &str, status: i64) -> [u64; 6] {
        let [n0, n1] = pack_name(name);
        [pid, status as u64, 0, 0, n0, n1]
    }

    /// The words of a fault notice.
    pub fn fault_words(pid: u64, name: &str, vector: u8, error_code: u64, rip: u64, address: u64) -> [u64; 6] {
        let [n0, n1] = pack_name(name);
        [pid, vector as u64 | error_code << 8, rip, address, n0, n1]
    }

    /// The words of a CPU-limit notice.
    pub fn limit_words(pid: u64, name: &str, ticks: u64, rip: u64) -> [u64; 6] {
        let [n0, n1] = pack_name(name);
        [pid, ticks, rip, 0, n0, n1]
    }

    /// The words of a kill notice.
    pub fn killed_words(pid: u64, name: &str, by: u64, rip: u64) -> [u64; 6] {
        let [n0, n1] = pack_name(name);
        [pid, by, rip, 0, n0, n1]
    }

    /// Decodes a message with label [`EXIT`], [`FAULT`], [`LIMIT`] or
    /// [`KILLED`].
    pub fn decode(label: u32, words: &[u64; 6]) -> Option<Notice> {
        let (name, name_len) = unpack_name([words[WORD_NAME[0]], words[WORD_NAME[1]]]);
        let kind = match label {
            EXIT => NoticeKind::Exited {
                status: words[1] as i64,
            },
            FAULT => NoticeKind::Killed {
                vector: words[1] as u8,
                error_code: words[1] >> 8,
                rip: words[2],
                address: words[3],
            },
            LIMIT => NoticeKind::OverLimit {
                ticks: words[1],
                rip: words[2],
            },
            KILLED => NoticeKind::KilledBy {
                by: words[1],
                rip: words[2],
            },
            _ => return None,
        };
        Some(Notice {
            pid: words[0],
            name,
            name_len,
            kind,
        })
    }

    /// The process name.
    pub fn name(&self) -> &str {
        core::str::from_utf8(&self.name[..self.name_len]).unwrap_or("?")
    }
}

/// The report line: `hello[3] exited with status 0`, or
/// `kread[4] killed: page fault at 0x401020 (read of 0xffff800000000000, user mode, not present)`.
impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}] {}", self.name(), self.pid, self.kind)
    }
}

/// What happened, as the report line says it after the process:
/// `exited with status 0`, `killed: page fault at 0x401020 (...)`.
impl fmt::Display for NoticeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            NoticeKind::Exited { status } => write!(f, "exited with status {status}"),
            NoticeKind::Killed {
                vector,
                error_code,
                rip,
                address,
            } => {
                write!(f, "killed: {} at {rip:#x}", vector_name(vector))?;
                if vector == 14 {
                    let code = PageFaultCode::decode(error_code);
                    write!(f, " ({} of {address:#x}, {})", code.access(), code.cause())
                } else if error_code != 0 {
                    write!(f, " (error code {error_code:#x})")
                } else {
                    Ok(())
                }
            }
            NoticeKind::OverLimit { ticks, rip } => {
                write!(f, "killed: CPU time limit of {ticks} ticks used up at {rip:#x}")
            }
            NoticeKind::KilledBy { by, rip } => write!(f, "killed by process {by} at {rip:#x}"),
        }
    }
}

/// What a forwarded `write` returns, given word 0 of the console's reply
/// and the number of bytes sent: the count written, never more than was
/// sent. The console may refuse with EINVAL (a file descriptor it does not
/// serve); any other error it answers is EPEERGONE (the console
/// misbehaved), so `write` returns only the errors of its ABI entry.
pub const fn write_result(reply: u64, sent: usize) -> Result<u64, crate::Error> {
    match crate::Error::decode(reply) {
        Ok(count) if count < sent as u64 => Ok(count),
        Ok(_) => Ok(sent as u64),
        Err(code) if code == crate::Error::INVAL as u64 => Err(crate::Error::INVAL),
        Err(_) => Err(crate::Error::PEERGONE),
    }
}

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
    use crate::Error;

    #[test]
    fn write_results_stay_within_the_write_entry() {
        assert_eq!(write_result(64, 64), Ok(64));
        assert_eq!(write_result(10, 64), Ok(10));
        assert_eq!(write_result(1 << 40, 64), Ok(64));
        assert_eq!(write_result(Error::INVAL.to_return(), 64), Err(Error::INVAL));
        for error in Error::ALL.iter().filter(|&&e| e != Error::INVAL) {
            assert_eq!(write_result(error.to_return(), 64), Err(Error::PEERGONE), "{error:?}");
        }
        assert_eq!(write_result(u64::MAX - 4000, 64), Err(Error::PEERGONE));
        let write = crate::syscall::SYSCALLS.iter().find(|d| d.name == "write").unwrap();
        for reply in [Error::INVAL.to_return(), Error::NOMEM.to_return(), 0, 65] {
            if let Err(error) = write_result(reply, 64) {
                assert!(write.errors.contains(&error), "{error:?} is not in write's entry");
            }
        }
    }

    #[test]
    fn notices_print_one_line() {
        let exit = Notice::decode(EXIT, &Notice::exit_words(3, "hello", 0)).unwrap();
        assert_eq!(std::format!("{exit}"), "hello[3] exited with status 0");
        let exit = Notice::decode(EXIT, &Notice::exit_words(4, "oops", -1)).unwrap();
        assert_eq!(std::format!("{exit}"), "oops[4] exited with status -1");
        let words = Notice::fault_words(5, "kread", 14, 0b101, 0x40_1020, 0xffff_8000_0000_0000);
        let fault = Notice::decode(FAULT, &words).unwrap();
        assert_eq!(
            std::format!("{fault}"),
            "kread[5] killed: page fault at 0x401020 (read of 0xffff800000000000, protection violation)"
        );
        let words = Notice::fault_words(6, "gp", 13, 0, 0x40_1000, 0);
        assert_eq!(
            std::format!("{}", Notice::decode(FAULT, &words).unwrap()),
            "gp[6] killed: general protection fault at 0x401000"
        );
        assert_eq!(Notice::decode(WRITE, &words), None);
        let words = Notice::limit_words(7, "hog", 50, 0x20_1000);
        assert_eq!(
            std::format!("{}", Notice::decode(LIMIT, &words).unwrap()),
            "hog[7] killed: CPU time limit of 50 ticks used up at 0x201000"
        );
        let words = Notice::killed_words(8, "spin", 2, 0x20_1004);
        assert_eq!(
            std::format!("{}", Notice::decode(KILLED, &words).unwrap()),
            "spin[8] killed by process 2 at 0x201004"
        );
    }

    #[test]
    fn names_round_trip() {
        for name in ["", "a", "hello", "exactly16bytes!!", "longer-than-sixteen"] {
            let (bytes, len) = unpack_name(pack_name(name));
            let expected = &name.as_bytes()[..name.len().min(16)];
            assert_eq!(&bytes[..len], expected);
        }
    }
}
