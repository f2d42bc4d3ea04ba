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
//!
//! With `instances=N` (several fuzzers at once, one per CPU:
//! `fuzzer::instances`) it spawns `fuzzer-0` to `fuzzer-{N-1}` one right
//! after the other, and waits for each to be gone on its own lifeline
//! (handle 1 + I for `fuzzer-I`) before it compares the counters once,
//! for the whole run.
//!
//! It sleeps on an endpoint of its own where nobody sends (a timed receive
//! there is a sleep), made before the first reading and kept until after
//! the last, so the counters do not see it.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::abi::stats::Stats;
use libsys::ipc::{self, Msg};
use libsys::results::{check, report};
use libsys::{Error, Handle};
use testspec::counters::{COUNTERS, COUNTERS_BACK};

libsys::entry!(main);

/// Handle 1: SEND on the lifeline (of the first fuzzer); handles 2
/// onwards: SEND on the lifelines of the others.
const LIFELINE: Handle = 1;
/// Ticks to wait for the fuzzer's helpers to be gone.
const SETTLE_TICKS: u32 = 1000;

/// The lifeline of fuzzer `instance`.
fn lifeline(instance: u64) -> Handle {
    LIFELINE + instance
}

fn main() -> i32 {
    let instances = fuzzer::number_arg("instances", 1).clamp(1, fuzzer::instances::MAX);
    let nap = match libsys::endpoint_create() {
        Ok(nap) => nap,
        Err(error) => {
            report("endpoint_create", error.name());
            return 1;
        }
    };
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
    let mut pids = [0u32; fuzzer::instances::MAX as usize];
    for instance in 0..instances {
        let name = fuzzer::instances::name("fuzzer", instance, instances);
        match libsys::spawn(name.as_str()) {
            Ok(child) => pids[instance as usize] = child.pid(),
            Err(error) => {
                report(format_args!("spawn.{name}"), error.name());
                return 1;
            }
        }
    }
    for instance in 0..instances {
        match ipc::send(lifeline(instance), &Msg::new(0), &[]) {
            Err(Error::PEERGONE) => {}
            other => {
                report("lifeline", format_args!("{other:?}"));
                return 1;
            }
        }
    }
    let started = libsys::get_ticks();
    let settled = |s: &Stats| (s.processes, s.threads) == (before.processes, before.threads);
    let mut after = libsys::stats().unwrap_or_default();
    let mut naps = 0;
    while !settled(&after) && naps < SETTLE_TICKS {
        let _ = ipc::recv_timeout(nap, &mut [], 1);
        naps += 1;
        after = libsys::stats().unwrap_or_default();
    }
    for instance in 0..instances {
        let name = fuzzer::instances::name("fuzzer", instance, instances);
        report(name, pids[instance as usize]);
    }
    report("helpers_gone_after_ticks", libsys::get_ticks() - started);
    for (name, read) in COUNTERS {
        report(format_args!("before.{name}"), read(&before));
        report(format_args!("after.{name}"), read(&after));
    }
    let same = COUNTERS.iter().all(|(_, read)| read(&before) == read(&after));
    if check(COUNTERS_BACK, same) { 0 } else { 1 }
}
