//! bad-write: `write` with buffers the kernel must refuse with EFAULT
//! (`testspec::bad_write`: kernel, non-canonical, unmapped and null
//! addresses, a wrapping length, ranges running off the end of mapped
//! memory) and with a bad fd (EINVAL), then a normal write that must still
//! work. Reports `write.CASE=RESULT` for each, `write.bad_fd=RESULT`,
//! `write.normal=RESULT` and `wrong=N`. Exit status 0 if every answer was
//! right.

#![no_std]
#![no_main]

use libsys::Error;
use libsys::abi::{PAGE_SIZE, Syscall};
use libsys::results::report;
use testprogs::Outcome;
use testspec::bad_write::{Buffer, EFAULT_CASES, KERNEL_ADDRESS, NON_CANONICAL, UNMAPPED};

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
    let mut wrong = 0;
    for (name, buffer) in EFAULT_CASES {
        let (address, len) = match buffer {
            Buffer::KernelAddress => (KERNEL_ADDRESS, 16),
            Buffer::NonCanonical => (NON_CANONICAL, 16),
            Buffer::Unmapped => (UNMAPPED, 16),
            Buffer::Null => (0, 10),
            Buffer::WrappingLength => (valid.as_ptr() as u64, u64::MAX - 0x10),
            Buffer::StackTop => (STACK_TOP - 0x10, 0x20),
            Buffer::ImageEnd => (after_image - 0x10, 0x20),
        };
        let outcome = raw_write(1, address, len);
        report(format_args!("write.{name}"), outcome);
        if outcome.error() != Some(Error::FAULT) {
            wrong += 1;
        }
    }
    let outcome = raw_write(3, valid.as_ptr() as u64, 4);
    report("write.bad_fd", outcome);
    if outcome.error() != Some(Error::INVAL) {
        wrong += 1;
    }
    let line = b"write.normal_line=a normal write still works\n";
    let outcome = raw_write(1, line.as_ptr() as u64, line.len() as u64);
    report("write.normal", outcome);
    if outcome != Outcome(line.len() as u64) {
        wrong += 1;
    }
    report("wrong", wrong);
    if wrong == 0 { 0 } else { 1 }
}
