//! sink: stands in for the console in benchmarks. Answers every forwarded
//! write with its length without printing it, and swallows exit notices.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::server::{Reply, Request, Server, serve};

libsys::entry!(main);

/// Handle 1: the sink endpoint (recv). Handle 0 is the real console.
const ENDPOINT: libsys::Handle = 1;

struct Sink;

impl Server for Sink {
    fn handle(&mut self, request: &Request, _buffer: &mut [u8]) -> Reply {
        Reply::with_words(0, &[request.len as u64])
    }
}

fn main() {
    serve(ENDPOINT, &mut Sink)
}
