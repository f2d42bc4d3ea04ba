//! notify-flood: one process signals a notification in a tight loop while
//! another waits on it. Two roles talk through handle 1:
//!
//! - `role=waiter` (RECEIVE on handle 1) creates a notification, answers
//!   the signaller's call with a SIGNAL copy badged [`BADGE`], and takes
//!   bits with `notify_wait` until [`DONE`] arrives. It reports how many
//!   waits returned (`wakes=`), every bit it saw (`bits=`), whether every
//!   wake carried the badge (`badged=`), and what a wait finds afterwards
//!   (`after=ETIMEDOUT`: nothing left behind).
//! - `role=signaller count=N` (SEND on handle 1) asks for the handle
//!   (label `ASK`), signals `1 << (i % 8)` for i below N and then
//!   [`DONE`], and reports `signals=`, `errors=`, what a wait through its
//!   SIGNAL-only handle gives (`wait_with_signal_only=ENORIGHTS`) and a
//!   signal through the handle once closed (`signal_after_close=`). With
//!   `forge=yes` it then calls its peer with a message of its own that
//!   carries the notification label (`forged_call=`).
//!
//! A waiter of a higher priority than the signaller wakes once per signal
//! (`wakes=N+1`); one of a lower priority finds every bit accumulated in a
//! single wake (`wakes=1`). The signaller also serves the bound-endpoint
//! test (`notify-server`), and with `count=0` signals [`DONE`] alone (the
//! `pinger` of the watch test).

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use hostile::{label, number_arg, report, report_result};
use libsys::abi::notify::{NONBLOCK, NOTIFICATION_LABEL};
use libsys::ipc::{self, Msg};
use libsys::{Handle, Rights};

libsys::entry!(main);

/// Handle 1: the endpoint the two meet on.
const PEER: Handle = 1;
/// The badge of the signaller's handle, ORed into every signal.
const BADGE: u64 = 1 << 32;
/// The last signal.
const DONE: u64 = 1 << 63;
/// Word 0 of the forged notification message.
const FORGED: u64 = 0xbad;
/// Ticks a waiter waits at most for the next signal.
const BOUND: u64 = 1000;

fn main() -> i32 {
    match libsys::arg("role") {
        Some("waiter") => waiter(),
        Some("signaller") => signaller(),
        _ => {
            libsys::println!("notify-flood: role=waiter or role=signaller");
            2
        }
    }
}

fn waiter() -> i32 {
    let Some(notification) = hostile::notification() else {
        return 1;
    };
    let copy = match libsys::handle_dup(notification.handle(), Rights::SIGNAL | Rights::TRANSFER, BADGE) {
        Ok(copy) => copy,
        Err(error) => {
            report("handle_dup", error.name());
            return 1;
        }
    };
    if let Err(error) = ipc::recv(PEER, &mut []).and_then(|_| ipc::reply(&Msg::new(label::ASK).passing(copy), &[])) {
        report("handoff", error.name());
        return 1;
    }
    let _ = libsys::handle_close(copy);
    let (mut wakes, mut bits, mut badged) = (0u64, 0u64, true);
    loop {
        match notification.wait_timeout(BOUND) {
            Ok(taken) => {
                wakes += 1;
                bits |= taken;
                badged &= taken & BADGE != 0;
                if taken & DONE != 0 {
                    break;
                }
            }
            Err(error) => {
                report("wait", error.name());
                return 1;
            }
        }
    }
    report("wakes", wakes);
    report("bits", format_args!("{bits:#x}"));
    report("badged", if badged { "yes" } else { "no" });
    report_result("after", &notification.poll());
    0
}

fn signaller() -> i32 {
    let count = number_arg("count", 0);
    let handle = match ipc::call_words(PEER, &Msg::new(label::ASK)) {
        Ok(reply) => match reply.handle {
            Some(handle) => handle,
            None => {
                report("handoff", "no handle");
                return 1;
            }
        },
        Err(error) => {
            report("handoff", error.name());
            return 1;
        }
    };
    let mut errors = 0;
    for i in 0..count {
        if libsys::notify(handle, 1 << (i % 8)).is_err() {
            errors += 1;
        }
    }
    if libsys::notify(handle, DONE).is_err() {
        errors += 1;
    }
    report("signals", count);
    report("errors", errors);
    report_result("wait_with_signal_only", &libsys::notify_wait(handle, 0, NONBLOCK));
    let _ = libsys::handle_close(handle);
    report_result("signal_after_close", &libsys::notify(handle, 1));
    if libsys::arg("forge") == Some("yes") {
        let forged = Msg::with_words(NOTIFICATION_LABEL, &[FORGED]);
        report_result("forged_call", &ipc::call_words(PEER, &forged));
    }
    0
}
