//! invalid-opcode: executes `ud2`, the instruction defined to be invalid.
//! The CPU raises an invalid-opcode exception at it, which must kill the
//! program.

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
    libsys::println!("invalid-opcode: ud2 at {at:#x}");
    // SAFETY: deliberate: `ud2` raises #UD; the function changes no register.
    unsafe { invalid_opcode() };
    libsys::println!("invalid-opcode: ud2 returned: no invalid-opcode exception");
    1
}
