//! stack-exec: copies a `ret` instruction onto its stack and calls it. The
//! stack is mapped no-execute, so the call must end in a page fault on the
//! instruction fetch at that address (protection violation: the page is
//! present, only not executable). It reports the address first
//! (`target=0x...`); reporting `returned=` would mean the stack runs code.

#![no_std]
#![no_main]

libsys::entry!(main);

/// `ret`.
const RET: u8 = 0xc3;

fn main() -> i32 {
    let mut code = [RET; 16];
    let code = core::hint::black_box(&mut code);
    let address = code.as_ptr() as u64;
    libsys::results::report("target", format_args!("{address:#x}"));
    // SAFETY: deliberately unsound: calls into stack memory, which must be
    // no-execute; if it did run, the `ret` would return here with every
    // register the C ABI lets a call clobber marked clobbered.
    unsafe { core::arch::asm!("call {target}", target = in(reg) address, clobber_abi("C")) };
    libsys::results::report("returned", "ret on the stack");
    1
}
