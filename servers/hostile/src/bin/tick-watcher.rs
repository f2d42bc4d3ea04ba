//! tick-watcher: a program that wants to run every tick, beside one that
//! pushes work onto a server of a higher priority. It spawns the program
//! its `child=` argument names (`newline-writer` by default) and waits for
//! it to end, one tick at a time (`process_wait` with a one-tick timeout),
//! noting how many ticks pass between its wakes: one, unless something of
//! a higher priority (the console, printing for the child) holds the CPU
//! across ticks.
//!
//! First it measures how long the console takes to print one write of
//! about the most output a write may make (`abi::console::MAX_WRITE_OUTPUT`
//! bytes): a line `calibration=...` of dots, its length chosen so that
//! with the prefix the output is 64 bytes short of the bound. It reports
//! `calibration.taken=N` (what the console took of it: all of it) and
//! `calibration.ticks_x100=T` (the time of that `write` in hundredths of a
//! tick, from the TSC; 0 without one).
//!
//! When the child has ended it reports `wakes=N`, `max_gap=T` (the largest
//! number of ticks between two wakes), `child.ending=` and
//! `child.detail=` (`process_wait`'s answer), `child.cpu_ticks=T` (the
//! child's CPU time when last seen alive), and the console's CPU time then:
//! `console.cpu_ticks=T` (from `process_info`, `none` if no process is
//! named `console`). It gives up after `bound=` ticks (3000 by default):
//! `gave_up=T`, exit 1.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use hostile::{number_arg, process_record, report};
use libsys::Error;
use libsys::abi::console::MAX_WRITE_OUTPUT;
use libsys::time::{self, Instant};

libsys::entry!(main);

fn main() -> i32 {
    let child_name = libsys::arg("child").unwrap_or("newline-writer");
    let bound = number_arg("bound", 3000);
    calibrate();
    let child = match libsys::spawn(child_name) {
        Ok(child) => child,
        Err(error) => {
            report("spawn", error.name());
            return 1;
        }
    };
    let start = libsys::time::ticks();
    let (mut last, mut wakes, mut max_gap, mut child_ticks) = (start, 0u64, 0u64, 0u64);
    let (ending, detail) = loop {
        let result = child.wait_timeout(1);
        let now = libsys::time::ticks();
        wakes += 1;
        max_gap = max_gap.max(now - last);
        last = now;
        match result {
            Ok(ended) => break ended,
            Err(Error::TIMEDOUT) => {}
            Err(error) => {
                report("wait", error.name());
                return 1;
            }
        }
        if let Some(record) = process_record(child.pid()) {
            child_ticks = record.cpu_ticks;
        }
        if now - start > bound {
            report("gave_up", now - start);
            return 1;
        }
    };
    report("wakes", wakes);
    report("max_gap", max_gap);
    report("child.ending", ending);
    report("child.detail", detail);
    report("child.cpu_ticks", child_ticks);
    match console_ticks() {
        Some(ticks) => report("console.cpu_ticks", ticks),
        None => report("console.cpu_ticks", "none"),
    }
    0
}

/// Times one write of about `MAX_WRITE_OUTPUT` bytes of console output.
fn calibrate() {
    const KEY: &[u8] = b"calibration=";
    let mut line = [b'.'; MAX_WRITE_OUTPUT];
    // Our prefix, `tick-watcher[PID]: `, is far less than 64 bytes.
    let len = MAX_WRITE_OUTPUT - 64;
    line[..KEY.len()].copy_from_slice(KEY);
    line[len - 1] = b'\n';
    let start = Instant::now();
    let taken = libsys::write(1, &line[..len]);
    let counts = Instant::now().raw() - start.raw();
    let (tick_hz, tsc_hz) = (time::tick_hz(), time::tsc_hz());
    let hundredths = if tsc_hz == 0 {
        0
    } else {
        u128::from(counts) * u128::from(tick_hz) * 100 / u128::from(tsc_hz)
    };
    match taken {
        Ok(taken) => report("calibration.taken", taken),
        Err(error) => report("calibration.taken", error.name()),
    }
    report("calibration.ticks_x100", hundredths);
}

/// The CPU time of the process named `console`.
fn console_ticks() -> Option<u64> {
    let empty = libsys::abi::process::Info::from_bytes(&[0; libsys::abi::process::Info::SIZE])?;
    let mut records = [empty; 16];
    let count = libsys::process_info(&mut records).ok()?;
    records[..count.min(records.len())]
        .iter()
        .find(|record| record.name() == "console")
        .map(|record| record.cpu_ticks)
}
