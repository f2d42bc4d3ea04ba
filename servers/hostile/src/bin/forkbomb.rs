//! forkbomb: the fork bomb of a system without fork. With `role=bomb` it
//! spawns the program named by `copy=` (its manifest entry lists it in
//! `spawns`) over and over without waiting for any, until `spawn` fails. The
//! process table (64 slots) must fill up and `spawn` must then refuse with
//! ETABLEFULL, no kernel memory or other program harmed; the bomb reports
//! the refusal with the table's fill and exits. With `role=copy` (the
//! spawned copies) it yields a few times and exits with 0: every copy must
//! run and exit once the bomb is done.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::Error;

libsys::entry!(main);

/// Spawns at most this many copies (far more than the table holds).
const MOST: u32 = 1000;

fn bomb() -> i32 {
    let Some(copy) = libsys::arg("copy") else {
        libsys::println!("forkbomb: no copy= argument");
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
    match refusal {
        Some(error) => libsys::println!(
            "forkbomb: spawned {copies} copies of {copy}, then spawn: {} (processes {} of {}, threads {} of {})",
            error.name(),
            stats.processes,
            stats.process_capacity,
            stats.threads,
            stats.thread_capacity
        ),
        None => libsys::println!("forkbomb: spawned {copies} copies of {copy} and was never refused"),
    }
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
            libsys::println!("forkbomb: unknown role {other:?}");
            2
        }
    }
}
