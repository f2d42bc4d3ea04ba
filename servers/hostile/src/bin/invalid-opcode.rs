//! invalid-opcode: executes `ud2`, the instruction defined to be invalid.
//! The CPU raises an invalid-opcode exception at it (it reports `at=0x...`
//! first), which must kill the program.

#![no_std]
#![no_main]

libsys::entry!(main);

core::arch::global_asm!(
    ".pushsection .text.invalid, \"ax\"",
    ".global invalid_opcode",
    "invalid_opcode:",
    "    ud2",
    "    ret",
    ".popsection",
);

unsafe extern "C" {
    fn invalid_opcode();
}

fn main() -> i32 {
    let at = invalid_opcode as unsafe extern "C" fn() as usize;
    libsys::results::report("at", format_args!("{at:#x}"));
    // SAFETY: deliberate: `ud2` raises #UD; the function changes no register.
    unsafe { invalid_opcode() };
    libsys::results::report("returned", "ud2");
    1
}
