//! fuzz-printer: prints the fuzzer's report. The fuzzer's handle 0 is the sink
//! (its random writes must not reach the serial port), so it sends its
//! report lines here (label `fuzzer::PRINT`) and the printer writes them to
//! its own handle 0, the real console.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::server::{Reply, Request, Server, serve};

libsys::entry!(main);

/// Handle 1: the printer endpoint (RECV). Handle 0 is the console.
const ENDPOINT: libsys::Handle = 1;

struct Printer;

impl Server for Printer {
    fn handle(&mut self, request: &Request, buffer: &mut [u8]) -> Reply {
        if request.label == fuzzer::PRINT && !request.from_kernel {
            let _ = libsys::write_all(1, &buffer[..request.len]);
        }
        Reply::label(0)
    }
}

fn main() {
    serve(ENDPOINT, &mut Printer)
}
