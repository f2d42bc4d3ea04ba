//! badge-client: calls the badge server (handle 1) and reports the badge
//! the server saw (`badge=N`); the manifest gives each client's handle its
//! own badge.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::ipc::{self, Msg};
use libsys::results::report;

libsys::entry!(main);

/// Handle 1: SEND to the badge server, badged by the manifest.
const SERVER: libsys::Handle = 1;

fn main() -> i32 {
    match ipc::call_words(SERVER, &Msg::new(1)) {
        Ok(reply) => match reply.word(0) {
            Some(badge) => {
                report("badge", badge);
                0
            }
            None => {
                report("badge", "none");
                1
            }
        },
        Err(error) => {
            report("call", error.name());
            1
        }
    }
}
