//! pass-server: receives messages on its endpoint (handle 1); for each one
//! that carries a handle, sends a greeting on that handle and closes it.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::ipc::{self, Msg};

libsys::entry!(main);

/// Handle 1: our endpoint, RECEIVE.
const ENDPOINT: libsys::Handle = 1;
const GREETING: &[u8] = b"hello through a passed handle";

fn main() -> libsys::Result<()> {
    let mut buffer = [0u8; 64];
    loop {
        let passed = ipc::recv(ENDPOINT, &mut buffer)?.handle;
        let Some(handle) = passed else {
            libsys::println!("a message without a handle");
            continue;
        };
        let sent = ipc::send(handle, &Msg::new(0x77), GREETING);
        libsys::println!("sent on the passed handle: {}", testprogs::result_name(&sent));
        libsys::handle_close(handle)?;
    }
}
