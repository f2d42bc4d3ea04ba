//! irq-driver: a driver that hands its interrupt line on and dies. Its
//! manifest entry grants it line 5 (`irqs = [5]`, no device there): handle
//! 2, after the console and the `irqpass` endpoint (handle 1, SEND).
//!
//! It binds the line to a notification of its own (`bind=ok`), then calls
//! its parent on `irqpass` passing a copy of the line's handle (WAIT and
//! TRANSFER); with `share=yes` a second call passes a WAIT copy of its
//! notification too. Then it exits: its own handles close, and with them
//! its notification, unless the parent holds a copy.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use hostile::{label, report_result};
use libsys::ipc::{self, Msg};
use libsys::{Handle, Rights};

libsys::entry!(main);

/// Handle 1: SEND to the parent's `irqpass` endpoint.
const PARENT: Handle = 1;
/// Handle 2: interrupt line 5.
const IRQ: Handle = 2;

/// Passes a copy of `handle` with `rights` to the parent.
fn pass(handle: Handle, rights: Rights) -> libsys::Result<()> {
    let copy = libsys::handle_dup(handle, rights | Rights::TRANSFER, 0)?;
    let result = ipc::call_words(PARENT, &Msg::new(label::PASS).passing(copy)).map(drop);
    let _ = libsys::handle_close(copy);
    result
}

fn main() -> i32 {
    let Some(notification) = hostile::notification() else {
        return 1;
    };
    report_result("bind", &libsys::irq_bind(IRQ, notification.handle(), 1));
    report_result("pass_irq", &pass(IRQ, Rights::WAIT));
    if libsys::arg("share") == Some("yes") {
        report_result("pass_notification", &pass(notification.handle(), Rights::WAIT));
    }
    0
}
