//! spin: a CPU-bound loop that makes no syscall at all until it is done.
//! It cannot yield, so only timer preemption lets the other programs of its
//! priority run meanwhile: their output appears before spin's
//! (`rounds=N`, `ticks=N`).

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

libsys::entry!(main);

/// About a second of TCG time.
const ROUNDS: u64 = 100_000_000;

fn main() {
    let start = libsys::get_ticks();
    let mut state: u64 = 1;
    for _ in 0..ROUNDS {
        state = core::hint::black_box(state.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
    let ticks = libsys::get_ticks() - start;
    libsys::results::report("rounds", ROUNDS);
    libsys::results::report("ticks", ticks);
}
