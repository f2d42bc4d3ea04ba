//! kernel-jump: jumps into the kernel's text (0xffff_ffff_8011_0000) from
//! ring 3. The page is present but supervisor-only, so the very fetch must
//! fail: a page fault, execute of that address, protection violation.
//! Running the kernel's code with ring-3 privileges would be harmless to the
//! CPU but must still never happen: it is how gadgets are found.

#![no_std]
#![no_main]

libsys::entry!(main);

/// Inside the kernel's executable segment (the same address `kwrite` of
/// testprogs writes to; `tests/tests/syscalls.rs` checks it is text).
const KERNEL_TEXT: u64 = 0xffff_ffff_8011_0000;

fn main() {
    libsys::println!("kernel-jump: jumping to {KERNEL_TEXT:#x}");
    // SAFETY: deliberately jumps into kernel memory; the program exists to be
    // killed by the instruction fetch, and nothing after this runs.
    unsafe { core::arch::asm!("jmp {target}", target = in(reg) KERNEL_TEXT, options(noreturn)) }
}
