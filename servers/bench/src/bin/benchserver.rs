//! benchserver: the IPC peer of the round-trip benchmarks. Replies to every
//! message with the same label, words and bytes: what arrives goes straight
//! back out through one `reply_recv` per request (what the fast path is
//! built for).

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::ipc::Exchange;

libsys::entry!(main);

/// Handle 1: the server's endpoint (recv).
const ENDPOINT: libsys::Handle = 1;

fn main() {
    let mut buffer = [0u8; 4096];
    let mut exchange = Exchange::new(&mut buffer);
    loop {
        // The reply is the request: label, words and bytes already in place.
        exchange.reply_recv(ENDPOINT).expect("reply_recv");
    }
}
