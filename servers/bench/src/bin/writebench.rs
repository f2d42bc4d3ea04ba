//! writebench: measures `write` of 64 bytes. Its handle 0 (where `write`
//! goes) is the sink, so the cost is the kernel's forwarding and the
//! server's reply, not the UART. Runs when the coordinator calls it.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use bench::{label, measure};
use libsys::ipc::{self, Msg};

libsys::entry!(main);

/// Handle 1: this benchmark's endpoint (recv), called by the coordinator.
const ENDPOINT: libsys::Handle = 1;

fn main() {
    let line = [b'x'; 64];
    let mut buffer = [0u8; 0];
    let request = ipc::recv(ENDPOINT, &mut buffer).expect("recv");
    assert_eq!(request.label, label::RUN);
    let cost = measure(1_000, || {
        libsys::write(1, &line).expect("write to the sink");
    });
    ipc::reply(&Msg::with_words(0, &[cost]), &[]).expect("reply");
}
