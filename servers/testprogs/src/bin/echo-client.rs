//! echo-client: calls the echo server (handle 1) once normally, then with
//! echo's STOP label (echo exits inside its handler without replying, so this
//! call must end with EPEERGONE), then once more (the server is gone, so
//! EPEERGONE at once). Exit status 0 if all three answers were right.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::Error;
use libsys::ipc::{self, Msg};
use testprogs::result_name;

libsys::entry!(main);

/// Handle 1: SEND to the echo server.
const ECHO: libsys::Handle = 1;
/// The label that makes echo exit (`echo::STOP`).
const STOP: u32 = 0xdead;

fn main() -> i32 {
    let mut wrong = 0;
    let first = ipc::call_words(ECHO, &Msg::with_words(7, &[41, 42]));
    match &first {
        Ok(reply) => libsys::println!("first call: ok, label {} words {:?}", reply.label, reply.words()),
        Err(error) => libsys::println!("first call: {}", error.name()),
    }
    if !first.is_ok_and(|reply| reply.label == 7 && reply.words() == [41, 42]) {
        wrong += 1;
    }

    let stop = ipc::call_words(ECHO, &Msg::new(STOP));
    libsys::println!("call with STOP: {}", result_name(&stop));
    if stop.err() != Some(Error::PEERGONE) {
        wrong += 1;
    }

    let after = ipc::call_words(ECHO, &Msg::with_words(7, &[1]));
    libsys::println!("call after the server died: {}", result_name(&after));
    if after.err() != Some(Error::PEERGONE) {
        wrong += 1;
    }
    wrong
}
