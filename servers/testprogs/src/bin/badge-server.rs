//! badge-server: answers every call with the badge of the handle the caller
//! used (word 0), so clients can show that badges identify them.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::server::{Reply, Request, Server, serve};

libsys::entry!(main);

/// Handle 1: our endpoint, RECEIVE.
const ENDPOINT: libsys::Handle = 1;

struct Badges;

impl Server for Badges {
    fn handle(&mut self, request: &Request, _buffer: &mut [u8]) -> Reply {
        Reply::with_words(request.label, &[request.badge])
    }
}

fn main() {
    serve(ENDPOINT, &mut Badges)
}
