//! enosys: calls syscall numbers the kernel does not know (just past the
//! table, a small number, one above 32 bits, and all ones) and checks each
//! returns ENOSYS. Exit status 0 if all did.

#![no_std]
#![no_main]

use libsys::Error;
use libsys::abi::syscall::SYSCALLS;
use testprogs::Outcome;

libsys::entry!(main);

fn main() -> i32 {
    let numbers = [SYSCALLS.len() as u64, 999, 1 << 32, u64::MAX];
    let mut refused = 0;
    for number in numbers {
        // SAFETY: deliberately an unknown syscall number with zero arguments:
        // the kernel must touch nothing.
        let outcome = Outcome(unsafe { libsys::raw::syscall0(number) });
        libsys::println!("syscall {number:#x}: {outcome}");
        if outcome.error() == Some(Error::NOSYS) {
            refused += 1;
        }
    }
    if refused == numbers.len() {
        libsys::println!("enosys: all {refused} unknown numbers returned ENOSYS");
        0
    } else {
        libsys::println!(
            "enosys: only {refused} of {} unknown numbers returned ENOSYS",
            numbers.len()
        );
        1
    }
}
