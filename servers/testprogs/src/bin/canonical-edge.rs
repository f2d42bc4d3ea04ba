//! canonical-edge: jumps to 0x7fff_ffff_fffe, two bytes below the canonical
//! boundary, where a `syscall` would return to a non-canonical address. The
//! page is never mapped, so the program must die of an instruction-fetch page
//! fault there, and the kernel must never try a `sysretq` to 0x8000_0000_0000.

#![no_std]
#![no_main]

libsys::entry!(main);

const EDGE: u64 = 0x7fff_ffff_fffe;

fn main() {
    libsys::println!("jumping to {EDGE:#x}");
    // SAFETY: deliberately jumps to an unmapped address; the program exists
    // to be killed there and nothing after this runs.
    unsafe { core::arch::asm!("jmp {target}", target = in(reg) EDGE, options(noreturn)) }
}
