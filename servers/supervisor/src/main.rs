//! supervisor: starts the programs whose manifest entries say `restart`,
//! and starts each again when it ends as its policy says, after a back-off
//! (what MINIX's reincarnation server and Hubris's supervisor task do; the
//! kernel keeps no such policy).
//!
//! The build tool writes its arguments and its `spawns` from the manifest,
//! one word per program, `NAME=POLICY[,BACKOFF[,BACKOFF_MAX[,STABLE]]]`
//! (`abi::restart::Entry`), so a manifest says no more than `restart =
//! "on-fault"` on a program. The supervisor spawns every program at once
//! and watches each child with the same notification (bit `i` for the
//! `i`-th program). It waits for the bits by receiving on an endpoint of its
//! own that the notification is bound to, so the kernel counts it among the
//! servers waiting for work, and a system whose other programs are done
//! still halts. When a child ends, the supervisor asks the kernel how
//! (`process_wait`), and either leaves it (its policy does not restart that
//! ending) or starts it again once its delay is over (a receive with a
//! timeout). Clients reach the new instance through the same manifest
//! endpoint: nothing needs to be passed to them.
//!
//! Times are timer ticks: the back-off's milliseconds are rounded up to
//! whole ticks. Each event is one `key=value` line:
//!
//! - `supervising=N`: it starts N programs;
//! - `restart.NAME=N`: the N-th restart of NAME is running;
//! - `delay.NAME=T`: NAME ended and starts again in T ticks (printed only
//!   when T is not 0);
//! - `stopped.NAME=ENDING`: NAME ended so (`exited`) and its policy leaves
//!   it ended;
//! - `spawn.NAME=ERROR`, `watch.NAME=ERROR`: starting NAME failed (it is
//!   tried again after the next delay, one tick at least);
//! - `bad_arg=WORD`: an argument it does not understand (ignored).

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use core::time::Duration;
use libsys::abi::manifest::MAX_SPAWNS;
use libsys::abi::notify::NOTIFICATION_LABEL;
use libsys::abi::restart::{Backoff, Entry, Policy};
use libsys::results::report;
use libsys::time::{ticks, ticks_for};
use libsys::{Child, Error, Notification, ipc};

libsys::entry!(main);

/// One program the supervisor keeps running.
struct Supervised {
    name: &'static str,
    policy: Policy,
    backoff: Backoff,
    /// Its notification bit.
    bit: u64,
    /// The running instance, if one runs.
    child: Option<Child>,
    /// The tick the running (or last) instance started at.
    started: u64,
    /// The tick the next instance is due at, while none runs and its
    /// policy restarts it.
    due: Option<u64>,
    /// Instances started so far.
    instances: u64,
}

/// Whole timer ticks of at least `ms` milliseconds.
fn ms_ticks(ms: u32) -> u64 {
    ticks_for(Duration::from_millis(u64::from(ms)))
}

impl Supervised {
    fn new(entry: Entry<'static>, index: usize) -> Supervised {
        let restart = entry.restart;
        Supervised {
            name: entry.name,
            policy: restart.policy,
            backoff: Backoff::new(
                ms_ticks(restart.backoff_ms),
                ms_ticks(restart.backoff_max_ms),
                ms_ticks(restart.stable_ms),
            ),
            bit: 1 << index,
            child: None,
            started: 0,
            due: Some(0),
            instances: 0,
        }
    }

    /// Starts an instance and watches it.
    fn start(&mut self, watch: &Notification) {
        self.due = None;
        self.started = ticks();
        let child = match libsys::spawn(self.name) {
            Ok(child) => child,
            Err(error) => {
                report(format_args!("spawn.{}", self.name), error.name());
                return self.retry();
            }
        };
        if let Err(error) = child.watch(watch, self.bit) {
            // Unwatched, it could end unnoticed: it is ended now instead.
            report(format_args!("watch.{}", self.name), error.name());
            let _ = child.kill();
            return self.retry();
        }
        self.child = Some(child);
        self.instances += 1;
        if self.instances > 1 {
            report(format_args!("restart.{}", self.name), self.instances - 1);
        }
    }

    /// The instance ended after `ran` ticks (or never started): the next is
    /// due after the back-off's delay.
    fn schedule(&mut self, ran: u64) {
        let delay = self.backoff.delay_after(ran);
        if delay > 0 {
            report(format_args!("delay.{}", self.name), delay);
        }
        self.due = Some(ticks().saturating_add(delay));
    }

    /// Starting it failed (the process table may be full): tried again
    /// after the next delay, and at the next tick at the soonest, so that a
    /// back-off of 0 does not make the supervisor spin.
    fn retry(&mut self) {
        self.schedule(0);
        self.due = self.due.map(|due| due.max(ticks() + 1));
    }

    /// Its bit was signalled: if the instance has ended, restarts it (after
    /// the delay) or leaves it, as the policy says.
    fn check(&mut self) {
        let Some(child) = &self.child else {
            return;
        };
        let Ok((ending, _detail)) = child.try_wait() else {
            // Still running: the bit was not its end.
            return;
        };
        self.child = None;
        if self.policy.restarts(ending) {
            self.schedule(ticks().saturating_sub(self.started));
        } else {
            report(format_args!("stopped.{}", self.name), ending.name());
        }
    }
}

fn main() -> i32 {
    let mut programs: [Option<Supervised>; MAX_SPAWNS] = core::array::from_fn(|_| None);
    let mut count = 0;
    for entry in Entry::all(libsys::args()) {
        match entry {
            Ok(entry) if count < MAX_SPAWNS => {
                programs[count] = Some(Supervised::new(entry, count));
                count += 1;
            }
            Ok(entry) => report("bad_arg", entry.name),
            Err(word) => report("bad_arg", word),
        }
    }
    let (watch, endpoint) = match watch_endpoint() {
        Ok(pair) => pair,
        Err(error) => {
            report("setup", error.name());
            return 1;
        }
    };
    report("supervising", count);

    loop {
        let now = ticks();
        for program in programs.iter_mut().flatten() {
            if program.due.is_some_and(|due| due <= now) {
                program.start(&watch);
            }
        }
        let next = programs.iter().flatten().filter_map(|program| program.due).min();
        let timeout = match next {
            None => 0,
            Some(due) => match due.checked_sub(ticks()) {
                Some(wait) if wait > 0 => wait.min(u64::from(u32::MAX)) as u32,
                _ => continue,
            },
        };
        match ipc::recv_timeout(endpoint, &mut [], timeout) {
            Ok(message) if message.from_kernel && message.label == NOTIFICATION_LABEL => {
                let bits = message.word(0).unwrap_or(0);
                for program in programs.iter_mut().flatten() {
                    if bits & program.bit != 0 {
                        program.check();
                    }
                }
            }
            // Nobody else holds a handle to the endpoint.
            Ok(_) | Err(Error::TIMEDOUT) => {}
            Err(error) => {
                report("recv", error.name());
                return 1;
            }
        }
    }
}

/// The notification the children are watched with, bound to a new endpoint
/// the supervisor receives on.
fn watch_endpoint() -> libsys::Result<(Notification, libsys::Handle)> {
    let watch = Notification::new()?;
    let endpoint = libsys::endpoint_create()?;
    watch.bind(endpoint)?;
    Ok((watch, endpoint))
}
