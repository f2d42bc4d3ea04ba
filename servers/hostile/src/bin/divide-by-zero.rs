//! divide-by-zero: divides by zero with a `div` instruction (in assembly,
//! so the compiler cannot refuse or remove it). The CPU raises a divide
//! error at that instruction (it reports `at=0x...` first), which must kill
//! the program; reporting `quotient=` would mean it did not.

#![no_std]
#![no_main]

libsys::entry!(main);

core::arch::global_asm!(
    ".pushsection .text.divide, \"ax\"",
    ".global divide_by_zero, divide_by_zero_at",
    // Returns 1 / 0.
    "divide_by_zero:",
    "    mov eax, 1",
    "    xor edx, edx",
    "    xor ecx, ecx",
    "divide_by_zero_at:",
    "    div ecx",
    "    ret",
    ".popsection",
);

unsafe extern "C" {
    fn divide_by_zero() -> u32;
    fn divide_by_zero_at();
}

fn main() -> i32 {
    let at = divide_by_zero_at as unsafe extern "C" fn() as usize;
    libsys::results::report("at", format_args!("{at:#x}"));
    // SAFETY: deliberate: the division by zero raises #DE before it returns;
    // the function touches only RAX, RCX and RDX, all caller-saved.
    let quotient = unsafe { divide_by_zero() };
    libsys::results::report("quotient", quotient);
    1
}
