//! slow-server: serves `requests=` calls (default 2) on handle 1, working
//! `delay=` ticks (default 20) on each before it replies, then exits. A
//! caller whose timeout is shorter gives up (ETIMEDOUT) and leaves; the
//! reply meant for it must then fail with EPEERGONE, and the server must go
//! on serving the next caller normally. It reports the badge of each
//! request (which caller it came from: `request.N.badge=B`) and what each
//! `reply` returned (`reply.N=RESULT`).
//!
//! With `settle=T` it first sleeps T ticks (on a notification nobody
//! signals), so that callers spawned on other CPUs queue before it takes
//! the first request.
//!
//! The work is a busy loop, not a sleep: a server that waits to receive
//! anything (a timed `recv` on another endpoint included) while it owes a
//! reply drops its caller, which the kernel releases with EPEERGONE.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use hostile::{number_arg, result_name};
use libsys::ipc::{self, Msg};
use libsys::results::report;

libsys::entry!(main);

/// Handle 1: RECEIVE on the server's endpoint.
const ENDPOINT: libsys::Handle = 1;

fn main() -> i32 {
    let requests = number_arg("requests", 2);
    let delay = number_arg("delay", 20);
    let settle = number_arg("settle", 0);
    if settle > 0
        && let Err(error) = settle_for(settle)
    {
        report("settle", error.name());
        return 1;
    }
    for request in 1..=requests {
        let (word, badge) = match ipc::recv(ENDPOINT, &mut []) {
            Ok(message) => (message.word(0).unwrap_or(0), message.badge),
            Err(error) => {
                report(format_args!("recv.{request}"), error.name());
                return 1;
            }
        };
        report(format_args!("request.{request}.badge"), badge);
        report(format_args!("request.{request}.delay"), delay);
        let start = libsys::get_ticks();
        while libsys::get_ticks() - start < delay {
            core::hint::spin_loop();
        }
        let replied = ipc::reply(&Msg::with_words(0, &[word]), &[]);
        report(format_args!("reply.{request}"), result_name(&replied));
    }
    0
}

/// Sleeps `ticks` ticks on a notification of its own, then closes it.
fn settle_for(ticks: u64) -> libsys::Result<()> {
    let nap = libsys::sys::notify_create()?;
    let waited = libsys::sys::notify_wait(nap, ticks, 0);
    libsys::handle_close(nap)?;
    match waited {
        Err(libsys::Error::TIMEDOUT) | Ok(_) => Ok(()),
        Err(error) => Err(error),
    }
}
