//! refusing-server: a `libsys::server` whose replies cannot all be
//! delivered (`testprogs::refusals` says which label asks for which), to
//! show that the server hears of every refused reply
//! (`Server::reply_refused` prints `refused.N=ERROR`) and that none of them
//! reaches the client as an empty success.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::Error;
use libsys::abi::message::MAX_BUFFER;
use libsys::server::{Reply, Request, Server, serve};
use testprogs::refusals::*;

libsys::entry!(main);

/// Handle 0: the console (SEND only, so it cannot be passed on). Handle 1:
/// our endpoint, RECEIVE.
const CONSOLE: libsys::Handle = 0;
const ENDPOINT: libsys::Handle = 1;

struct Refusing {
    refused: u64,
}

impl Server for Refusing {
    fn handle(&mut self, request: &Request, buffer: &mut [u8]) -> Reply {
        match request.label {
            TOO_LONG_FOR_CLIENT => {
                buffer[..128].fill(b'r');
                Reply::label(request.label).with_data(128)
            }
            HANDLE_WITHOUT_TRANSFER => Reply::label(request.label).passing(CONSOLE),
            BEYOND_THE_BUFFER => Reply::label(request.label).with_data(MAX_BUFFER + 1),
            FINE => Reply::with_words(request.label, &[42]),
            REFUSED_COUNT => Reply::with_words(request.label, &[self.refused]),
            _ => Reply::error(Error::NOSYS),
        }
    }

    fn reply_refused(&mut self, error: Error) {
        self.refused += 1;
        libsys::println!("refused.{}={}", self.refused, error.name());
    }
}

fn main() {
    serve(ENDPOINT, &mut Refusing { refused: 0 })
}
