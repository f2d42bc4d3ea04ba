//! flaky-client: drives a restartable `flaky` server through one scenario
//! (`mode=` among its arguments) and reports what it saw as `key=value`
//! lines. Handle 0 is the console, handle 1 SEND to a flaky server.
//!
//! - `mode=crash [hold=T] [waiters=a,b]`: pings until an instance answers,
//!   spawns the `waiters` (flaky-clients in `mode=wait`), asks the server to
//!   crash after T ticks (`crash=EPEERGONE`), then pings until the next
//!   instance answers (`retries=N`, `check.new_instance`,
//!   `check.answered_after_restart`).
//! - `mode=wait`: pings once, which a crash while the call waits ends
//!   (`blocked_call=EPEERGONE`), then until an instance answers
//!   (`check.answered_after_restart`).
//! - `mode=cycles count=N`: N times, makes the server crash and pings until
//!   the next instance answers; compares the kernel's counters before and
//!   after (`before.NAME`, `after.NAME`, `check.counters_back`) and
//!   reports `cycles`, `retries`, `check.every_call_peergone`,
//!   `check.every_restart_answered`.
//! - `mode=endings`: handle 1 is SEND to an `always` server, handle 2 to an
//!   `on-fault` one. Ends each in turn and reports whether a new instance
//!   answers after: an exit of the first, a CPU limit, a fault and an exit
//!   of the second (`on_fault_after_exit=EPEERGONE`: not restarted).
//! - `mode=backoff window=W stable=S`: handle 2 is RECEIVE on the control
//!   endpoint the server's instances call at start (`flaky::control`).
//!   Tells every instance that starts within W ticks of the first to crash
//!   at once (`start=TICK` each, `crashed=N`), lets the next one serve, waits
//!   S ticks, makes it crash, and reports when the one after it started
//!   (`crashed_at=TICK`, `restarted_at=TICK`).

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use flaky::protocol::Client;
use flaky::{Clock, control, ping_until_answered};
use libsys::ipc::{self, Msg};
use libsys::results::{check, report};
use libsys::{Error, Handle, Result};
use testspec::counters::{COUNTERS, COUNTERS_BACK};

libsys::entry!(main);

/// Handle 1: SEND to the flaky server.
const FLAKY: Handle = 1;
/// Handle 2: SEND to a second server (`endings`) or RECEIVE on the control
/// endpoint (`backoff`).
const SECOND: Handle = 2;
/// Ticks a client waits at most for a restarted instance.
const PATIENCE: u64 = 500;

/// `ok` or the error's name.
fn name<T>(result: &Result<T>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(error) => error.name(),
    }
}

fn number(key: &str, default: u64) -> u64 {
    libsys::arg(key).and_then(|text| text.parse().ok()).unwrap_or(default)
}

fn main() -> Result<()> {
    let clock = Clock::new()?;
    match libsys::arg("mode").unwrap_or("") {
        "crash" => crash(&clock),
        "wait" => wait(&clock),
        "cycles" => cycles(&clock),
        "endings" => endings(&clock),
        "backoff" => backoff(&clock),
        other => {
            report("mode", other);
            Err(Error::INVAL)
        }
    }
}

fn crash(clock: &Clock) -> Result<()> {
    let flaky = Client::new(FLAKY);
    let (_, first, _) = ping_until_answered(&flaky, clock, 1, PATIENCE)?;
    let mut waiters = 0;
    for waiter in libsys::arg("waiters")
        .unwrap_or("")
        .split(',')
        .filter(|w| !w.is_empty())
    {
        // The waiter runs on after its handle is closed.
        libsys::spawn(waiter)?;
        waiters += 1;
    }
    report("waiters", waiters);
    report("crash", name(&flaky.crash(number("hold", 0))));
    let answer = ping_until_answered(&flaky, clock, 2, PATIENCE);
    check("answered_after_restart", matches!(answer, Ok((2, _, _))));
    let (_, second, retries) = answer?;
    report("retries", retries);
    check("new_instance", second != first);
    Ok(())
}

fn wait(clock: &Clock) -> Result<()> {
    let flaky = Client::new(FLAKY);
    report("blocked_call", name(&flaky.ping(3)));
    let answer = ping_until_answered(&flaky, clock, 4, PATIENCE);
    check("answered_after_restart", matches!(answer, Ok((4, _, _))));
    Ok(())
}

fn cycles(clock: &Clock) -> Result<()> {
    let flaky = Client::new(FLAKY);
    let count = number("count", 1000);
    let (_, mut pid, _) = ping_until_answered(&flaky, clock, 0, PATIENCE)?;
    clock.pause(1)?;
    let before = libsys::stats()?;
    let (mut peergone, mut answered, mut retries) = (0, 0, 0);
    for cycle in 1..=count {
        if flaky.crash(0) == Err(Error::PEERGONE) {
            peergone += 1;
        }
        match ping_until_answered(&flaky, clock, cycle, PATIENCE) {
            Ok((value, next, failed)) => {
                if value == cycle && next != pid {
                    answered += 1;
                }
                pid = next;
                retries += failed;
            }
            Err(error) => {
                report("ping", error.name());
                break;
            }
        }
    }
    report("cycles", count);
    report("retries", retries);
    check("every_call_peergone", peergone == count);
    check("every_restart_answered", answered == count);

    // The last instance to die may still be delivering its notice.
    let mut after = libsys::stats()?;
    for _ in 0..PATIENCE {
        if COUNTERS.iter().all(|(_, read)| read(&before) == read(&after)) {
            break;
        }
        clock.pause(1)?;
        after = libsys::stats()?;
    }
    for (counter, read) in COUNTERS {
        report(format_args!("before.{counter}"), read(&before));
        report(format_args!("after.{counter}"), read(&after));
    }
    check(
        COUNTERS_BACK,
        COUNTERS.iter().all(|(_, read)| read(&before) == read(&after)),
    );
    Ok(())
}

/// Ends the server behind `server` with `end`, and reports (as `KEY`) what
/// the call got and (as `check.KEY_restarted`) whether another instance
/// answers after.
fn end_and_ping(clock: &Clock, server: &Client, key: &str, end: impl FnOnce(&Client) -> Result<()>) -> Result<()> {
    let (_, before, _) = ping_until_answered(server, clock, 5, PATIENCE)?;
    report(key, name(&end(server)));
    let after = ping_until_answered(server, clock, 6, PATIENCE);
    check(
        format_args!("{key}_restarted"),
        matches!(after, Ok((6, pid, _)) if pid != before),
    );
    Ok(())
}

fn endings(clock: &Clock) -> Result<()> {
    let always = Client::new(FLAKY);
    let on_fault = Client::new(SECOND);
    end_and_ping(clock, &always, "always_exit", |server| server.exit(0))?;
    end_and_ping(clock, &always, "always_fault", |server| server.crash(0))?;
    end_and_ping(clock, &on_fault, "on_fault_limit", Client::hog)?;
    end_and_ping(clock, &on_fault, "on_fault_fault", |server| server.crash(0))?;
    // An exit is not restarted: calls keep failing.
    ping_until_answered(&on_fault, clock, 7, PATIENCE)?;
    report("on_fault_exit", name(&on_fault.exit(0)));
    clock.pause(20)?;
    report("on_fault_after_exit", name(&on_fault.ping(8)));
    Ok(())
}

/// Receives the next instance's `STARTED` call on the control endpoint and
/// answers `answer`; returns the tick it started at.
fn next_start(answer: impl FnOnce(u64) -> u64) -> Result<u64> {
    let started = ipc::recv(SECOND, &mut [])?;
    if started.label != control::STARTED {
        return Err(Error::INVAL);
    }
    let tick = started.word(1).ok_or(Error::INVAL)?;
    ipc::reply(&Msg::with_words(0, &[answer(tick)]), &[])?;
    report("start", tick);
    Ok(tick)
}

fn backoff(clock: &Clock) -> Result<()> {
    let window = number("window", 50);
    let stable = number("stable", 20);
    let mut first = None;
    let mut crashed = 0;
    loop {
        let mut crash = false;
        next_start(|tick| {
            let first = *first.get_or_insert(tick);
            crash = tick - first < window;
            if crash { control::CRASH } else { control::SERVE }
        })?;
        if !crash {
            break;
        }
        crashed += 1;
    }
    report("crashed", crashed);

    // The instance that serves runs past the stable period, then crashes:
    // the next one starts after the first delay again.
    let flaky = Client::new(FLAKY);
    ping_until_answered(&flaky, clock, 9, PATIENCE)?;
    clock.pause(stable)?;
    report("crashed_at", libsys::time::ticks());
    report("stable_crash", name(&flaky.crash(0)));
    let restarted = next_start(|_| control::SERVE)?;
    report("restarted_at", restarted);
    Ok(())
}
