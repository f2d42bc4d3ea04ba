//! The echo server's interface, declared once for the server
//! (`src/main.rs`) and its clients ([`protocol::Client`]).
//!
//! ```no_run
//! let echo = echo::protocol::Client::new(1); // handle 1: SEND to echo
//! assert_eq!(echo.ping(7), Ok(7));
//! let (words, bytes) = echo.echo([1, 2, 3, 4, 5, 6], b"hello")?;
//! assert_eq!((words, &bytes[..]), ([1, 2, 3, 4, 5, 6], &b"hello"[..]));
//! # Ok::<(), libsys::Error>(())
//! ```

#![no_std]
#![forbid(unsafe_code)]

use libsys::interface::Bytes;

/// Bytes the `echo` operation carries at most, each way.
pub const MAX_ECHO: usize = 256;

libsys::interface! {
    /// What the echo server does: send back what it gets.
    pub mod protocol {
        /// Returns `value`.
        fn ping(value: u64) -> u64 = 1;
        /// Returns `words` and `data` (at most [`MAX_ECHO`] bytes).
        fn echo(words: [u64; 6], data: &[u8]) -> ([u64; 6], Bytes<MAX_ECHO>) = 2;
        /// How many `ping` and `echo` requests the server has answered.
        fn served() -> u64 = 3;
        /// Makes the server exit without replying: the call ends with
        /// EPEERGONE (tests use it to see what happens to the callers of a
        /// server that died).
        fn stop() = 4;
    }
}
