//! forkbomb: the fork bomb of a system without fork. With `role=bomb` it
//! spawns the program named by `copy=` (its manifest entry lists it in
//! `spawns`) over and over without waiting for any, until `spawn` fails. The
//! process table (64 slots) must fill up and `spawn` must then refuse with
//! ETABLEFULL, no kernel memory or other program harmed; the bomb reports
//! how many copies it spawned (`copies=`), the refusal (`refusal=`) and the
//! tables' fill (`processes=`, `process_capacity=`, `threads=`,
//! `thread_capacity=`), and exits. With `role=copy` (the
//! spawned copies) it yields a few times and exits with 0: every copy must
//! run and exit once the bomb is done.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::Error;
use libsys::results::report;

libsys::entry!(main);

/// Spawns at most this many copies (far more than the table holds).
const MOST: u32 = 1000;

fn bomb() -> i32 {
    let Some(copy) = libsys::arg("copy") else {
        report("copy", "missing");
        return 2;
    };
    let mut copies = 0;
    let refusal = loop {
        if copies == MOST {
            break None;
        }
        match libsys::spawn(copy) {
            Ok(_) => copies += 1,
            Err(error) => break Some(error),
        }
    };
    let stats = libsys::stats().unwrap_or_default();
    report("copies", copies);
    report("refusal", refusal.map_or("none", Error::name));
    report("processes", stats.processes);
    report("process_capacity", stats.process_capacity);
    report("threads", stats.threads);
    report("thread_capacity", stats.thread_capacity);
    if refusal == Some(Error::TABLEFULL) { 0 } else { 1 }
}

fn main() -> i32 {
    match libsys::arg("role") {
        Some("bomb") => bomb(),
        Some("copy") => {
            for _ in 0..3 {
                libsys::yield_now();
            }
            0
        }
        other => {
            report("role", format_args!("unknown {other:?}"));
            2
        }
    }
}
