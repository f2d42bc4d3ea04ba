//! The syscall trace: fixed-size binary records the kernel writes to a
//! channel separate from the console (QEMU's `isa-debugcon` at
//! [`TRACE_PORT`]) when booted with `trace` on its command line, and that host
//! tools decode with this module and the syscall table.
//!
//! A trace starts with a `Header` record ([`Record::header`]) that names the
//! ABI version of the kernel that wrote it. A syscall produces an `Enter`
//! record when it starts (arguments), possibly a `Data` record (the first
//! bytes of the buffer it sends), and an `Exit` record when its thread next
//! returns to user mode (result and output registers) — for a blocking call
//! that may be much later, after other threads' records. `Fault`, `Start`
//! and `End` records mark process events; `Switch` records mark the CPU
//! changing threads.
//!
//! [`Reader`] splits a trace file into records and reports damaged input
//! (bytes that are not records, unknown kinds, a cut-off last record, a
//! missing header) as [`ReadError`]s; it refuses a trace written for an ABI
//! major version it does not know. With the `std` feature, `Trace` pairs
//! the records into syscalls and process events, `format` prints them
//! strace-style, and `TraceWriter` writes traces (for tests and tools).
//!
//! ```
//! use abi::trace::{Reader, Record, RecordKind};
//!
//! let mut bytes = Record::header().to_bytes().to_vec();
//! bytes.extend_from_slice(&Record::new(RecordKind::Start, 3).to_bytes());
//! bytes.extend_from_slice(&[0x5c, 0x7a, 1]); // a cut-off record
//! let results: Vec<_> = Reader::new(&bytes).collect();
//! assert_eq!(results.len(), 3);
//! assert_eq!(results[0].as_ref().unwrap().kind(), Some(RecordKind::Header));
//! assert_eq!(results[1].as_ref().unwrap().pid, 3);
//! assert!(results[2].is_err());
//! ```

mod reader;
mod record;

#[cfg(feature = "std")]
mod events;
#[cfg(feature = "std")]
pub mod format;
#[cfg(feature = "std")]
mod writer;

pub use reader::{ReadError, Reader};
pub use record::{DATA_BYTES, HEADER_MAGIC, MAGIC, RECORD_SIZE, REGS, Record, RecordKind, TRACE_PORT};

#[cfg(feature = "std")]
pub use events::{Call, Ending, Event, EventKind, Trace, Unfinished};
#[cfg(feature = "std")]
pub use writer::{SAMPLE_WRITE, TraceWriter};
