//! caller: a client of the server behind handle 1. It makes `calls=` calls
//! (default 1), each with one word (the call's number) and, if `timeout=`
//! is given, a timeout in ticks (`Msg::with_timeout`), and prints what each
//! call returned: `caller: call 1: ok, reply word 1`, or the error
//! (`ETIMEDOUT`, `EPEERGONE`). It exits with 0 whatever the answers: the
//! tests judge the lines.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use hostile::number_arg;
use libsys::ipc::{self, Msg};

libsys::entry!(main);

/// Handle 1: SEND to the server.
const SERVER: libsys::Handle = 1;
const LABEL: u32 = 0x51;

fn main() {
    let calls = number_arg("calls", 1);
    let timeout = number_arg("timeout", 0) as u32;
    for call in 1..=calls {
        let start = libsys::get_ticks();
        let reply = ipc::call_words(SERVER, &Msg::with_words(LABEL, &[call]).with_timeout(timeout));
        let ticks = libsys::get_ticks() - start;
        match reply {
            Ok(reply) => libsys::println!(
                "caller: call {call}: ok, reply word {} after {ticks} ticks",
                reply.word(0).unwrap_or(0)
            ),
            Err(error) => libsys::println!("caller: call {call}: {} after {ticks} ticks", error.name()),
        }
    }
}
