//! fuzz-checker: runs the fuzzer and proves the kernel got everything back. It
//! reads the resource counters, spawns the fuzzer, waits until the fuzzer
//! is gone (its send on the lifeline, handle 1, which only the fuzzer
//! receives on, ends with EPEERGONE), waits until the fuzzer's pinger and
//! victims are gone too (the process and thread counts are back), and
//! compares free frames, processes, threads, endpoints and handles with the
//! first reading. It prints `fuzz: counters unchanged: ...` or
//! `fuzz: counters CHANGED: ...` and exits with 1 on any difference.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use core::fmt::Write;
use libsys::abi::stats::Stats;
use libsys::ipc::{self, Msg};
use libsys::{Error, Handle};

libsys::entry!(main);

/// Handle 1: SEND on the lifeline. Handle 2: RECV on `nap`, where nobody
/// ever sends: a timed receive there is a sleep.
const LIFELINE: Handle = 1;
const NAP: Handle = 2;
/// Ticks to wait for the fuzzer's helpers to be gone.
const SETTLE_TICKS: u32 = 1000;

fn main() -> i32 {
    let before = match libsys::stats() {
        Ok(stats) => stats,
        Err(error) => {
            libsys::println!("fuzz: stats: {}", error.name());
            return 1;
        }
    };
    // A process handle: dropped (closed) once the fuzzer is gone.
    let fuzzer = match libsys::spawn("fuzzer") {
        Ok(child) => child,
        Err(error) => {
            libsys::println!("fuzz: cannot spawn the fuzzer: {}", error.name());
            return 1;
        }
    };
    match ipc::send(LIFELINE, &Msg::new(0), &[]) {
        Err(Error::PEERGONE) => {}
        other => {
            libsys::println!("fuzz: the lifeline send ended with {other:?}, not EPEERGONE");
            return 1;
        }
    }
    // Its process handle goes before the counters are read again.
    let pid = fuzzer.pid();
    drop(fuzzer);
    let started = libsys::get_ticks();
    let settled = |s: &Stats| (s.processes, s.threads) == (before.processes, before.threads);
    let mut after = libsys::stats().unwrap_or_default();
    let mut naps = 0;
    while !settled(&after) && naps < SETTLE_TICKS {
        let _ = ipc::recv_timeout(NAP, &mut [], 1);
        naps += 1;
        after = libsys::stats().unwrap_or_default();
    }
    libsys::println!(
        "fuzz: fuzzer[{pid}] is gone; its helpers after {} ticks",
        libsys::get_ticks() - started
    );

    let fields = [
        ("available frames", before.available_frames(), after.available_frames()),
        ("processes", before.processes, after.processes),
        ("threads", before.threads, after.threads),
        ("endpoints", before.endpoints, after.endpoints),
        ("handles", before.handles, after.handles),
    ];
    let same = fields.iter().all(|(_, a, b)| a == b);
    let mut line = fuzzer::Line::new();
    let verdict = if same { "unchanged" } else { "CHANGED" };
    let _ = write!(line, "fuzz: counters {verdict}: ");
    for (index, (name, a, b)) in fields.iter().enumerate() {
        let sign = if a == b { "=" } else { "!=" };
        let separator = if index == 0 { "" } else { ", " };
        let _ = write!(line, "{separator}{name} {a} {sign} {b}");
    }
    let _ = writeln!(line);
    let _ = libsys::write_all(1, line.as_bytes());
    if same { 0 } else { 1 }
}
