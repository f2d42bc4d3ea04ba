//! newline-writer: pushes work onto the console. It sends `write`s of
//! `bytes=` newlines (4096 by default, the most one `write` carries) in a
//! loop that never ends; the console prints each newline as a line of its
//! own, prefixed with the writer's name, so one write is worth about
//! fifteen times its size in serial output. The console bounds what one
//! `write` makes it print and replies with the count it took (the rest
//! comes in the next call), and the kernel charges the writer, which has a
//! `cpu_limit`, for the console's time on its behalf: its limit must end
//! it, and the console must not be charged.
//!
//! Reports `bytes=N` and, after its first write, `first_write=N` (the count
//! the console took) and `first_error=` when a write fails (it stops then
//! and exits 1); nothing else, since what it prints is its weapon.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use hostile::{number_arg, report};
use libsys::abi::message::MAX_BUFFER;

libsys::entry!(main);

fn main() -> i32 {
    let bytes = (number_arg("bytes", MAX_BUFFER as u64) as usize).clamp(1, MAX_BUFFER);
    report("bytes", bytes);
    let newlines = [b'\n'; MAX_BUFFER];
    let mut first = true;
    loop {
        match libsys::write(1, &newlines[..bytes]) {
            Ok(count) if first => {
                first = false;
                report("first_write", count);
            }
            Ok(_) => {}
            Err(error) => {
                report("first_error", error.name());
                return 1;
            }
        }
    }
}
