//! console-killer: starts the console itself, kills it, and starts another.
//!
//! Its manifest entry spawns `console` (the console server, `start =
//! "spawn"`, RECEIVE on the `console` endpoint, which also takes the exit
//! notices) and `hello`. It prints through the first console, runs hello,
//! kills the console (`kill=ok`) and waits for it. With no console, its
//! `write` fails with EPEERGONE and a second hello's greeting and exit
//! notice have nowhere to go (the kernel logs the notice itself). Then it
//! spawns a new console on the same endpoint and reports everything it
//! learnt through it: `console_ending=killed`, `detail_is_me=yes`,
//! `write_without_console=EPEERGONE`, `hello_without_console=exited`.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use hostile::{report, report_result};

libsys::entry!(main);

fn main() -> i32 {
    let me = u64::from(libsys::get_pid());
    let first = match libsys::spawn("console") {
        Ok(child) => child,
        Err(_) => return 10,
    };
    report("first_console_pid", first.pid());
    match libsys::spawn("hello").and_then(|hello| hello.wait()) {
        Ok((ending, status)) => libsys::println!("hello_with_console={ending} {status}"),
        Err(error) => report("hello_with_console", error.name()),
    }
    let killed = first.kill();
    let ending = first.wait();
    let written = libsys::write(1, b"console-killer: nobody should see this\n");
    let hello = libsys::spawn("hello").and_then(|hello| hello.wait());

    let second = match libsys::spawn("console") {
        Ok(child) => child,
        Err(_) => return 11,
    };
    report("second_console_pid", second.pid());
    report_result("kill", &killed);
    match ending {
        Ok((ending, detail)) => {
            report("console_ending", ending);
            report("detail_is_me", if detail == me { "yes" } else { "no" });
        }
        Err(error) => report("console_ending", error.name()),
    }
    report_result("write_without_console", &written);
    match hello {
        Ok((ending, status)) => libsys::println!("hello_without_console={ending} {status}"),
        Err(error) => report("hello_without_console", error.name()),
    }
    // The second console stays: a server waiting for work, as at boot.
    second.into_raw();
    0
}
