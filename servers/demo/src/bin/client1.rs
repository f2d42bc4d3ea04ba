//! client1: one of the demo's concurrent printers.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

libsys::entry!(main);

fn main() {
    demo::count(5);
}
