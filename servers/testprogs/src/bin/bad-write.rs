//! bad-write: `write` with buffers the kernel must refuse with EFAULT (kernel,
//! non-canonical, unmapped and null addresses, a wrapping length, ranges
//! running off the end of mapped memory) and with a bad fd (EINVAL), then a
//! normal write that must still work. Exit status 0 if every answer was right.

#![no_std]
#![no_main]

use libsys::Error;
use libsys::abi::{PAGE_SIZE, Syscall};
use testprogs::Outcome;

libsys::entry!(main);

unsafe extern "C" {
    /// The end of the program image (the linker defines it): the page after
    /// it is not mapped.
    static _end: u8;
}

/// Top of the user stack: the page from here up is never mapped.
const STACK_TOP: u64 = libsys::abi::USER_END;

fn raw_write(fd: u64, buffer: u64, len: u64) -> Outcome {
    // SAFETY: deliberately bad arguments; the kernel only reads from `buffer`
    // (if at all), so nothing in this program can be harmed.
    Outcome(unsafe { libsys::raw::syscall3(Syscall::Write as u64, fd, buffer, len) })
}

fn main() -> i32 {
    let valid = [b'x'; 32];
    let image_end = (&raw const _end) as u64;
    let after_image = image_end.next_multiple_of(PAGE_SIZE);
    let cases: [(&str, u64, u64); 7] = [
        ("kernel address 0xffff800000001000", 0xffff_8000_0000_1000, 16),
        ("non-canonical 0x8000000000000000", 0x8000_0000_0000_0000, 16),
        ("unmapped 0x1000000000", 0x10_0000_0000, 16),
        ("null with length 10", 0, 10),
        ("wrapping length", valid.as_ptr() as u64, u64::MAX - 0x10),
        ("straddling the stack top", STACK_TOP - 0x10, 0x20),
        ("straddling the image end", after_image - 0x10, 0x20),
    ];
    let mut wrong = 0;
    for (what, buffer, len) in cases {
        let outcome = raw_write(1, buffer, len);
        libsys::println!("bad-write: {what}: {outcome}");
        if outcome.error() != Some(Error::FAULT) {
            wrong += 1;
        }
    }
    let outcome = raw_write(3, valid.as_ptr() as u64, 4);
    libsys::println!("bad-write: fd 3: {outcome}");
    if outcome.error() != Some(Error::INVAL) {
        wrong += 1;
    }
    let line = b"bad-write: a normal write still works\n";
    let outcome = raw_write(1, line.as_ptr() as u64, line.len() as u64);
    if outcome != Outcome(line.len() as u64) {
        libsys::println!("bad-write: the normal write returned {outcome}");
        wrong += 1;
    }
    libsys::println!("bad-write: {wrong} wrong answers");
    if wrong == 0 { 0 } else { 1 }
}
