//! yielder: the partner of the yield benchmark. When the coordinator calls
//! it, it replies and then yields as often as the coordinator does, so each
//! `yield` switches between the two.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::ipc::{self, Msg};

libsys::entry!(main);

/// Handle 1: this partner's endpoint (recv).
const ENDPOINT: libsys::Handle = 1;
/// The coordinator's warm-up batch plus its timed batches, and a margin.
const YIELDS: u64 = 1_000 * (bench::BATCHES as u64 + 1) + 100;

fn main() {
    let mut buffer = [0u8; 0];
    ipc::recv(ENDPOINT, &mut buffer).expect("recv");
    ipc::reply(&Msg::new(0), &[]).expect("reply");
    for _ in 0..YIELDS {
        libsys::yield_now();
    }
}
