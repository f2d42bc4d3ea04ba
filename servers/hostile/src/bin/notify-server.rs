//! notify-server: a server whose endpoint (handle 1, RECEIVE) has a
//! notification bound to it, so one `recv` waits for calls and signals
//! alike.
//!
//! It binds a fresh notification (`bind=ok`), tries a second binding of
//! either object (`bind_twice=EEXIST`, `bind_other=EEXIST`), then waits
//! `pause=` ticks (default 5) so that a client queues its call, signals its
//! own notification ([`OWN`]) and receives: the bits come before the queued
//! sender (`first=notification`). Then it serves until it has seen the
//! signaller's [`DONE`] bit and `calls=` calls (default 5) from clients:
//! a signaller's `ASK` gets a SIGNAL copy of the notification, every
//! other call its word 0 back. A kernel notification message is counted
//! and checked (`notifications=`, `bits=`, `kernel_flag=yes`, `badge=0`,
//! `words=1`), a message of a program's own that carries the notification
//! label is not one (`forged=1`, `forged_kernel=no`, `forged_badge=`).

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use hostile::{label, number_arg, pause, report, report_result};
use libsys::abi::notify::NOTIFICATION_LABEL;
use libsys::ipc::{self, Msg};
use libsys::{Handle, Notification, Rights};

libsys::entry!(main);

/// Handle 1: the server's endpoint.
const ENDPOINT: Handle = 1;
/// The bit the server signals itself before its first receive.
const OWN: u64 = 1 << 40;
/// The signaller's last bit.
const DONE: u64 = 1 << 63;

fn main() -> i32 {
    let Some(notification) = hostile::notification() else {
        return 1;
    };
    report_result("bind", &notification.bind(ENDPOINT));
    let other_endpoint = libsys::endpoint_create();
    let other_notification = Notification::new();
    if let (Ok(endpoint), Ok(other)) = (&other_endpoint, &other_notification) {
        report_result("bind_twice", &notification.bind(*endpoint));
        report_result("bind_other", &other.bind(ENDPOINT));
        let _ = libsys::handle_close(*endpoint);
    }
    drop(other_notification);

    if let Err(error) = pause(number_arg("pause", 5)) {
        report("pause", error.name());
        return 1;
    }
    let _ = notification.signal(OWN);
    let expected_calls = number_arg("calls", 5);
    let (mut calls, mut notifications, mut bits) = (0, 0, 0u64);
    let (mut kernel_flag, mut badge_zero, mut one_word) = (true, true, true);
    let (mut forged, mut forged_kernel, mut forged_badge) = (0, false, 0);
    let mut first = None;
    while bits & DONE == 0 || calls < expected_calls {
        let message = match ipc::recv(ENDPOINT, &mut []) {
            Ok(message) => message,
            Err(error) => {
                report("recv", error.name());
                return 1;
            }
        };
        let notice = message.label == NOTIFICATION_LABEL && message.from_kernel;
        first.get_or_insert(if notice { "notification" } else { "call" });
        if notice {
            notifications += 1;
            bits |= message.word(0).unwrap_or(0);
            kernel_flag &= message.from_kernel;
            badge_zero &= message.badge == 0;
            one_word &= message.words().len() == 1 && message.handle.is_none();
            continue;
        }
        let answer = if message.label == label::ASK {
            match libsys::handle_dup(notification.handle(), Rights::SIGNAL | Rights::TRANSFER, 0) {
                Ok(copy) => {
                    let replied = ipc::reply(&Msg::new(label::ASK).passing(copy), &[]);
                    let _ = libsys::handle_close(copy);
                    replied
                }
                Err(error) => Err(error),
            }
        } else {
            if message.label == NOTIFICATION_LABEL {
                forged += 1;
                forged_kernel |= message.from_kernel;
                forged_badge = message.badge;
            } else {
                calls += 1;
            }
            ipc::reply(&Msg::with_words(message.label, &[message.word(0).unwrap_or(0)]), &[])
        };
        if let Err(error) = answer {
            report("reply", error.name());
        }
    }
    report("first", first.unwrap_or("none"));
    report("notifications", notifications);
    report("bits", format_args!("{bits:#x}"));
    report("kernel_flag", if kernel_flag { "yes" } else { "no" });
    report("badge", if badge_zero { "0" } else { "not 0" });
    report("words", if one_word { "1" } else { "not 1" });
    report("calls", calls);
    // The forged message may still be on its way: take it if it is there.
    if forged == 0
        && let Ok(message) = ipc::recv_timeout(ENDPOINT, &mut [], 20)
        && message.label == NOTIFICATION_LABEL
        && !message.from_kernel
    {
        forged = 1;
        forged_badge = message.badge;
        let _ = ipc::reply(&Msg::new(0), &[]);
    }
    report("forged", forged);
    report("forged_kernel", if forged_kernel { "yes" } else { "no" });
    report("forged_badge", forged_badge);
    0
}
