//! bulkserver: the peer of the bulk-transfer benchmarks. Each request is
//! answered with an empty reply:
//!
//! - `label::TAKE`: takes the bytes that came with the request (the kernel
//!   copied them into our buffer);
//! - `label::SHARE`: the request passes a memory object; we map it;
//! - `label::NOTIFY`: words `[offset, len]` name bytes in the shared
//!   object, which the client wrote there; we read the first and the last
//!   word of them (so the transfer is real on both sides), and answer with
//!   their sum in word 0.

#![no_std]
#![no_main]

use bench::label;
use libsys::abi::memory::Perms;
use libsys::ipc::{self, Msg};

libsys::entry!(main);

/// Handle 1: the server's endpoint (recv).
const ENDPOINT: libsys::Handle = 1;

fn main() {
    let mut buffer = [0u8; 4096];
    let mut shared: u64 = 0;
    let mut reply = Msg::new(0);
    loop {
        let request = ipc::reply_recv(ENDPOINT, &reply, &mut buffer, 0).expect("reply_recv");
        reply = Msg::new(0);
        match request.label {
            label::SHARE => {
                let object = request.handle.expect("a memory object");
                shared = libsys::mem_map_object(object, 0, Perms::READ).expect("mem_map_object");
            }
            label::NOTIFY => {
                let (offset, len) = (request.word(0).unwrap_or(0), request.word(1).unwrap_or(8));
                let first = shared + offset;
                let last = first + len - 8;
                // SAFETY: the client names bytes of the object we mapped
                // read-only; reading two aligned words changes nothing.
                let sum = unsafe {
                    core::ptr::read_volatile(first as *const u64)
                        .wrapping_add(core::ptr::read_volatile(last as *const u64))
                };
                reply = Msg::with_words(0, &[sum]);
            }
            _ => {}
        }
    }
}
