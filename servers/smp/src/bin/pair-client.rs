//! pair-client: `threads=N` threads (default 8) each make
//! `messages=M / N` calls (default M = 1,000,000) on handle 1 with words
//! `[client, seq, value]` and check the reply is `[client, seq, !value]`.
//! Reports `messages=` (round trips completed), `bad=` (replies that did
//! not match: lost, duplicated or corrupted) and `check.all_answered`, then
//! stops the server's threads. (The supervisor that starts both checks the
//! kernel's counters come back.)

#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use libsys::ipc::{self, Msg};
use libsys::results::{check, report};
use libsys::thread;

libsys::entry!(main);

/// Handle 1: SEND on the pairs endpoint.
const PAIRS: libsys::Handle = 1;
const STOP: u32 = 2;

/// One client thread: `count` calls; returns (answered, bad).
fn client(id: u64, count: u64) -> (u64, u64) {
    let (mut answered, mut bad) = (0, 0);
    let mut value = id.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for seq in 0..count {
        value = value.rotate_left(7) ^ seq;
        match ipc::call(PAIRS, &Msg::with_words(1, &[id, seq, value]), &mut [], 0) {
            Ok(reply) if reply.word(0) == Some(id) && reply.word(1) == Some(seq) && reply.word(2) == Some(!value) => {
                answered += 1
            }
            _ => bad += 1,
        }
    }
    (answered, bad)
}

fn main() -> i32 {
    let threads: u64 = libsys::arg("threads").and_then(|v| v.parse().ok()).unwrap_or(8);
    let messages: u64 = libsys::arg("messages")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let per_thread = messages / threads;
    let mut handles = Vec::new();
    for id in 1..threads {
        match thread::spawn(move || client(id, per_thread)) {
            Ok(handle) => handles.push(handle),
            Err(error) => {
                report("spawn", error.name());
                return 1;
            }
        }
    }
    let (mut answered, mut bad) = client(0, per_thread);
    for handle in handles {
        let (a, b) = handle.join().unwrap_or((0, per_thread));
        answered += a;
        bad += b;
    }
    report("messages", answered);
    report("bad", bad);
    check("all_answered", answered == per_thread * threads && bad == 0);
    // Stop every server thread (each answers the stop and leaves).
    for _ in 0..threads {
        let _ = ipc::call(PAIRS, &Msg::new(STOP), &mut [], 0);
    }
    0
}
