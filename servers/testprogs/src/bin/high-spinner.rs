//! high-spinner: busy for `testspec::HIGH_SPINNER_TICKS` timer ticks,
//! making only `get_ticks` syscalls, then reports `rounds=N` and `ticks=N`
//! and exits. Run at a higher priority than another program, it must keep
//! the CPU through every time slice until it is done.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::results::report;
use testspec::HIGH_SPINNER_TICKS;

libsys::entry!(main);

fn main() {
    let start = libsys::get_ticks();
    let mut rounds: u64 = 0;
    while libsys::get_ticks() - start < HIGH_SPINNER_TICKS {
        rounds = core::hint::black_box(rounds + 1);
    }
    report("rounds", rounds);
    report("ticks", HIGH_SPINNER_TICKS);
}
