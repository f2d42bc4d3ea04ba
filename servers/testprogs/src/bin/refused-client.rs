//! refused-client: calls `refusing-server` (handle 1) for each reply it
//! cannot get (`testprogs::refusals`), offering room for a whole buffer
//! except where the reply must not fit, and prints what its call returned as
//! `call.NAME=RESULT` (`ok` or the error's name), then the server's count
//! of refused replies as `server.refused=N`. Exit status 0 if every call
//! returned what it must: never an empty success.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::Error;
use libsys::abi::message::MAX_BUFFER;
use libsys::ipc::{self, Msg};
use testprogs::refusals::*;
use testprogs::result_name;

libsys::entry!(main);

/// Handle 1: SEND to refusing-server.
const SERVER: libsys::Handle = 1;

fn main() -> i32 {
    let mut wrong = 0;
    let mut buffer = [0u8; MAX_BUFFER];
    // Room for fewer bytes than the reply has, then room for all a reply
    // can have: a reply cut to the server's buffer would fit in it.
    let calls = [
        (
            "too_long_for_client",
            TOO_LONG_FOR_CLIENT,
            CLIENT_ROOM,
            Err(Error::TOOLONG),
        ),
        (
            "handle_without_transfer",
            HANDLE_WITHOUT_TRANSFER,
            MAX_BUFFER,
            Err(Error::NORIGHTS),
        ),
        ("beyond_the_buffer", BEYOND_THE_BUFFER, MAX_BUFFER, Err(Error::TOOLONG)),
        ("fine", FINE, MAX_BUFFER, Ok(42)),
    ];
    for (name, label, room, expected) in calls {
        let result = ipc::call(SERVER, &Msg::new(label), &mut buffer[..room], 0).map(|reply| reply.word(0));
        let got = result.map(|word| word.unwrap_or(0));
        libsys::println!("call.{name}={}", result_name(&got));
        if got != expected {
            wrong += 1;
        }
    }
    match ipc::call_words(SERVER, &Msg::new(REFUSED_COUNT)).map(|reply| reply.word(0)) {
        Ok(Some(count)) => {
            libsys::println!("server.refused={count}");
            if count != 3 {
                wrong += 1;
            }
        }
        other => {
            libsys::println!("server.refused={}", result_name(&other));
            wrong += 1;
        }
    }
    wrong
}
