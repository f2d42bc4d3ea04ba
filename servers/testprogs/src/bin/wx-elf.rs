//! wx-elf: an ordinary program linked (by `build.rs`) into one segment that
//! is both writable and executable. The kernel's ELF checks must refuse to
//! start it; if it ever runs, it says so.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

libsys::entry!(main);

fn main() -> i32 {
    libsys::println!("a writable and executable image was started");
    1
}
