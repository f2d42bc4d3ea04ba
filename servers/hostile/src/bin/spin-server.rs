//! spin-server: receives one call on handle 1 and then spins forever
//! without replying or making any syscall. Its manifest entry gives it a
//! `cpu_limit`: the kernel must kill it for that, and its caller, blocked
//! waiting for the reply, must be released with EPEERGONE. It reports
//! `received=1` before it spins.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

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
    let mut state: u64 = 1;
    loop {
        state = core::hint::black_box(state.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
}
