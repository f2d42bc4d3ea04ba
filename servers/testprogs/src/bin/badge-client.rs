//! badge-client: calls the badge server (handle 1) and prints the badge the
//! server saw; the manifest gives each client's handle its own badge.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::ipc::{self, Msg};

libsys::entry!(main);

/// Handle 1: SEND to the badge server, badged by the manifest.
const SERVER: libsys::Handle = 1;

fn main() -> i32 {
    match ipc::call_words(SERVER, &Msg::new(1)) {
        Ok(reply) => match reply.word(0) {
            Some(badge) => {
                libsys::println!("the server saw badge {badge}");
                0
            }
            None => {
                libsys::println!("the reply has no word");
                1
            }
        },
        Err(error) => {
            libsys::println!("call failed: {}", error.name());
            1
        }
    }
}
