//! pinned-counter: counts timer ticks for `ticks=N` ticks (default 50) in
//! a busy loop, then reports `ticks=` and `rounds=` and exits. Pinned to a
//! CPU by its manifest entry, it shows that CPU kept running while
//! something happened on another.

#![no_std]
#![no_main]

use libsys::results::report;

libsys::entry!(main);

fn main() -> i32 {
    let ticks: u64 = libsys::arg("ticks").and_then(|v| v.parse().ok()).unwrap_or(50);
    let start = libsys::time::ticks();
    let mut rounds = 0u64;
    while libsys::time::ticks() - start < ticks {
        rounds = core::hint::black_box(rounds + 1);
    }
    report("ticks", libsys::time::ticks() - start);
    report("rounds", rounds);
    0
}
