//! floating-point: executes an x87 instruction (`fld1`). The kernel does not
//! save FPU state, so it keeps the FPU off (CR0.EM): the instruction raises
//! device-not-available, and the program is killed instead of seeing another
//! program's registers. It reports the instruction's address first
//! (`at=0x...`); reporting `returned=` would mean the FPU is on.

#![no_std]
#![no_main]

libsys::entry!(main);

core::arch::global_asm!(
    ".pushsection .text.floating, \"ax\"",
    ".global floating_point",
    // Pushes 1.0 and pops it again: no effect if it ever ran.
    "floating_point:",
    "    fld1",
    "    fstp st(0)",
    "    ret",
    ".popsection",
);

unsafe extern "C" {
    fn floating_point();
}

fn main() -> i32 {
    let at = floating_point as unsafe extern "C" fn() as usize;
    libsys::results::report("at", format_args!("{at:#x}"));
    // SAFETY: deliberate: the x87 instruction faults with the FPU off; had it
    // run, the x87 stack is left as it was.
    unsafe { floating_point() };
    libsys::results::report("returned", "fld1");
    1
}
