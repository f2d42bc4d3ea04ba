//! low-printer: prints one line and exits. Run at a lower priority than a
//! busy program, its line must come only after that program is gone.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

libsys::entry!(main);

fn main() {
    libsys::println!("low priority ran at tick {}", libsys::get_ticks());
}
