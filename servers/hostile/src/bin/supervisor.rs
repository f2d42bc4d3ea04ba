//! supervisor: runs one robustness scenario and proves that the kernel got
//! back everything its programs took.
//!
//! It reads the kernel's resource counters first, then spawns the programs
//! its arguments name (`spawn=hello,worker,cli`, in that order:
//! `started.NAME=PID`, or `spawn.NAME=ERROR`), waits until they (and
//! anything they spawned) are gone (`gone_after_ticks=T`, or
//! `gave_up_after_ticks=T`), and compares the counters of
//! `testspec::counters`:
//!
//! ```text
//! before.available_frames=31000
//! after.available_frames=31000
//! ...
//! check.counters_back=pass
//! ```
//!
//! (exit 0), or `check.counters_back=fail` (exit 1).
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

use hostile::{number_arg, sleep_on};
use libsys::results::{check, report};
use testspec::counters::{COUNTERS, COUNTERS_BACK};

libsys::entry!(main);

/// Handle 1: RECEIVE on an endpoint nobody sends to, to sleep on.
const SLEEP: libsys::Handle = 1;
/// Ticks to wait at most for the spawned programs to be gone.
const DEFAULT_BOUND: u64 = 3000;

fn main() -> i32 {
    // The console answers a write only from its receive loop, after it has
    // made its own objects (its input notification): on several CPUs it may
    // still be starting while this runs, and its handles must be in `before`.
    report("scenario", libsys::arg("spawn").unwrap_or(""));
    let before = match libsys::stats() {
        Ok(stats) => stats,
        Err(error) => {
            report("stats", error.name());
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
                report(format_args!("started.{name}"), child.pid());
            }
            Err(error) => report(format_args!("spawn.{name}"), error.name()),
        }
    }

    let start = libsys::get_ticks();
    let mut after = before;
    loop {
        match libsys::stats() {
            Ok(stats) => after = stats,
            Err(error) => report("stats", error.name()),
        }
        let waited = libsys::get_ticks() - start;
        if after.processes == before.processes && after.threads == before.threads {
            report("spawned", spawned);
            report("gone_after_ticks", waited);
            break;
        }
        if waited > bound {
            report("spawned", spawned);
            report("gave_up_after_ticks", waited);
            break;
        }
        if let Err(error) = sleep_on(SLEEP, poll) {
            report("sleep", error.name());
            return 1;
        }
    }

    for (name, read) in COUNTERS {
        report(format_args!("before.{name}"), read(&before));
        report(format_args!("after.{name}"), read(&after));
    }
    let back = COUNTERS.iter().all(|(_, read)| read(&before) == read(&after));
    if check(COUNTERS_BACK, back) { 0 } else { 1 }
}
