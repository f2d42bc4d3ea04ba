//! mute-server: receives a call on handle 1 and goes straight back to
//! `recv` without replying. The kernel must release the abandoned caller
//! with EPEERGONE at once. The second call it receives it answers, then it
//! exits. It reports `received.1=not_replying` before receiving again,
//! then `received.2=replying` and what its reply returned (`reply.2=`).

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use hostile::result_name;
use libsys::ipc::{self, Msg};
use libsys::results::report;

libsys::entry!(main);

/// Handle 1: RECEIVE on the server's endpoint.
const ENDPOINT: libsys::Handle = 1;

fn main() -> i32 {
    if let Err(error) = ipc::recv(ENDPOINT, &mut []) {
        report("recv.1", error.name());
        return 1;
    }
    report("received.1", "not_replying");
    let word = match ipc::recv(ENDPOINT, &mut []) {
        Ok(message) => message.word(0).unwrap_or(0),
        Err(error) => {
            report("recv.2", error.name());
            return 1;
        }
    };
    report("received.2", "replying");
    let replied = ipc::reply(&Msg::with_words(0, &[word]), &[]);
    report("reply.2", result_name(&replied));
    0
}
