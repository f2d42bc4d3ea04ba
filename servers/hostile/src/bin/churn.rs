//! churn: makes and drops notifications, bindings and process records many
//! more times than their tables hold (64 each), so that one slot kept by
//! mistake would end in ETABLEFULL. Reports `notify_cycles=`,
//! `bind_cycles=`, `spawn_cycles=` and, for each, `_failures=0`.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use hostile::report;
use libsys::abi::notify::NONBLOCK;
use libsys::{Notification, Rights};

libsys::entry!(main);

/// Cycles of each kind: three times a table.
const CYCLES: u64 = 3 * 64;

/// A notification with a signalling copy; signalled, taken, both closed.
fn notify_cycle() -> libsys::Result<()> {
    let notification = Notification::new()?;
    let copy = libsys::handle_dup(notification.handle(), Rights::SIGNAL, 0x10)?;
    libsys::notify(copy, 1)?;
    libsys::handle_close(copy)?;
    match notification.poll()? {
        0x11 => Ok(()),
        _ => Err(libsys::Error::INVAL),
    }
}

/// An endpoint with a notification bound to it; both closed (the endpoint
/// first every other time).
fn bind_cycle(cycle: u64) -> libsys::Result<()> {
    let notification = Notification::new()?;
    let endpoint = libsys::endpoint_create()?;
    notification.bind(endpoint)?;
    notification.signal(2)?;
    if cycle.is_multiple_of(2) {
        libsys::handle_close(endpoint)?;
        drop(notification);
    } else {
        drop(notification);
        libsys::handle_close(endpoint)?;
    }
    Ok(())
}

/// A child that exits at once; waited for (every other time through a
/// watch), its handle closed.
fn spawn_cycle(cycle: u64) -> libsys::Result<()> {
    let child = libsys::spawn_with_args("sleepy", "ticks=0")?;
    if cycle.is_multiple_of(2) {
        child.wait()?;
    } else {
        let notification = Notification::new()?;
        child.watch(&notification, 1)?;
        notification.wait()?;
        libsys::process_wait(child.handle(), 0, NONBLOCK)?;
    }
    Ok(())
}

fn main() -> i32 {
    let mut failures = [0u64; 3];
    for cycle in 0..CYCLES {
        failures[0] += u64::from(notify_cycle().is_err());
        failures[1] += u64::from(bind_cycle(cycle).is_err());
    }
    report("notify_cycles", CYCLES);
    report("notify_failures", failures[0]);
    report("bind_cycles", CYCLES);
    report("bind_failures", failures[1]);
    for cycle in 0..CYCLES / 2 + 10 {
        if let Err(error) = spawn_cycle(cycle) {
            failures[2] += 1;
            libsys::println!("churn: spawn cycle {cycle}: {}", error.name());
        }
    }
    report("spawn_cycles", CYCLES / 2 + 10);
    report("spawn_failures", failures[2]);
    0
}
