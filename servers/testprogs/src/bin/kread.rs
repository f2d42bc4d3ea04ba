//! kread: reads the first word of the kernel's direct map
//! (`testspec::KERNEL_DIRECT_MAP`) from ring 3, after reporting
//! `target=0x...`. The page is present but supervisor-only, so the kernel
//! must kill it with a protection-violation page fault; reporting `read=`
//! would be a hole.

#![no_std]
#![no_main]

use libsys::results::report;
use testspec::KERNEL_DIRECT_MAP;

libsys::entry!(main);

fn main() -> i32 {
    report("target", format_args!("{KERNEL_DIRECT_MAP:#x}"));
    // SAFETY: deliberately unsound: this program exists to fault on a kernel
    // address.
    let value = unsafe { core::ptr::read_volatile(KERNEL_DIRECT_MAP as *const u64) };
    report("read", format_args!("{value:#x}"));
    1
}
