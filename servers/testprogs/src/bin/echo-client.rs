//! echo-client: a client of the echo server's typed interface (handle 1,
//! `echo::protocol`) that also sends what the interface does not have, and
//! prints every result as `NAME=RESULT` (`ok`, a value, or the error):
//!
//! - `ping=41`: a call that works;
//! - `unknown_operation=ENOSYS`, `wrong_shape=EINVAL`: raw calls with a label
//!   of no operation, and with `ping`'s label but two words (the server
//!   reports both as mismatches);
//! - `echo=intact`, `served=2`;
//! - `stop=EPEERGONE`: echo exits inside `stop` without replying;
//! - `after_stop=EPEERGONE`: the server is gone.
//!
//! Exit status: the number of results that were not these.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use echo::protocol::{Client, label};
use libsys::Error;
use libsys::ipc::{self, Msg};
use testprogs::result_name;

libsys::entry!(main);

/// Handle 1: SEND to the echo server.
const ECHO: Client = Client::new(1);

fn main() -> i32 {
    let mut wrong = 0;
    let mut check = |name: &str, shown: &dyn core::fmt::Display, right: bool| {
        libsys::println!("{name}={shown}");
        wrong += i32::from(!right);
    };

    let ping = ECHO.ping(41);
    match ping {
        Ok(value) => check("ping", &value, value == 41),
        Err(error) => check("ping", &error.name(), false),
    }

    let unknown = ipc::call_words(ECHO.handle(), &Msg::with_words(99, &[1]));
    check(
        "unknown_operation",
        &result_name(&unknown),
        unknown.err() == Some(Error::NOSYS),
    );
    let wrong_shape = ipc::call_words(ECHO.handle(), &Msg::with_words(label::ping, &[1, 2]));
    check(
        "wrong_shape",
        &result_name(&wrong_shape),
        wrong_shape.err() == Some(Error::INVAL),
    );

    let echo = ECHO.echo([1, 2, 3, 4, 5, 6], b"through the typed interface");
    let intact =
        echo.is_ok_and(|(words, bytes)| words == [1, 2, 3, 4, 5, 6] && &bytes[..] == b"through the typed interface");
    check("echo", &if intact { "intact" } else { "differs" }, intact);
    match ECHO.served() {
        Ok(served) => check("served", &served, served == 2),
        Err(error) => check("served", &error.name(), false),
    }

    let stop = ECHO.stop();
    check("stop", &result_name(&stop), stop.err() == Some(Error::PEERGONE));
    let after = ECHO.ping(1);
    check("after_stop", &result_name(&after), after.err() == Some(Error::PEERGONE));
    wrong
}
