//! smpbench: the coordinator of the benchmarks on two CPUs
//! (`manifests/bench-smp.toml`). It runs on CPU 0 and measures, one after
//! the other, with `key=value` lines like `bench`'s:
//!
//! - `smp.ipc_roundtrip.same_cpu`: a 0-word `call` + `reply_recv` round
//!   trip to a server pinned on CPU 0 (ours): the fast path.
//! - `smp.ipc_roundtrip.cross_cpu`: the same to a server pinned on CPU 1:
//!   the slow path, a kick to the other CPU each way, and each CPU's idle
//!   entry and wake-up.
//! - `smp.ipc_pairs.cpus_1` and `.cpus_2`: round trips of one pair (us and
//!   the CPU-0 server), then of two independent pairs at once (us on CPU 0;
//!   `pairclient` and the CPU-1 server on CPU 1): TSC units from the first
//!   pair's start to the last one's end, per round trip of all pairs.
//! - `smp.shootdown.unmap_local` and `.unmap_remote`: a `mem_unmap` of one
//!   touched page, by a process no other CPU runs, and by one whose other
//!   thread spins on the other CPU (so the unmap sends a shootdown IPI and
//!   waits for it); measured by `shootbench`.
//!
//! Under icount the TSC every CPU reads is QEMU's one virtual clock, which
//! advances by one per instruction executed by any CPU: a TSC delta counts
//! the instructions of the whole machine in that time, a halted CPU adding
//! none (see docs/performance.md).
//!
//! Handles: 0 console, 1 the CPU-0 server, 2 the CPU-1 server, 3 the
//! second pair's client, 4 `shoot-local`, 5 `shoot-remote`.

#![no_std]
#![no_main]

use bench::{label, measure, report, tsc, tsc_per_tick};
use libsys::MsgInfo;
use libsys::ipc::{self, Exchange, Msg};

libsys::entry!(main);

const LOCAL: libsys::Handle = 1;
const REMOTE: libsys::Handle = 2;
const PAIR: libsys::Handle = 3;
const SHOOT_LOCAL: libsys::Handle = 4;
const SHOOT_REMOTE: libsys::Handle = 5;

/// Round trips of each pair in one window of the throughput benchmarks.
const PAIR_ROUND_TRIPS: u64 = 2_000;
/// Windows of the throughput benchmarks (odd: the median is one of them).
const WINDOWS: usize = 5;

fn main() {
    libsys::println!("bench.status=begin");
    report("smp.ipc_roundtrip.same_cpu", round_trip(LOCAL, 2_000));
    report("smp.ipc_roundtrip.cross_cpu", round_trip(REMOTE, 50));
    report("smp.ipc_pairs.cpus_1", pairs(false));
    report("smp.ipc_pairs.cpus_2", pairs(true));
    for (key, handle) in [
        ("smp.shootdown.unmap_local", SHOOT_LOCAL),
        ("smp.shootdown.unmap_remote", SHOOT_REMOTE),
    ] {
        let reply = ipc::call_words(handle, &Msg::new(label::RUN)).expect("shootbench");
        report(key, reply.word(0).expect("the median"));
    }
    libsys::println!("bench.tsc_per_tick={}", tsc_per_tick());
    libsys::println!("bench.status=done");
}

/// The median cost of a 0-word echo round trip to `server`.
fn round_trip(server: libsys::Handle, iterations: u64) -> u64 {
    let mut exchange = Exchange::new(&mut []);
    exchange.set_info(MsgInfo::new(label::ECHO, 0, 0));
    measure(iterations, || exchange.call(server).expect("echo call"))
}

/// TSC units per round trip (times 100) of one pair, or of two pairs at
/// once: from the earliest start to the latest end, over the round trips
/// of both; the median of [`WINDOWS`] such windows (under icount they are
/// all the same; without it the median keeps a window in which the host
/// preempted a CPU's thread out).
fn pairs(two: bool) -> u64 {
    let mut exchange = Exchange::new(&mut []);
    exchange.set_info(MsgInfo::new(label::ECHO, 0, 0));
    for _ in 0..1_000 {
        exchange.call(LOCAL).expect("warm-up call");
    }
    let mut costs = [0u64; WINDOWS];
    for cost in costs.iter_mut() {
        if two {
            // The client warms up, answers, then starts at once.
            ipc::call_words(PAIR, &Msg::with_words(label::START, &[PAIR_ROUND_TRIPS])).expect("start the second pair");
        }
        let start = tsc();
        for _ in 0..PAIR_ROUND_TRIPS {
            exchange.call(LOCAL).expect("echo call");
        }
        let end = tsc();
        let (start, end, round_trips) = if two {
            let theirs = ipc::call_words(PAIR, &Msg::new(label::RESULT)).expect("the second pair's result");
            let (their_start, their_end) = (theirs.word(0).expect("start"), theirs.word(1).expect("end"));
            (start.min(their_start), end.max(their_end), 2 * PAIR_ROUND_TRIPS)
        } else {
            (start, end, PAIR_ROUND_TRIPS)
        };
        *cost = (end - start) * 100 / round_trips;
    }
    costs.sort_unstable();
    costs[WINDOWS / 2]
}
