//! kwrite: writes into the kernel's text from ring 3. The page is present
//! but supervisor-only, so the kernel must kill it with a protection-violation
//! page fault; reaching the second line would be a hole.
//!
//! The address is 64 KiB into the kernel image, past the PVH note and boot
//! trampoline (which are linked at their physical addresses and never mapped
//! at -2 GiB): the system test checks against the kernel ELF that it still
//! lies in the kernel's executable segment.

#![no_std]
#![no_main]

libsys::entry!(main);

/// Kept equal to `KERNEL_TEXT` in `tests/tests/syscalls.rs`.
const KERNEL_TEXT: u64 = 0xffff_ffff_8011_0000;

fn main() -> i32 {
    libsys::println!("writing {KERNEL_TEXT:#x}");
    // SAFETY: deliberately unsound: this program exists to fault on a kernel
    // address.
    unsafe { core::ptr::write_volatile(KERNEL_TEXT as *mut u64, 0xdead_beef) };
    libsys::println!("wrote kernel text: the kernel is exposed");
    1
}
