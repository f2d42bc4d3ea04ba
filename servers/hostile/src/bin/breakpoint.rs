//! breakpoint: executes `int3`. The kernel lets ring 3 raise the breakpoint
//! vector (its gate has DPL 3) and kills the program for it, reporting a
//! breakpoint (not a protection fault) at the instruction after the `int3`,
//! as the CPU does for a trap. It reports that address first
//! (`trap_returns_to=0x...`); reporting `returned=` would mean no
//! breakpoint exception came.

#![no_std]
#![no_main]

libsys::entry!(main);

core::arch::global_asm!(
    ".pushsection .text.breakpoint, \"ax\"",
    ".global breakpoint, breakpoint_after",
    "breakpoint:",
    "    int3",
    "breakpoint_after:",
    "    ret",
    ".popsection",
);

unsafe extern "C" {
    fn breakpoint();
    fn breakpoint_after();
}

fn main() -> i32 {
    let after = breakpoint_after as unsafe extern "C" fn() as usize;
    libsys::results::report("trap_returns_to", format_args!("{after:#x}"));
    // SAFETY: deliberate: `int3` traps; the function changes no register.
    unsafe { breakpoint() };
    libsys::results::report("returned", "int3");
    1
}
