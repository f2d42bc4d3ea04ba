//! input-abuse: sends the console's input protocol what a careless or
//! hostile client would, and prints `check.NAME=pass` (or `=fail`, with
//! `got.NAME=` what came instead) for each answer:
//!
//! - `read_unattached`: READ before anyone attached: ENORIGHTS.
//! - `attach_no_handle`: ATTACH without a handle: EINVAL.
//! - `attach_endpoint`: ATTACH passing an endpoint (which no one can
//!   signal): ENORIGHTS.
//! - `attach_no_signal`: ATTACH passing a notification without SIGNAL:
//!   ENORIGHTS.
//! - `attach`: a proper ATTACH; then it prints `input=attached`, and the
//!   test types one line.
//! - `read_too_long`: READ asking for more bytes than its buffer holds:
//!   the call fails (ETOOLONG), and the next READ reports those bytes
//!   dropped (`dropped=N`).
//! - `read_after`: a proper READ of the next typed line works.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::abi::console::{ATTACH, INPUT_READY, READ};
use libsys::ipc::{self, Msg};
use libsys::results::{self, report};
use libsys::{Error, Notification, Rights};

libsys::entry!(main);

/// Handle 0: the console.
const CONSOLE: libsys::Handle = 0;

fn check(name: &str, result: Result<(), &str>) {
    if let Err(why) = result {
        report(format_args!("got.{name}"), why);
    }
    results::check(name, result.is_ok());
}

/// The error of a call that should fail with `expected`.
fn expect_error(result: libsys::Result<libsys::Received<'_>>, expected: Error) -> Result<(), &'static str> {
    match result {
        Err(error) if error == expected => Ok(()),
        Err(error) => Err(error.name()),
        Ok(_) => Err("accepted"),
    }
}

fn attach_passing(handle: libsys::Handle) -> libsys::Result<libsys::Received<'static>> {
    ipc::call_words(CONSOLE, &Msg::with_words(ATTACH, &[0, 0]).passing(handle))
}

fn main() {
    let mut buffer = [0u8; 64];
    check(
        "read_unattached",
        expect_error(
            ipc::call(CONSOLE, &Msg::with_words(READ, &[64, 0]), &mut buffer, 0),
            Error::NORIGHTS,
        ),
    );
    check(
        "attach_no_handle",
        expect_error(
            ipc::call_words(CONSOLE, &Msg::with_words(ATTACH, &[0, 0])),
            Error::INVAL,
        ),
    );
    let endpoint = libsys::endpoint_create().expect("an endpoint");
    check(
        "attach_endpoint",
        expect_error(attach_passing(endpoint), Error::NORIGHTS),
    );
    let notification = Notification::new().expect("a notification");
    let no_signal = libsys::handle_dup(notification.handle(), Rights::WAIT | Rights::TRANSFER, 0).expect("a copy");
    check(
        "attach_no_signal",
        expect_error(attach_passing(no_signal), Error::NORIGHTS),
    );

    let signal = libsys::handle_dup(notification.handle(), Rights::SIGNAL | Rights::TRANSFER, 0).expect("a copy");
    check("attach", attach_passing(signal).map(drop).map_err(|error| error.name()));
    report("input", "attached");

    // A line typed by the test; a reply of it cannot fit 4 bytes.
    let _ = notification.wait();
    let mut small = [0u8; 4];
    let result = ipc::call(CONSOLE, &Msg::with_words(READ, &[4096, 0]), &mut small, 0);
    let refused = expect_error(result, Error::TOOLONG);
    let reread = ipc::call(CONSOLE, &Msg::with_words(READ, &[64, 0]), &mut buffer, 0);
    let dropped = reread.as_ref().ok().and_then(|reply| reply.word(0)).unwrap_or(0);
    report("dropped", dropped);
    check(
        "read_too_long",
        refused.and(if dropped > 0 {
            Ok(())
        } else {
            Err("nothing reported dropped")
        }),
    );
    report("input", "again");
    loop {
        match ipc::call(CONSOLE, &Msg::with_words(READ, &[64, 1]), &mut buffer, 0) {
            Ok(reply) if !reply.data.is_empty() => {
                let ok = reply.data == b"second\n";
                check("read_after", if ok { Ok(()) } else { Err("another line") });
                break;
            }
            Ok(_) => {
                let _ = notification.wait().map(|bits| bits & INPUT_READY);
            }
            Err(error) => {
                check("read_after", Err(error.name()));
                break;
            }
        }
    }
}
