//! spawnee: started by the spawn benchmark; tells the coordinator it ran,
//! then exits.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::ipc::{self, Msg};

libsys::entry!(main);

/// Handle 1: the coordinator's reaper endpoint (send).
const REAPER: libsys::Handle = 1;

fn main() {
    ipc::send(REAPER, &Msg::new(0), &[]).expect("send");
}
