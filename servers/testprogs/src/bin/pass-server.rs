//! pass-server: receives messages on its endpoint (handle 1) and reports
//! each (`message.N=handle` or `message.N=none`); for each one that carries
//! a handle, sends `testspec::pass::GREETING` on that handle
//! (`sent.N=RESULT`) and closes it.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::ipc::{self, Msg};
use libsys::results::report;
use testspec::pass::{GREETING, LABEL};

libsys::entry!(main);

/// Handle 1: our endpoint, RECEIVE.
const ENDPOINT: libsys::Handle = 1;

fn main() -> libsys::Result<()> {
    let mut buffer = [0u8; 64];
    let mut count = 0;
    loop {
        let passed = ipc::recv(ENDPOINT, &mut buffer)?.handle;
        count += 1;
        report(
            format_args!("message.{count}"),
            if passed.is_some() { "handle" } else { "none" },
        );
        let Some(handle) = passed else {
            continue;
        };
        let sent = ipc::send(handle, &Msg::new(LABEL), GREETING.as_bytes());
        report(format_args!("sent.{count}"), testprogs::result_name(&sent));
        libsys::handle_close(handle)?;
    }
}
