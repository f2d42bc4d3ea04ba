//! libsys: the user-side runtime of the microkernel.
//!
//! Raw `syscall` wrappers ([`raw`]), safe wrappers for every syscall
//! ([`sys`], [`ipc`]), the program entry point and panic handler ([`rt`]),
//! `print!`/`println!` and typed input ([`io`]), `key=value` results for
//! tests to read ([`results`]), a server loop ([`server`]), typed IPC
//! interfaces ([`interface!`]) and the console's line discipline
//! ([`line`](mod@line)). A program is one short file that starts with
//! `#![no_std]` and `#![no_main]` (left out here, where the example is
//! compiled for the host):
//!
//! ```no_run
//! libsys::entry!(main);
//!
//! fn main() {
//!     libsys::println!("Hello from ring 3");
//! }
//! ```
//!
//! `main` may also return an exit status (`i32`) or a `Result`
//! ([`rt::Termination`]). A server implements [`server::Server`] and calls
//! [`server::serve`], or declares its protocol with [`interface!`] and
//! implements the generated `Server` trait; its clients use the generated
//! `Client`.
//!
//! With the `alloc` feature a program also gets a heap (`heap`, on the
//! kernel's `mem_map`): `extern crate alloc;` and `alloc`'s collections work.
//!
//! Everything here is safe to call but the two calls that take memory away
//! from under a program (`mem_unmap`, `mem_protect`): the rest of the
//! `unsafe` lives in [`raw`], [`rt`] and [`port`]. The crate also builds on the host (for its tests and doc
//! examples); there the raw layer cannot reach a kernel and panics if
//! called (unless a test installed a hook, [`raw::host`]), so examples that
//! would make a syscall are compiled, not run.

#![cfg_attr(not(test), no_std)]
#![warn(missing_docs)]

#[cfg(all(feature = "alloc", target_os = "none"))]
pub mod heap;
pub mod interface;
pub mod io;
pub mod ipc;
pub mod line;
pub mod port;
pub mod process;
pub mod raw;
pub mod results;
pub mod rt;
pub mod server;
pub mod sync;
pub mod sys;
#[cfg(feature = "alloc")]
pub mod thread;
pub mod time;

pub use abi::{self, Error, Handle, MsgInfo, Rights};
pub use ipc::{Msg, Received};
pub use process::{Child, Notification};
pub use rt::{arg, args};
pub use sys::*;

/// Result of a syscall.
pub type Result<T> = core::result::Result<T, Error>;

/// Decodes RAX after a syscall into a value or an ABI error.
pub fn decode(rax: u64) -> Result<u64> {
    match Error::decode(rax) {
        Ok(value) => Ok(value),
        // The kernel returns only errors of the ABI; anything else means the
        // kernel and this program disagree on it.
        Err(code) => Err(Error::from_code(code).unwrap_or(Error::INVAL)),
    }
}
