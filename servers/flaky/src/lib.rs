//! flaky: a server that dies when asked, and its client, to show what a
//! restartable server's clients see (`manifests/restart.toml`) and to test
//! the supervisor (`tests/tests/restart.rs`).
//!
//! The server (`src/bin/flaky.rs`) answers [`protocol`]'s `ping` with its
//! pid, so a client can tell the instances apart, and dies on request
//! without replying: `crash` faults, `exit` exits, `hog` spins until its CPU
//! limit is used up. The caller of such a request gets EPEERGONE, and so
//! does every client queued on the endpoint then; until the supervisor has
//! started the next instance, calls fail with EPEERGONE at once
//! ([`ping_until_answered`] is how a client waits for it).
//!
//! ```no_run
//! let flaky = flaky::protocol::Client::new(1); // handle 1: SEND to flaky
//! let (_, pid) = flaky.ping(7)?;
//! assert_eq!(flaky.crash(0), Err(libsys::Error::PEERGONE));
//! let clock = flaky::Clock::new()?;
//! let (_, next, _retries) = flaky::ping_until_answered(&flaky, &clock, 7, 1000)?;
//! assert_ne!(pid, next);
//! # Ok::<(), libsys::Error>(())
//! ```

#![no_std]
#![forbid(unsafe_code)]

use libsys::{Error, Notification, Result};

libsys::interface! {
    /// What the flaky server does.
    pub mod protocol {
        /// Returns `value` and the server's pid (which instance answered).
        fn ping(value: u64) -> (u64, u32) = 1;
        /// Waits `ticks` timer ticks, then reads address 0: the kernel kills
        /// it for the page fault. Never replies.
        fn crash(ticks: u64) = 2;
        /// Exits with `status`. Never replies.
        fn exit(status: i32) = 3;
        /// Spins until the kernel kills it at its `cpu_limit`. Never
        /// replies.
        fn hog() = 4;
    }
}

/// The control protocol: an instance started with `control=H` among its
/// arguments first calls its handle H ([`control::STARTED`], word 0 its
/// pid, word 1 the tick), and faults at once if the answer's word 0 is
/// [`control::CRASH`]: so a test decides which instances die at start.
pub mod control {
    /// The label of the call an instance makes when it starts.
    pub const STARTED: u32 = 1;
    /// Word 0 of the answer: fault now.
    pub const CRASH: u64 = 1;
    /// Word 0 of the answer: serve.
    pub const SERVE: u64 = 0;
}

/// Waits a number of timer ticks on a notification nobody signals (made
/// once, so waiting takes nothing from the kernel).
pub struct Clock(Notification);

impl Clock {
    /// Makes its notification.
    pub fn new() -> Result<Clock> {
        Ok(Clock(Notification::new()?))
    }

    /// Returns at the `ticks`-th timer tick from now.
    pub fn pause(&self, ticks: u64) -> Result<()> {
        if ticks == 0 {
            return Ok(());
        }
        match self.0.wait_timeout(ticks) {
            Err(Error::TIMEDOUT) => Ok(()),
            Err(error) => Err(error),
            Ok(_) => Err(Error::INVAL),
        }
    }
}

/// Pings until an instance answers: a call that fails with EPEERGONE (no
/// instance runs yet) is tried again at the next tick, at most `tries`
/// times. Returns the answer, the pid that gave it and how many calls
/// failed first.
pub fn ping_until_answered(flaky: &protocol::Client, clock: &Clock, value: u64, tries: u64) -> Result<(u64, u32, u64)> {
    let mut failed = 0;
    loop {
        match flaky.ping(value) {
            Ok((answer, pid)) => return Ok((answer, pid, failed)),
            Err(Error::PEERGONE) if failed < tries => {
                failed += 1;
                clock.pause(1)?;
            }
            Err(error) => return Err(error),
        }
    }
}
