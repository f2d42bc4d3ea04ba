//! wait-third: waits for a process it did not start. It receives a process
//! handle (WAIT and TRANSFER, no KILL) on handle 1 (RECEIVE on `pass`),
//! with the process's pid in word 1 (`pid=`), and reports what the handle
//! allows: no kill (`kill=ENORIGHTS`), no copy with more rights
//! (`dup_kill=ENORIGHTS`), a wait while it runs (`running=ETIMEDOUT`),
//! then how it ended (`ending=exited`, `detail=7`), the same again
//! (`again=exited`).

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use hostile::{report, report_result};
use libsys::ipc::{self, Msg};
use libsys::{Handle, Rights};

libsys::entry!(main);

/// Handle 1: RECEIVE on `pass`.
const PASS: Handle = 1;

fn main() -> i32 {
    let (handle, pid) = match ipc::recv(PASS, &mut []) {
        Ok(message) => match message.handle {
            Some(handle) => (handle, message.word(1).unwrap_or(0)),
            None => {
                report("pass", "no handle");
                return 1;
            }
        },
        Err(error) => {
            report("pass", error.name());
            return 1;
        }
    };
    let _ = ipc::reply(&Msg::new(0), &[]);
    report("pid", pid);
    report_result("kill", &libsys::process_kill(handle));
    report_result("dup_kill", &libsys::handle_dup(handle, Rights::WAIT | Rights::KILL, 0));
    report_result(
        "running",
        &libsys::process_wait(handle, 0, libsys::abi::notify::NONBLOCK),
    );
    match libsys::process_wait(handle, 0, 0) {
        Ok((ending, detail)) => {
            report("ending", ending);
            report("detail", detail);
        }
        Err(error) => report("ending", error.name()),
    }
    match libsys::process_wait(handle, 0, libsys::abi::notify::NONBLOCK) {
        Ok((ending, _)) => report("again", ending),
        Err(error) => report("again", error.name()),
    }
    let _ = libsys::handle_close(handle);
    0
}
