//! sleeper: sleeps `ticks=N` timer ticks (default 20), then exits with
//! `status=S` (default 0); prints `slept=N` before it does.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use core::time::Duration;
use libsys::results::report;

libsys::entry!(main);

fn number(key: &str, default: u64) -> u64 {
    libsys::arg(key).and_then(|value| value.parse().ok()).unwrap_or(default)
}

fn main() -> i32 {
    let ticks = number("ticks", 20);
    let status = number("status", 0) as i32;
    let hz = libsys::time::tick_hz().max(1);
    let start = libsys::time::ticks();
    if let Err(error) = libsys::time::sleep(Duration::from_millis(ticks * 1000 / hz)) {
        report("sleep", error.name());
        return 1;
    }
    report("slept", libsys::time::ticks() - start);
    status
}
