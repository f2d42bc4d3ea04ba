//! long-reply: a server written with plain IPC calls (not the libsys server
//! loop). For each call (`request.N=BYTES`) it tries to reply with 128
//! bytes through `reply_recv` (`reply_recv.N=RESULT`), which fails with
//! ETOOLONG when the caller has room for fewer. That ends the call (the
//! caller's `call` fails with ETOOLONG too), so a second reply, of 32
//! bytes, finds no caller: `reply.N=ENOREPLY`.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::ipc::{self, Msg};
use libsys::results::report;
use testprogs::result_name;

libsys::entry!(main);

/// Handle 1: our endpoint, RECEIVE.
const ENDPOINT: libsys::Handle = 1;

fn main() -> libsys::Result<()> {
    let mut buffer = [0u8; 256];
    let mut request = 0;
    loop {
        request += 1;
        let request_len = ipc::recv(ENDPOINT, &mut buffer)?.data.len();
        report(format_args!("request.{request}"), request_len);
        buffer.fill(b'r');
        let long = ipc::reply_recv(ENDPOINT, &Msg::new(5), &mut buffer, 128).map(drop);
        report(format_args!("reply_recv.{request}"), result_name(&long));
        if long.is_ok() {
            // The kernel took the reply and a new message; nothing to check.
            continue;
        }
        let short = ipc::reply(&Msg::new(6), &buffer[..32]);
        report(format_args!("reply.{request}"), result_name(&short));
    }
}
