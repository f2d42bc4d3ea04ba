//! handle-stuffer: sends the console (handle 0) `messages=` messages
//! (default 40) with a label it does not serve, each passing a handle to a
//! fresh endpoint of its own, which it then closes. The console must not
//! keep what it never asked for: once the stuffer is gone, its endpoints
//! must be gone too. It reports how many sends were taken and refused, and
//! the kernel's endpoint and handle counts before and after.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use hostile::number_arg;
use libsys::ipc::{self, Msg};
use libsys::{Error, Rights};

libsys::entry!(main);

/// Handle 0: SEND to the console.
const CONSOLE: libsys::Handle = 0;
/// A label the console does not serve.
const BOGUS: u32 = 0xbad;

fn main() -> i32 {
    let messages = number_arg("messages", 40);
    let before = libsys::stats().unwrap_or_default();
    let (mut taken, mut refused, mut first_refusal) = (0, 0, None);
    for _ in 0..messages {
        let endpoint = match libsys::endpoint_create() {
            Ok(endpoint) => endpoint,
            Err(error) => {
                libsys::println!("handle-stuffer: endpoint_create: {}", error.name());
                return 1;
            }
        };
        let passed = libsys::handle_dup(endpoint, Rights::SEND | Rights::TRANSFER, 0);
        let sent = passed.and_then(|passed| {
            let sent = ipc::send(CONSOLE, &Msg::new(BOGUS).passing(passed), &[]);
            libsys::handle_close(passed).and(sent)
        });
        match sent {
            Ok(()) => taken += 1,
            Err(error) => {
                refused += 1;
                first_refusal.get_or_insert(error);
            }
        }
        let _ = libsys::handle_close(endpoint);
    }
    let after = libsys::stats().unwrap_or_default();
    libsys::println!(
        "handle-stuffer: passed {messages} handles to the console: {taken} taken, {refused} refused ({}); \
         endpoints {} -> {}, handles {} -> {}",
        first_refusal.map_or("none", Error::name),
        before.endpoints,
        after.endpoints,
        before.handles,
        after.handles
    );
    0
}
