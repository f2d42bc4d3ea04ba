//! canonical-edge: jumps to `testspec::CANONICAL_EDGE`, two bytes below the
//! canonical boundary, where a `syscall` would return to a non-canonical
//! address (it reports `target=0x...` first). The page is never mapped, so
//! the program must die of an instruction-fetch page fault there, and the
//! kernel must never try a `sysretq` to 0x8000_0000_0000.

#![no_std]
#![no_main]

use testspec::CANONICAL_EDGE;

libsys::entry!(main);

fn main() {
    libsys::results::report("target", format_args!("{CANONICAL_EDGE:#x}"));
    // SAFETY: deliberately jumps to an unmapped address; the program exists
    // to be killed there and nothing after this runs.
    unsafe { core::arch::asm!("jmp {target}", target = in(reg) CANONICAL_EDGE, options(noreturn)) }
}
