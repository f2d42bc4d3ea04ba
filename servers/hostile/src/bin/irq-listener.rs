//! irq-listener: a driver that waits for interrupts for ever. Its line
//! (handle 2, `irqs = [7]`, no device) is bound to a notification that is
//! bound to its endpoint (handle 1, RECEIVE), so it waits in `recv` like
//! any server (`listening=yes`). When everything else has finished, the
//! kernel must halt: a server waiting for work keeps nothing alive, even
//! with an interrupt line armed.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use hostile::{report, report_result};
use libsys::Handle;
use libsys::ipc;

libsys::entry!(main);

/// Handle 1: RECEIVE on the listener's endpoint.
const ENDPOINT: Handle = 1;
/// Handle 2: interrupt line 7.
const IRQ: Handle = 2;

fn main() -> i32 {
    let Some(notification) = hostile::notification() else {
        return 1;
    };
    report_result("notify_bind", &notification.bind(ENDPOINT));
    report_result("irq_bind", &libsys::irq_bind(IRQ, notification.handle(), 1));
    report("listening", "yes");
    loop {
        match ipc::recv(ENDPOINT, &mut []) {
            Ok(message) if message.from_kernel => {
                report("interrupt", message.word(0).unwrap_or(0));
                let _ = libsys::irq_ack(IRQ);
            }
            Ok(_) => {
                let _ = ipc::reply(&ipc::Msg::new(0), &[]);
            }
            Err(error) => {
                report("recv", error.name());
                return 1;
            }
        }
    }
}
