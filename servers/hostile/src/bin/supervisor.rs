//! supervisor: runs one robustness scenario and proves that the kernel got
//! back everything its programs took.
//!
//! It reads the kernel's resource counters first, then spawns the programs
//! its arguments name (`spawn=hello,worker,cli`, in that order), waits until
//! they (and anything they spawned) are gone, and compares the counters:
//!
//! ```text
//! accounting: counters back to start: available frames 31000 = 31000, processes 3 = 3, ...
//! ```
//!
//! (exit 0), or `counters NOT back to start` with the differences (exit 1).
//!
//! A program the kernel kills cannot say it is done, so the supervisor does
//! not wait for messages: it knows how many processes lived before it
//! spawned anything, and polls the counters until the process and thread
//! counts are back (or until `bound=` ticks have passed). Between polls it
//! sleeps `poll=` ticks, one by default: a timed receive on its `sleep`
//! endpoint (handle 1), which nobody sends to. It runs at the highest
//! priority below the console's, so it is never starved by what it
//! supervises.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use core::fmt::Write;
use hostile::{number_arg, sleep_on};
use libsys::abi::stats::Stats;
use libsys::io::Writer;

libsys::entry!(main);

/// Handle 1: RECEIVE on an endpoint nobody sends to, to sleep on.
const SLEEP: libsys::Handle = 1;
/// Ticks to wait at most for the spawned programs to be gone.
const DEFAULT_BOUND: u64 = 3000;

/// The counters that must come back: (name, value).
fn counters(stats: &Stats) -> [(&'static str, u64); 5] {
    [
        ("available frames", stats.available_frames()),
        ("processes", stats.processes),
        ("threads", stats.threads),
        ("endpoints", stats.endpoints),
        ("handles", stats.handles),
    ]
}

fn main() -> i32 {
    let before = match libsys::stats() {
        Ok(stats) => stats,
        Err(error) => {
            libsys::println!("supervisor: stats: {}", error.name());
            return 1;
        }
    };
    let bound = number_arg("bound", DEFAULT_BOUND);
    let poll = number_arg("poll", 1).max(1) as u32;
    let mut spawned = 0;
    for name in libsys::arg("spawn")
        .unwrap_or("")
        .split(',')
        .filter(|name| !name.is_empty())
    {
        match libsys::spawn(name) {
            Ok(child) => {
                spawned += 1;
                libsys::println!("supervisor: started {name}[{}]", child.pid());
            }
            Err(error) => libsys::println!("supervisor: spawn {name}: {}", error.name()),
        }
    }

    let start = libsys::get_ticks();
    let mut after = before;
    loop {
        match libsys::stats() {
            Ok(stats) => after = stats,
            Err(error) => libsys::println!("supervisor: stats: {}", error.name()),
        }
        let waited = libsys::get_ticks() - start;
        if after.processes == before.processes && after.threads == before.threads {
            libsys::println!("supervisor: all {spawned} spawned programs gone after {waited} ticks");
            break;
        }
        if waited > bound {
            libsys::println!(
                "supervisor: gave up after {waited} ticks: {} processes, {} threads still live (started with {}, {})",
                after.processes,
                after.threads,
                before.processes,
                before.threads
            );
            break;
        }
        if let Err(error) = sleep_on(SLEEP, poll) {
            libsys::println!("supervisor: sleeping: {}", error.name());
            return 1;
        }
    }

    let back = counters(&before) == counters(&after);
    let mut line = Writer::new(1);
    let verdict = if back { "back to start" } else { "NOT back to start" };
    let _ = write!(line, "accounting: counters {verdict}: ");
    for (index, ((name, start), (_, end))) in counters(&before).into_iter().zip(counters(&after)).enumerate() {
        let separator = if index == 0 { "" } else { ", " };
        let sign = if start == end { "=" } else { "!=" };
        let _ = write!(line, "{separator}{name} {start} {sign} {end}");
    }
    let _ = writeln!(line);
    line.flush();
    if back { 0 } else { 1 }
}
