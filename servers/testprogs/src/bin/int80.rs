//! int80: writes `greeting=` (`testspec::int80::GREETING`) and ends through
//! `exit`, both reached only by `int 0x80` (never the `syscall`
//! instruction), and reports the count the write returned (`written=N`)
//! and the length of the line (`sent=N`), also through `int 0x80`. Exit
//! status 0 if it was the whole line.

#![no_std]
#![no_main]

use core::fmt::Write;
use libsys::abi::Syscall;
use libsys::raw::int80_syscall3;
use testprogs::Line;
use testspec::int80::GREETING;

libsys::entry!(main);

fn write(bytes: &[u8]) -> u64 {
    // SAFETY: deliberately a raw `int 0x80` syscall; the kernel only reads
    // `bytes`, which is valid for its length.
    unsafe { int80_syscall3(Syscall::Write as u64, 1, bytes.as_ptr() as u64, bytes.len() as u64) }
}

fn main() {
    let mut greeting = Line::new();
    let _ = writeln!(greeting, "greeting={GREETING}");
    let sent = greeting.as_bytes().len() as u64;
    let written = write(greeting.as_bytes());
    let mut report = Line::new();
    let _ = writeln!(report, "written={written}\nsent={sent}");
    write(report.as_bytes());
    let status = if written == sent { 0 } else { 1 };
    // SAFETY: `exit` takes an integer and does not return.
    unsafe { int80_syscall3(Syscall::Exit as u64, status, 0, 0) };
    unreachable!("exit through int 0x80 returned");
}
