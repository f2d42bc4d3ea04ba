//! crash-server: receives one call on handle 1 and then dereferences a null
//! pointer instead of replying. The kernel kills it for the page fault, and
//! its caller, blocked waiting for the reply, must be released with
//! EPEERGONE. It reports `received=1` before the fault.

#![no_std]
#![no_main]

use libsys::ipc;

libsys::entry!(main);

/// Handle 1: RECEIVE on the server's endpoint.
const ENDPOINT: libsys::Handle = 1;

fn main() -> i32 {
    if let Err(error) = ipc::recv(ENDPOINT, &mut []) {
        libsys::results::report("recv", error.name());
        return 1;
    }
    libsys::results::report("received", 1);
    // SAFETY: deliberately unsound: the server exists to fault while its
    // caller waits for the reply.
    let value = unsafe { core::ptr::read_volatile(core::ptr::null::<u64>()) };
    value as i32
}
