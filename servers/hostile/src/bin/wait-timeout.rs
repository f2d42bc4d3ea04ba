//! wait-timeout: waits nobody ends, bounded by timeouts and NONBLOCK, on a
//! notification and on a child that is still running. It reports each
//! result and the timer ticks it took (`get_ticks` before and after):
//!
//! - `notify_wait` of 5 ticks on a notification nobody signals
//!   (`timeout=ETIMEDOUT`, `timeout_ticks=`, at least 5);
//! - NONBLOCK, alone and with a timeout of 1000 ticks: ETIMEDOUT at once
//!   (`nonblock=`, `nonblock_timeout=`, and their `_ticks`);
//! - bits signalled before a NONBLOCK wait are returned by it (`pending=`),
//!   and taken (`drained=ETIMEDOUT`);
//! - `process_wait` on a child (`sleepy`, which waits 50 ticks and exits
//!   with 5): 3 ticks (`child_timeout=ETIMEDOUT`,
//!   `child_timeout_ticks=`), NONBLOCK (`child_nonblock=ETIMEDOUT`), then
//!   without a limit (`child_ending=exited`, `child_detail=5`), and once
//!   more after it ended, NONBLOCK (`child_again=exited`).

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use hostile::{report, report_result};
use libsys::abi::notify::NONBLOCK;

libsys::entry!(main);

/// Reports `key=RESULT` and `key_ticks=N` for `wait`.
fn timed<T>(key: &str, wait: impl FnOnce() -> libsys::Result<T>) {
    let start = libsys::get_ticks();
    let result = wait();
    let ticks = libsys::get_ticks() - start;
    report_result(key, &result);
    libsys::println!("{key}_ticks={ticks}");
}

fn main() -> i32 {
    let Some(notification) = hostile::notification() else {
        return 1;
    };
    let handle = notification.handle();
    timed("timeout", || libsys::notify_wait(handle, 5, 0));
    timed("nonblock", || libsys::notify_wait(handle, 0, NONBLOCK));
    timed("nonblock_timeout", || libsys::notify_wait(handle, 1000, NONBLOCK));
    let _ = notification.signal(0x30);
    match notification.poll() {
        Ok(bits) => report("pending", format_args!("{bits:#x}")),
        Err(error) => report("pending", error.name()),
    }
    report_result("drained", &notification.poll());

    let child = match libsys::spawn_with_args("sleepy", "ticks=50 status=5") {
        Ok(child) => child,
        Err(error) => {
            report("spawn", error.name());
            return 1;
        }
    };
    timed("child_timeout", || child.wait_timeout(3));
    report_result("child_nonblock", &child.try_wait());
    match child.wait() {
        Ok((ending, detail)) => {
            report("child_ending", ending);
            report("child_detail", detail);
        }
        Err(error) => report("child_ending", error.name()),
    }
    match child.try_wait() {
        Ok((ending, _)) => report("child_again", ending),
        Err(error) => report("child_again", error.name()),
    }
    0
}
