//! hello: the smallest program. Prints a greeting through `write` (which the
//! kernel forwards to the console server) and exits with status 0.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

libsys::entry!(main);

fn main() {
    libsys::println!("Hello from ring 3! I am process {}.", libsys::get_pid());
}
