//! child: what the stress test's spawner starts 500 times. It creates an
//! endpoint, sends the spawner (handle 1, `reaper`) a SEND handle to it and
//! its pid, then exits if its pid is even or dereferences null if it is odd.
//! Its endpoint's only RECEIVE handle dies with it, which tells the spawner
//! it is gone.

#![no_std]
#![no_main]

use libsys::Rights;
use libsys::ipc::{self, Msg};

libsys::entry!(main);

/// Handle 1: SEND to the spawner's reaper endpoint.
const REAPER: libsys::Handle = 1;

fn main() -> i32 {
    let pid = libsys::get_pid() as u64;
    let lifeline =
        libsys::endpoint_create().and_then(|mine| libsys::handle_dup(mine, Rights::SEND | Rights::TRANSFER, 0));
    let sent = match lifeline {
        Ok(handle) => ipc::send(REAPER, &Msg::with_words(1, &[0, pid]).passing(handle), &[]),
        // Without a handle the spawner reports the failure.
        Err(error) => ipc::send(REAPER, &Msg::with_words(2, &[error as u64, pid]), &[]),
    };
    if sent.is_err() || lifeline.is_err() {
        return 2;
    }
    if pid.is_multiple_of(2) {
        return 0;
    }
    // SAFETY: deliberately unsound: odd children exist to fault.
    let value = unsafe { core::ptr::read_volatile(core::ptr::null::<u64>()) };
    value as i32
}
