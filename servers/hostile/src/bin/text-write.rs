//! text-write: writes into its own code. The kernel maps `.text` read-only
//! and executable (W^X), so the write must end in a page fault: write of
//! that address, protection violation. Surviving it would let a program
//! rewrite itself, and W^X would mean nothing. It reports the address first
//! (`target=0x...`); reporting `wrote=` would mean W^X is broken.

#![no_std]
#![no_main]

libsys::entry!(main);

/// `int3`, what would be written over the first byte of `main`.
const INT3: u8 = 0xcc;

fn main() -> i32 {
    let target = main as fn() -> i32 as usize;
    libsys::results::report("target", format_args!("{target:#x}"));
    // SAFETY: deliberately unsound: writes into this program's own text,
    // which is mapped read-only; the write must fault before it lands.
    unsafe { core::ptr::write_volatile(target as *mut u8, INT3) };
    libsys::results::report("wrote", format_args!("{target:#x}"));
    1
}
