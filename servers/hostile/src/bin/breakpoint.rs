//! breakpoint: executes `int3`. The kernel lets ring 3 raise the breakpoint
//! vector (its gate has DPL 3) and kills the program for it, reporting a
//! breakpoint (not a protection fault) at the instruction after the `int3`,
//! as the CPU does for a trap.

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
    libsys::println!("breakpoint: int3, the trap returns to {after:#x}");
    // SAFETY: deliberate: `int3` traps; the function changes no register.
    unsafe { breakpoint() };
    libsys::println!("breakpoint: int3 returned: no breakpoint exception");
    1
}
