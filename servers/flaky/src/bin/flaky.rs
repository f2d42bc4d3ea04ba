//! flaky: a restartable server that dies when asked (`flaky::protocol`).
//!
//! Handle 0 is the console, handle 1 RECEIVE on its endpoint; with
//! `control` among its arguments, handle 2 is SEND to a control endpoint,
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
/// Handle 2: SEND to the control endpoint (with `control` in the arguments).
const CONTROL: Handle = 2;

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
    if libsys::arg("control").is_some() {
        let started = Msg::with_words(control::STARTED, &[u64::from(pid), libsys::time::ticks()]);
        match ipc::call_words(CONTROL, &started) {
            Ok(answer) if answer.word(0) == Some(control::CRASH) => fault(),
            Ok(_) => {}
            Err(error) => libsys::results::report("control", error.name()),
        }
    }
    protocol::serve(ENDPOINT, &mut Flaky { pid })
}
