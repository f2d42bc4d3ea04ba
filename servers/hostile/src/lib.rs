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
