//! write-status: calls `write` without a usable console handle 0 (none at
//! all, or one without the SEND right) and exits with the error's code, so
//! the console's exit notice tells the test what `write` returned. Status 100
//! means the write claimed to succeed.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

libsys::entry!(main);

fn main() -> i32 {
    match libsys::write(1, b"nobody should see this line\n") {
        Ok(_) => 100,
        Err(error) => error as i32,
    }
}
