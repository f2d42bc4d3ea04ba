//! int80: prints through `write` and ends through `exit`, both reached only by
//! `int 0x80` (never the `syscall` instruction), and checks the count the
//! write returned. Exit status 0 if it was the whole line.

#![no_std]
#![no_main]

use core::fmt::Write;
use libsys::abi::Syscall;
use libsys::raw::int80_syscall3;
use testprogs::Line;

libsys::entry!(main);

const GREETING: &[u8] = b"hello through int 0x80\n";

fn write(bytes: &[u8]) -> u64 {
    // SAFETY: deliberately a raw `int 0x80` syscall; the kernel only reads
    // `bytes`, which is valid for its length.
    unsafe { int80_syscall3(Syscall::Write as u64, 1, bytes.as_ptr() as u64, bytes.len() as u64) }
}

fn main() {
    let written = write(GREETING);
    let mut report = Line::new();
    let _ = writeln!(report, "int 0x80 write returned {written} of {} bytes", GREETING.len());
    write(report.as_bytes());
    let status = if written == GREETING.len() as u64 { 0 } else { 1 };
    // SAFETY: `exit` takes an integer and does not return.
    unsafe { int80_syscall3(Syscall::Exit as u64, status, 0, 0) };
    unreachable!("exit through int 0x80 returned");
}
