//! threads: starts `threads=N` threads (default 4) of this process; each
//! adds 1 to a counter behind a `libsys::sync::Mutex`, `rounds=M` times
//! (default 2000), yielding now and then so the threads interleave. Joins
//! them all and reports `threads=`, `counter=`, `check.counter` (exactly
//! N × M: no update lost), `check.joined` and `check.limit` (the manifest's
//! `threads` limit refuses one more with ETABLEFULL).

#![no_std]
#![no_main]

extern crate alloc;

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};
use libsys::results::{check, report};
use libsys::sync::Mutex;
use libsys::thread;

libsys::entry!(main);

/// The workers wait for it, so that none has exited (and given its slot
/// back) when the main thread checks the limit: on another CPU one could
/// otherwise finish before the last spawn.
static GO: AtomicBool = AtomicBool::new(false);

fn number(name: &str, default: u64) -> u64 {
    libsys::arg(name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() -> i32 {
    let threads = number("threads", 4);
    let rounds = number("rounds", 2000);
    let counter = match Mutex::new(0u64) {
        Ok(mutex) => Arc::new(mutex),
        Err(error) => {
            report("mutex", error.name());
            return 1;
        }
    };
    let mut handles = Vec::new();
    for _ in 0..threads {
        let counter = counter.clone();
        match thread::spawn(move || {
            while !GO.load(Ordering::Acquire) {
                libsys::yield_now();
            }
            for round in 0..rounds {
                *counter.lock() += 1;
                if round % 64 == 0 {
                    libsys::yield_now();
                }
            }
            rounds
        }) {
            Ok(handle) => handles.push(handle),
            Err(error) => {
                report("spawn", error.name());
                return 1;
            }
        }
    }
    // The manifest allows `threads + 1` threads: this one and the workers;
    // one more is refused.
    let extra = thread::spawn(|| 0u64);
    check("limit", matches!(extra, Err(thread::LIMIT)));
    GO.store(true, Ordering::Release);
    let joined: u64 = handles.into_iter().filter_map(|handle| handle.join()).sum();
    report("threads", threads);
    report("counter", *counter.lock());
    check("counter", *counter.lock() == threads * rounds);
    check("joined", joined == threads * rounds);
    0
}
