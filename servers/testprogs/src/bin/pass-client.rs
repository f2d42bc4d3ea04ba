//! pass-client: creates an endpoint, passes a badged SEND handle to it to the
//! pass server over the manifest's `relay` endpoint (handle 1), and receives
//! the message the server sends back on it (`received.data`,
//! `received.label`, `received.badge`). Then tries to pass handles that lack
//! the TRANSFER right, which must fail with ENORIGHTS
//! (`pass_without_transfer`, `pass_console`), and to use a closed handle,
//! which must fail with EBADHANDLE (`send_on_closed`).

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::ipc::{self, Msg};
use libsys::results::report;
use libsys::{Error, Rights};
use testprogs::result_name;
use testspec::pass::BADGE;

libsys::entry!(main);

/// Handle 0: the console (SEND only). Handle 1: SEND to the pass server.
const CONSOLE: libsys::Handle = 0;
const RELAY: libsys::Handle = 1;

fn main() -> libsys::Result<()> {
    let mine = libsys::endpoint_create()?;
    let for_server = libsys::handle_dup(mine, Rights::SEND | Rights::TRANSFER, BADGE)?;
    ipc::send(RELAY, &Msg::new(1).passing(for_server), &[])?;
    // Our copy is no longer needed: the server holds its own.
    libsys::handle_close(for_server)?;

    let mut buffer = [0u8; 64];
    let message = ipc::recv(mine, &mut buffer)?;
    report(
        "received.data",
        core::str::from_utf8(message.data).unwrap_or("<not UTF-8>"),
    );
    report("received.label", format_args!("{:#x}", message.label));
    report("received.badge", message.badge);

    let send_only = libsys::handle_dup(mine, Rights::SEND, 0)?;
    let result = ipc::send(RELAY, &Msg::new(2).passing(send_only), &[]);
    report("pass_without_transfer", result_name(&result));
    let result_console = ipc::send(RELAY, &Msg::new(2).passing(CONSOLE), &[]);
    report("pass_console", result_name(&result_console));
    if result.err() != Some(Error::NORIGHTS) || result_console.err() != Some(Error::NORIGHTS) {
        return Err(Error::INVAL);
    }
    libsys::handle_close(send_only)?;
    // A closed handle is stale, even though its slot may be reused.
    let stale = ipc::send(send_only, &Msg::new(3), &[]);
    report("send_on_closed", result_name(&stale));
    libsys::handle_close(mine)?;
    if stale.err() != Some(Error::BADHANDLE) {
        return Err(Error::INVAL);
    }
    Ok(())
}
