//! mute-server: receives a call on handle 1 and goes straight back to
//! `recv` without replying. The kernel must release the abandoned caller
//! with EPEERGONE at once. The second call it receives it answers, then it
//! exits.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use hostile::result_name;
use libsys::ipc::{self, Msg};

libsys::entry!(main);

/// Handle 1: RECEIVE on the server's endpoint.
const ENDPOINT: libsys::Handle = 1;

fn main() -> i32 {
    if let Err(error) = ipc::recv(ENDPOINT, &mut []) {
        libsys::println!("mute-server: recv: {}", error.name());
        return 1;
    }
    libsys::println!("mute-server: received call 1; receiving again without replying");
    let word = match ipc::recv(ENDPOINT, &mut []) {
        Ok(message) => message.word(0).unwrap_or(0),
        Err(error) => {
            libsys::println!("mute-server: recv: {}", error.name());
            return 1;
        }
    };
    let replied = ipc::reply(&Msg::with_words(0, &[word]), &[]);
    libsys::println!("mute-server: received call 2; reply: {}", result_name(&replied));
    0
}
