//! pass-parent: gives another process the right to wait for its child.
//!
//! It spawns `sleepy` (which waits 30 ticks and exits with 7), makes a copy
//! of the process handle with WAIT and TRANSFER only, passes it to the
//! third process over handle 1 (SEND on `pass`, word 1 the child's pid),
//! closes both its own handles and exits without waiting: the child's
//! record lives on in the third process's handle.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use hostile::{label, report, report_result};
use libsys::Rights;
use libsys::ipc::{self, Msg};

libsys::entry!(main);

/// Handle 1: SEND to the third process.
const THIRD: libsys::Handle = 1;

fn main() -> i32 {
    let child = match libsys::spawn_with_args("sleepy", "ticks=30 status=7") {
        Ok(child) => child,
        Err(error) => {
            report("spawn", error.name());
            return 1;
        }
    };
    report("child_pid", child.pid());
    let copy = match libsys::handle_dup(child.handle(), Rights::WAIT | Rights::TRANSFER, 0) {
        Ok(copy) => copy,
        Err(error) => {
            report("handle_dup", error.name());
            return 1;
        }
    };
    let message = Msg::with_words(label::PASS, &[0, u64::from(child.pid())]).passing(copy);
    report_result("pass", &ipc::call_words(THIRD, &message));
    let _ = libsys::handle_close(copy);
    drop(child);
    0
}
