//! mirror: a raw "send back whatever arrives" server (a `libsys::server`
//! with no protocol): every request comes back as its reply, with the same
//! label, words and bytes. For tests of the message ABI itself; the echo
//! server speaks a typed interface instead.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::server::{Reply, Request, Server, serve};

libsys::entry!(main);

/// Handle 1: our endpoint, RECEIVE.
const ENDPOINT: libsys::Handle = 1;

struct Mirror;

impl Server for Mirror {
    fn handle(&mut self, request: &Request, _buffer: &mut [u8]) -> Reply {
        // The reply bytes are the request bytes: they are in the buffer.
        Reply::with_words(request.label, request.words()).with_data(request.len)
    }
}

fn main() {
    serve(ENDPOINT, &mut Mirror)
}
