//! enosys: calls syscall numbers the kernel does not know
//! (`testspec::UNKNOWN_SYSCALLS`) and reports what each returned
//! (`syscall.0x15=ENOSYS`) and how many were refused with ENOSYS
//! (`refused=4`). Exit status 0 if all were.

#![no_std]
#![no_main]

use libsys::Error;
use libsys::results::report;
use testprogs::Outcome;
use testspec::UNKNOWN_SYSCALLS;

libsys::entry!(main);

fn main() -> i32 {
    let mut refused = 0;
    for number in UNKNOWN_SYSCALLS {
        // SAFETY: deliberately an unknown syscall number with zero arguments:
        // the kernel must touch nothing.
        let outcome = Outcome(unsafe { libsys::raw::syscall0(number) });
        report(format_args!("syscall.{number:#x}"), outcome);
        if outcome.error() == Some(Error::NOSYS) {
            refused += 1;
        }
    }
    report("refused", refused);
    if refused == UNKNOWN_SYSCALLS.len() { 0 } else { 1 }
}
