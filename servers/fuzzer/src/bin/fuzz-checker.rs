//! fuzz-checker: runs the fuzzer and proves the kernel got everything back. It
//! reads the resource counters, spawns the fuzzer, waits until the fuzzer
//! is gone (its send on the lifeline, handle 1, which only the fuzzer
//! receives on, ends with EPEERGONE), waits until the fuzzer's pinger and
//! victims are gone too (the process and thread counts are back), and
//! compares the counters of `testspec::counters` (available frames,
//! processes, threads, endpoints, handles) with the first reading. It
//! reports each before and after (`before.NAME=N`, `after.NAME=N`) and
//! `check.counters_back=pass`, or `fail` and exits with 1 on any
//! difference.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::abi::stats::Stats;
use libsys::ipc::{self, Msg};
use libsys::results::{check, report};
use libsys::{Error, Handle};
use testspec::counters::{COUNTERS, COUNTERS_BACK};

libsys::entry!(main);

/// Handle 1: SEND on the lifeline. Handle 2: RECV on `nap`, where nobody
/// ever sends: a timed receive there is a sleep.
const LIFELINE: Handle = 1;
const NAP: Handle = 2;
/// Ticks to wait for the fuzzer's helpers to be gone.
const SETTLE_TICKS: u32 = 1000;

fn main() -> i32 {
    // The console answers a write only from its receive loop, after it has
    // made its own objects: on several CPUs it may still be starting, and
    // its handles must be counted in `before`.
    report("checker", "start");
    let before = match libsys::stats() {
        Ok(stats) => stats,
        Err(error) => {
            report("stats", error.name());
            return 1;
        }
    };
    let pid = match libsys::spawn("fuzzer") {
        Ok(child) => child.pid(),
        Err(error) => {
            report("spawn.fuzzer", error.name());
            return 1;
        }
    };
    match ipc::send(LIFELINE, &Msg::new(0), &[]) {
        Err(Error::PEERGONE) => {}
        other => {
            report("lifeline", format_args!("{other:?}"));
            return 1;
        }
    }
    let started = libsys::get_ticks();
    let settled = |s: &Stats| (s.processes, s.threads) == (before.processes, before.threads);
    let mut after = libsys::stats().unwrap_or_default();
    let mut naps = 0;
    while !settled(&after) && naps < SETTLE_TICKS {
        let _ = ipc::recv_timeout(NAP, &mut [], 1);
        naps += 1;
        after = libsys::stats().unwrap_or_default();
    }
    report("fuzzer", pid);
    report("helpers_gone_after_ticks", libsys::get_ticks() - started);
    for (name, read) in COUNTERS {
        report(format_args!("before.{name}"), read(&before));
        report(format_args!("after.{name}"), read(&after));
    }
    let same = COUNTERS.iter().all(|(_, read)| read(&before) == read(&after));
    if check(COUNTERS_BACK, same) { 0 } else { 1 }
}
