//! tick-dodger: uses most of the CPU but is never running when the timer
//! ticks. Each round it wakes just after a tick (a one-tick timeout),
//! computes for `busy=` percent of a tick period (60 by default, measured
//! with the TSC through `libsys::time::Instant`), and blocks again before
//! the next tick. A kernel that charged CPU time by sampling the running
//! thread at each tick would never charge it: it would run its `rounds=`
//! (500 by default) at about 60 % of the CPU, whatever its `cpu_limit`, and
//! exit 0. The kernel charges the time exactly at every entry, so its
//! `cpu_limit` ends it after about `cpu_limit / busy` rounds.
//!
//! Reports `tick_hz`, `tsc_hz`, `busy_percent`, then `round=N` every 10
//! rounds (with `caught=N`: rounds in which a tick came during the
//! computing anyway, so it was running at that tick), and `rounds=N` if it
//! ever finishes. Without a usable TSC it reports `tsc=none` and exits 2.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use hostile::{number_arg, report};
use libsys::Error;
use libsys::time::{self, Instant};

libsys::entry!(main);

fn main() -> i32 {
    let (tick_hz, tsc_hz) = (time::tick_hz(), time::tsc_hz());
    report("tick_hz", tick_hz);
    report("tsc_hz", tsc_hz);
    if tsc_hz == 0 || tick_hz == 0 {
        report("tsc", "none");
        return 2;
    }
    let busy = number_arg("busy", 60).min(95);
    let rounds = number_arg("rounds", 500);
    report("busy_percent", busy);
    // TSC counts of one tick period, and of the part of it spent computing.
    let per_tick = tsc_hz / tick_hz;
    let busy_counts = per_tick * busy / 100;
    let Some(timer) = hostile::notification() else {
        return 1;
    };
    let mut caught = 0u64;
    let mut state: u64 = 1;
    for round in 1..=rounds {
        // Nobody signals the notification: the wait ends at the next tick.
        match timer.wait_timeout(1) {
            Err(Error::TIMEDOUT) => {}
            other => {
                report("wait", hostile::result_name(&other));
                return 1;
            }
        }
        let (start, tick) = (Instant::now(), time::ticks());
        while Instant::now().raw().wrapping_sub(start.raw()) < busy_counts {
            state = core::hint::black_box(state.wrapping_mul(6364136223846793005).wrapping_add(1));
            if time::ticks() != tick {
                // The next tick came while computing: it saw us running.
                caught += 1;
                break;
            }
        }
        if round % 10 == 0 {
            report("round", round);
            report("caught", caught);
        }
    }
    report("rounds", rounds);
    0
}
