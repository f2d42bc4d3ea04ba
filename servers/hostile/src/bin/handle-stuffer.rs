//! handle-stuffer: sends the console (handle 0) `messages=` messages
//! (default 40) with a label it does not serve, each passing a handle to a
//! fresh endpoint of its own, which it then closes. The console must not
//! keep what it never asked for: once the stuffer is gone, its endpoints
//! must be gone too. It reports how many handles it passed (`passed=`), how
//! many sends were taken and refused (`taken=`, `refused=`, the first
//! refusal's error as `first_refusal=`), and the kernel's endpoint and
//! handle counts before and after (`endpoints.before=` ...).

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use hostile::number_arg;
use libsys::ipc::{self, Msg};
use libsys::results::report;
use libsys::{Error, Rights};
use testspec::UNSERVED_LABEL;

libsys::entry!(main);

/// Handle 0: SEND to the console.
const CONSOLE: libsys::Handle = 0;

fn main() -> i32 {
    let messages = number_arg("messages", 40);
    let before = libsys::stats().unwrap_or_default();
    let (mut taken, mut refused, mut first_refusal) = (0, 0, None);
    for _ in 0..messages {
        let endpoint = match libsys::endpoint_create() {
            Ok(endpoint) => endpoint,
            Err(error) => {
                report("endpoint_create", error.name());
                return 1;
            }
        };
        let passed = libsys::handle_dup(endpoint, Rights::SEND | Rights::TRANSFER, 0);
        let sent = passed.and_then(|passed| {
            let sent = ipc::send(CONSOLE, &Msg::new(UNSERVED_LABEL).passing(passed), &[]);
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
    report("passed", messages);
    report("taken", taken);
    report("refused", refused);
    report("first_refusal", first_refusal.map_or("none", Error::name));
    report("endpoints.before", before.endpoints);
    report("endpoints.after", after.endpoints);
    report("handles.before", before.handles);
    report("handles.after", after.handles);
    0
}
