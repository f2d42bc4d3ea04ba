//! kernel-jump: jumps into the kernel's text (`testspec::KERNEL_TEXT`) from
//! ring 3, after reporting `target=0x...`. The page is present but
//! supervisor-only, so the very fetch must fail: a page fault, execute of
//! that address, protection violation.
//! Running the kernel's code with ring-3 privileges would be harmless to the
//! CPU but must still never happen: it is how gadgets are found.

#![no_std]
#![no_main]

use testspec::KERNEL_TEXT;

libsys::entry!(main);

fn main() {
    libsys::results::report("target", format_args!("{KERNEL_TEXT:#x}"));
    // SAFETY: deliberately jumps into kernel memory; the program exists to be
    // killed by the instruction fetch, and nothing after this runs.
    unsafe { core::arch::asm!("jmp {target}", target = in(reg) KERNEL_TEXT, options(noreturn)) }
}
