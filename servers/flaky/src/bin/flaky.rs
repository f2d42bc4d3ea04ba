//! flaky: a restartable server that dies when asked (`flaky::protocol`).
//!
//! Handle 0 is the console, handle 1 RECEIVE on its endpoint. With
//! `control=H` among its arguments, handle H is SEND to a control endpoint,
//! which it asks at start whether to fault at once (`flaky::control`). It
//! prints nothing: the console reports how each instance ended, and the
//! supervisor each restart.

#![no_std]
#![no_main]

use flaky::protocol::{self, Server};
use flaky::{Clock, control};
use libsys::ipc::{self, Msg};
use libsys::{Handle, Result};

libsys::entry!(main);

/// Handle 1: RECEIVE on the server's endpoint.
const ENDPOINT: Handle = 1;

struct Flaky {
    pid: u32,
}

impl Server for Flaky {
    fn ping(&mut self, value: u64) -> Result<(u64, u32)> {
        Ok((value, self.pid))
    }

    fn crash(&mut self, ticks: u64) -> Result<()> {
        Clock::new()?.pause(ticks)?;
        fault()
    }

    fn exit(&mut self, status: i32) -> Result<()> {
        libsys::exit(status)
    }

    fn hog(&mut self) -> Result<()> {
        loop {
            core::hint::spin_loop();
        }
    }
}

/// Reads address 0: the kernel kills the process for the page fault.
fn fault() -> ! {
    // SAFETY: deliberately unsound: the program exists to fault here, and
    // the kernel ends it at the read, which never returns.
    let value = unsafe { core::ptr::read_volatile(core::ptr::null::<u64>()) };
    libsys::exit(value as i32)
}

fn main() {
    let pid = libsys::get_pid();
    if let Some(control) = libsys::arg("control").and_then(|handle| handle.parse().ok()) {
        let started = Msg::with_words(control::STARTED, &[u64::from(pid), libsys::time::ticks()]);
        match ipc::call_words(control, &started) {
            Ok(answer) if answer.word(0) == Some(control::CRASH) => fault(),
            Ok(_) => {}
            Err(error) => libsys::results::report("control", error.name()),
        }
    }
    protocol::serve(ENDPOINT, &mut Flaky { pid })
}
