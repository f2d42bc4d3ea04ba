//! echo: the example server. Every request comes back as its reply: the same
//! label, the same words and the same bytes. Label [`STOP`] makes it exit
//! (tests use that to check what happens to callers of a dead server).
//!
//! This is the whole of a server written against libsys: name the endpoint
//! handle the manifest gives it, implement `Server::handle`, call `serve`.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::server::{Reply, Request, Server, serve};

libsys::entry!(main);

/// Handle 0 is the console (for `println!`); handle 1 is our endpoint.
const ENDPOINT: libsys::Handle = 1;
/// Ends the server (after replying).
pub const STOP: u32 = 0xdead;

struct Echo {
    served: u64,
}

impl Server for Echo {
    fn handle(&mut self, request: &Request, _buffer: &mut [u8]) -> Reply {
        if request.label == STOP {
            libsys::println!("stopping after {} requests", self.served);
            libsys::exit(0);
        }
        self.served += 1;
        // The reply bytes are the request bytes: they are already in the buffer.
        Reply::with_words(request.label, request.words()).with_data(request.len)
    }
}

fn main() {
    serve(ENDPOINT, &mut Echo { served: 0 })
}
