//! What the hostile programs share: naming syscall results the way the
//! system tests read them (`ETABLEFULL`, `ok`), parsing numeric arguments,
//! and sleeping for a number of timer ticks. Each program reports what it
//! does and sees as `key=value` lines (`libsys::results`), which the tests
//! read back with `abi::results`; what a program and its test agree on is in
//! the `testspec` crate.
//!
//! Each binary in `src/bin/` is one ring-3 program of the robustness tests
//! (`tests/tests/hostile.rs`): most misbehave on purpose and must be killed
//! or refused, `worker` is a well-behaved bystander, and `supervisor` starts
//! a scenario and checks that the kernel's resource counters come back.
//! The tests of notifications, interrupt lines, process handles and the
//! time page (`tests/tests/signals.rs`) use the same supervisor; their
//! programs (`notify-flood`, `bad-signals`, `irq-heir`, `kill-parent`, ...)
//! print `key=value` results ([`report`]).

#![no_std]

use libsys::{Error, Handle, ipc};

/// The name of a libsys result: `ok` or the error's name (`ENORIGHTS`).
pub fn result_name<T>(result: &libsys::Result<T>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(error) => error.name(),
    }
}

/// The argument `key=value` as a number, or `default` when absent or not a
/// number.
pub fn number_arg(key: &str, default: u64) -> u64 {
    libsys::arg(key).and_then(|text| text.parse().ok()).unwrap_or(default)
}

/// Blocks for `ticks` timer ticks: waits to receive on `handle` (an endpoint
/// this process receives on and nobody sends to) until the timeout. Returns
/// the error if the wait ended otherwise.
pub fn sleep_on(handle: Handle, ticks: u32) -> libsys::Result<()> {
    match ipc::recv_timeout(handle, &mut [], ticks) {
        Err(Error::TIMEDOUT) => Ok(()),
        Err(error) => Err(error),
        Ok(_) => Err(Error::INVAL),
    }
}

/// Prints `key=value`: a result for the system tests to read
/// (`systests::values`).
pub fn report(key: &str, value: impl core::fmt::Display) {
    libsys::println!("{key}={value}");
}

/// Prints `key=` and the name of `result` (`ok`, `ENORIGHTS`).
pub fn report_result<T>(key: &str, result: &libsys::Result<T>) {
    report(key, result_name(result));
}

/// Blocks for `ticks` timer ticks in `notify_wait` on a fresh notification
/// nobody signals (for programs with no endpoint to sleep on).
pub fn pause(ticks: u64) -> libsys::Result<()> {
    if ticks == 0 {
        return Ok(());
    }
    let notification = libsys::Notification::new()?;
    match notification.wait_timeout(ticks) {
        Err(Error::TIMEDOUT) => Ok(()),
        Err(error) => Err(error),
        Ok(_) => Err(Error::INVAL),
    }
}

/// The `process_info` record of the live process `pid`, if it is among the
/// first 16 (libsys reads at most that many at once).
pub fn process_record(pid: u32) -> Option<libsys::abi::process::Info> {
    let empty = libsys::abi::process::Info::from_bytes(&[0; libsys::abi::process::Info::SIZE])?;
    let mut records = [empty; 16];
    let count = libsys::process_info(&mut records).ok()?;
    records[..count.min(records.len())]
        .iter()
        .find(|record| record.pid == pid)
        .copied()
}

/// CPU ticks this process has used, from its `process_info` record.
pub fn my_cpu_ticks() -> u64 {
    process_record(libsys::get_pid()).map_or(u64::MAX, |record| record.cpu_ticks)
}

/// Labels of the small protocol the signals programs speak on their
/// endpoints.
pub mod label {
    /// Asks for a handle: the reply passes one.
    pub const ASK: u32 = 0x20;
    /// Passes a handle (word 0) and, in word 1, a process id.
    pub const PASS: u32 = 0x21;
    /// A server holds a call (word 0: its caller's badge) and waits to be
    /// told to answer it.
    pub const HELD: u32 = 0x22;
}

/// A new notification, or `None` after reporting `notify_create=ERROR`
/// (the program then ends with status 1).
pub fn notification() -> Option<libsys::process::Notification> {
    libsys::process::Notification::new()
        .map_err(|error| report("notify_create", error.name()))
        .ok()
}
