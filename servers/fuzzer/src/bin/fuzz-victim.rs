//! fuzz-victim: what the fuzzer may spawn (often a burst of them, until the
//! process table is full). It takes an endpoint and two handles, and every
//! other one calls the fuzzer on the inbox (handle 1) with a timeout of 1 to
//! 3 ticks and a `fuzzer::pattern` message, before it exits: the kernel has
//! something to reclaim at every teardown, and the fuzzer sometimes owes a
//! reply to a caller that gives up or is gone.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use fuzzer::pattern;
use libsys::Rights;
use libsys::ipc::{self, Msg};

libsys::entry!(main);

/// Handle 1: SEND on the inbox (badge `fuzzer::badges::VICTIM`).
const INBOX: libsys::Handle = 1;

fn main() -> i32 {
    if let Ok(endpoint) = libsys::endpoint_create() {
        let _ = libsys::handle_dup(endpoint, Rights::SEND, 7);
    }
    let pid = libsys::get_pid();
    if pid.is_multiple_of(2) {
        let label = pid.wrapping_mul(0x9e37_79b9);
        let count = (pid % 7) as usize;
        let mut words = [0u64; 6];
        for (index, word) in words.iter_mut().enumerate() {
            *word = pattern::word(label, index);
        }
        let mut buffer = [0u8; 64];
        let len = (pid % 64) as usize;
        for (index, byte) in buffer[..len].iter_mut().enumerate() {
            *byte = pattern::byte(label, index);
        }
        let msg = Msg::with_words(label, &words[..count]).with_timeout(1 + pid % 3);
        let _ = ipc::call(INBOX, &msg, &mut buffer, len);
    }
    0
}
