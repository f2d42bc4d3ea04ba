//! faulty: reports what it reads (`reading=0x0`), then dereferences a null
//! pointer. The kernel kills it and the console server reports the page
//! fault; everyone else goes on.

#![no_std]
#![no_main]

libsys::entry!(main);

fn main() {
    libsys::results::report("reading", "0x0");
    // SAFETY: deliberately unsound: this program exists to fault.
    let value = unsafe { core::ptr::read_volatile(core::ptr::null::<u64>()) };
    libsys::results::report("read", value);
}
