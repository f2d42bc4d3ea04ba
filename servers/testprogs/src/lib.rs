//! What the test programs share: naming syscall outcomes the way the system
//! tests read them (`EFAULT`, `ok 5`), and a fixed line buffer for programs
//! that format text without `println!`.
//!
//! Each binary in `src/bin/` is one ring-3 program; the tests in
//! `tests/tests/` boot it in a scenario and judge its exit status and the
//! `key=value` lines it reports (`libsys::results`, read back with
//! `abi::results`). What a program and its test agree on (addresses, text
//! sent through the kernel) is in the `testspec` crate.

#![no_std]

use core::fmt;
use libsys::Error;

/// A raw RAX value after a syscall, shown as the test expects it: the ABI
/// error name (`EFAULT`) or `ok <value>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome(pub u64);

impl Outcome {
    /// The ABI error in RAX, if it holds one.
    pub fn error(self) -> Option<Error> {
        Error::decode(self.0).err().and_then(Error::from_code)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Error::decode(self.0) {
            Ok(value) => write!(f, "ok {value}"),
            Err(code) => match Error::from_code(code) {
                Some(error) => f.write_str(error.name()),
                None => write!(f, "unknown error {code}"),
            },
        }
    }
}

/// The name of a libsys result: `ok` or the error's name (`ENORIGHTS`).
pub fn result_name<T>(result: &libsys::Result<T>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(error) => error.name(),
    }
}

/// One line of text formatted into a fixed buffer (longer text is cut).
pub struct Line {
    bytes: [u8; 160],
    len: usize,
}

impl Line {
    pub const fn new() -> Line {
        Line {
            bytes: [0; 160],
            len: 0,
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl Default for Line {
    fn default() -> Self {
        Line::new()
    }
}

impl fmt::Write for Line {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let take = text.len().min(self.bytes.len() - self.len);
        self.bytes[self.len..self.len + take].copy_from_slice(&text.as_bytes()[..take]);
        self.len += take;
        Ok(())
    }
}

/// The protocol of `refusing-server`: each label asks for a reply that
/// cannot be delivered in another way.
pub mod refusals {
    /// Replies with 128 bytes (the client offers room for fewer).
    pub const TOO_LONG_FOR_CLIENT: u32 = 1;
    /// Replies passing a handle without the TRANSFER right (ENORIGHTS).
    pub const HANDLE_WITHOUT_TRANSFER: u32 = 2;
    /// Replies with more bytes than the server's buffer holds.
    pub const BEYOND_THE_BUFFER: u32 = 3;
    /// Replies with word 0 = 42.
    pub const FINE: u32 = 4;
    /// Replies with word 0 = how many replies were refused so far.
    pub const REFUSED_COUNT: u32 = 5;
    /// Bytes the client offers room for.
    pub const CLIENT_ROOM: usize = 64;
}
