//! spawner: starts the `child` program 500 times, one at a time, and proves
//! that nothing leaked: the kernel's resource counters afterwards must equal
//! the ones read before the first spawn. It reports `cycles=`, `exits=`,
//! `faults=`, each counter of `testspec::counters` before and after
//! (`before.NAME=N`, `after.NAME=N`) and `check.counters_back`.
//!
//! Each child sends one message on the `reaper` endpoint (handle 1) carrying
//! a SEND handle to an endpoint only the child can receive on. The spawner
//! then sends on that handle: the send can only end when the child dies (its
//! RECEIVE handle closes, so the send fails with EPEERGONE). That is how a
//! higher-priority spawner waits for a lower-priority child to be gone:
//! `yield` only lets threads of the same priority run.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::ipc::{self, Msg};
use libsys::results::{check, report};
use libsys::{Error, Handle};
use testspec::counters::{COUNTERS, COUNTERS_BACK};

libsys::entry!(main);

/// Handle 1: the reaper endpoint, RECEIVE.
const REAPER: Handle = 1;
const CYCLES: u32 = 500;
/// Yields allowed while waiting for the last notices to be delivered.
const SETTLE_TRIES: u32 = 1000;

/// Waits for the child `pid` to announce itself and then to die.
fn reap(pid: u32) -> Result<(), &'static str> {
    let message = ipc::recv(REAPER, &mut []).map_err(|error| error.name())?;
    if message.word(1) != Some(pid as u64) {
        return Err("a message from an unexpected child");
    }
    let lifeline = message.handle.ok_or("the child sent no handle")?;
    let outcome = ipc::send(lifeline, &Msg::new(0), &[]);
    libsys::handle_close(lifeline).map_err(|error| error.name())?;
    match outcome {
        Err(Error::PEERGONE) => Ok(()),
        Err(error) => Err(error.name()),
        Ok(()) => Err("the child received on its lifeline"),
    }
}

fn main() -> i32 {
    let before = match libsys::stats() {
        Ok(stats) => stats,
        Err(error) => {
            report("stats", error.name());
            return 1;
        }
    };
    let (mut exits, mut faults) = (0, 0);
    for cycle in 0..CYCLES {
        let pid = match libsys::spawn("child") {
            Ok(child) => child.pid(),
            Err(error) => {
                report(format_args!("cycle.{cycle}.spawn"), error.name());
                return 1;
            }
        };
        if let Err(why) = reap(pid) {
            report(format_args!("cycle.{cycle}.child.{pid}"), why);
            return 1;
        }
        if pid.is_multiple_of(2) {
            exits += 1;
        } else {
            faults += 1;
        }
    }

    // A dead child counts as a process until its notice is delivered.
    let mut after = libsys::stats().unwrap_or_default();
    for _ in 0..SETTLE_TRIES {
        if after.processes == before.processes {
            break;
        }
        libsys::yield_now();
        after = libsys::stats().unwrap_or_default();
    }

    report("cycles", CYCLES);
    report("exits", exits);
    report("faults", faults);
    for (name, read) in COUNTERS {
        report(format_args!("before.{name}"), read(&before));
        report(format_args!("after.{name}"), read(&after));
    }
    let back = COUNTERS.iter().all(|(_, read)| read(&before) == read(&after));
    if check(COUNTERS_BACK, back) { 0 } else { 1 }
}
