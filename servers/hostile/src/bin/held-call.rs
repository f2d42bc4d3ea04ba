//! held-call: a server that holds a call. It receives one call on handle 1
//! (RECEIVE on `service`), then, still owing the reply, calls its parent on
//! handle 2 (SEND on `control`, label `HELD`, word 0 the caller's badge) and
//! waits there until the parent answers. Then it replies to its own caller
//! and reports what the reply found (`reply_to_killed=EPEERGONE` when the
//! parent killed the caller meanwhile).

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use hostile::{label, report, report_result};
use libsys::Handle;
use libsys::ipc::{self, Msg};

libsys::entry!(main);

/// Handle 1: RECEIVE on `service`.
const SERVICE: Handle = 1;
/// Handle 2: SEND to the parent on `control`.
const CONTROL: Handle = 2;

fn main() -> i32 {
    let badge = match ipc::recv(SERVICE, &mut []) {
        Ok(message) => message.badge,
        Err(error) => {
            report("recv", error.name());
            return 1;
        }
    };
    // A call of our own keeps the reply owed (a receive would release it).
    if let Err(error) = ipc::call_words(CONTROL, &Msg::with_words(label::HELD, &[badge])) {
        report("control", error.name());
        return 1;
    }
    report_result("reply_to_killed", &ipc::reply(&Msg::with_words(0, &[1]), &[]));
    0
}
