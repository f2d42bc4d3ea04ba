//! pair-server: `threads=N` threads (default 8) each answer calls on
//! handle 1 until told to stop: a call's words are `[client, seq, value]`
//! and the reply is `[client, seq, !value]`. Each thread counts what it
//! served; at the end the process reports `served=` (the total) and
//! `check.stopped` (every thread saw the stop).

#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use libsys::ipc::{self, Msg};
use libsys::results::{check, report};
use libsys::thread;

libsys::entry!(main);

/// Handle 1: RECEIVE on the pairs endpoint.
const PAIRS: libsys::Handle = 1;
/// The label that tells a server thread to stop.
const STOP: u32 = 2;

static SERVED: AtomicU64 = AtomicU64::new(0);

fn serve() -> u64 {
    let mut served = 0;
    let mut message = match ipc::recv(PAIRS, &mut []) {
        Ok(message) => message,
        Err(_) => return 0,
    };
    loop {
        if message.label == STOP {
            // Answer the stop, then leave.
            let _ = ipc::reply(&Msg::new(STOP), &[]);
            return served;
        }
        served += 1;
        let words = [
            message.word(0).unwrap_or(0),
            message.word(1).unwrap_or(0),
            !message.word(2).unwrap_or(0),
        ];
        match ipc::reply_recv(PAIRS, &Msg::with_words(1, &words), &mut [], 0) {
            Ok(next) => message = next,
            Err(_) => return served,
        }
    }
}

fn main() -> i32 {
    let threads: u64 = libsys::arg("threads").and_then(|v| v.parse().ok()).unwrap_or(8);
    let mut handles = Vec::new();
    for _ in 1..threads {
        match thread::spawn(|| SERVED.fetch_add(serve(), Ordering::Relaxed)) {
            Ok(handle) => handles.push(handle),
            Err(error) => {
                report("spawn", error.name());
                return 1;
            }
        }
    }
    SERVED.fetch_add(serve(), Ordering::Relaxed);
    let stopped = handles.into_iter().filter_map(|handle| handle.join()).count() as u64;
    report("served", SERVED.load(Ordering::Relaxed));
    check("stopped", stopped + 1 == threads);
    0
}
