//! caller: a client of the server behind handle 1. It makes `calls=` calls
//! (default 1), each with one word (the call's number) and, if `timeout=`
//! is given, a timeout in ticks (`Msg::with_timeout`), and reports what each
//! call returned: `call.N=ok` with `call.N.reply_word=W`, or the error
//! (`call.N=ETIMEDOUT`, `EPEERGONE`), and the ticks it took
//! (`call.N.ticks=T`). It exits with 0 whatever the answers: the tests
//! judge the values.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use hostile::{number_arg, result_name};
use libsys::ipc::{self, Msg};
use libsys::results::report;

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
        report(format_args!("call.{call}"), result_name(&reply));
        if let Ok(reply) = &reply {
            report(format_args!("call.{call}.reply_word"), reply.word(0).unwrap_or(0));
        }
        report(format_args!("call.{call}.ticks"), ticks);
    }
}
