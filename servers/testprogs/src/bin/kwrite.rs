//! kwrite: writes into the kernel's text (`testspec::KERNEL_TEXT`) from
//! ring 3, after reporting `target=0x...`. The page is present but
//! supervisor-only, so the kernel must kill it with a protection-violation
//! page fault; reporting `wrote=` would be a hole.

#![no_std]
#![no_main]

use libsys::results::report;
use testspec::KERNEL_TEXT;

libsys::entry!(main);

fn main() -> i32 {
    report("target", format_args!("{KERNEL_TEXT:#x}"));
    // SAFETY: deliberately unsound: this program exists to fault on a kernel
    // address.
    unsafe { core::ptr::write_volatile(KERNEL_TEXT as *mut u64, 0xdead_beef) };
    report("wrote", format_args!("{KERNEL_TEXT:#x}"));
    1
}
