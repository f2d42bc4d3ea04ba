//! high-spinner: busy for a number of timer ticks, making only `get_ticks`
//! syscalls, then exits. Run at a higher priority than another program, it
//! must keep the CPU through every time slice until it is done.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

libsys::entry!(main);

/// 200 ms at 100 Hz: ten time slices.
const TICKS: u64 = 20;

fn main() {
    let start = libsys::get_ticks();
    let mut rounds: u64 = 0;
    while libsys::get_ticks() - start < TICKS {
        rounds = core::hint::black_box(rounds + 1);
    }
    libsys::println!("spun {rounds} rounds over {TICKS} timer ticks");
}
