//! echo: the example server. It serves the interface of its library
//! (`echo::protocol`, declared with `libsys::interface!`): `ping` and `echo`
//! send back what they get, `served` counts them, `stop` ends the server.
//! A request that fits no operation gets an error reply (ENOSYS for an
//! unknown label, EINVAL for a message of the wrong shape) and is printed
//! as `mismatch.N=ERROR`.
//!
//! This is the whole of a server written against libsys: name the endpoint
//! handle the manifest gives it, implement the interface's `Server` trait,
//! call its `serve`.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use echo::MAX_ECHO;
use echo::protocol::{self, Server};
use libsys::Result;
use libsys::interface::{Bytes, Mismatch};

libsys::entry!(main);

/// Handle 0 is the console (for `println!`); handle 1 is our endpoint.
const ENDPOINT: libsys::Handle = 1;

struct Echo {
    served: u64,
    mismatches: u64,
}

impl Server for Echo {
    fn ping(&mut self, value: u64) -> Result<u64> {
        self.served += 1;
        Ok(value)
    }

    fn echo(&mut self, words: [u64; 6], data: &[u8]) -> Result<([u64; 6], Bytes<MAX_ECHO>)> {
        self.served += 1;
        Ok((words, Bytes::from_slice(data)?))
    }

    fn served(&mut self) -> Result<u64> {
        Ok(self.served)
    }

    fn stop(&mut self) -> Result<()> {
        libsys::println!("stopping.served={}", self.served);
        libsys::exit(0)
    }

    fn mismatch(&mut self, mismatch: Mismatch) {
        self.mismatches += 1;
        libsys::println!("mismatch.{}={}", self.mismatches, mismatch.error().name());
    }
}

fn main() {
    protocol::serve(
        ENDPOINT,
        &mut Echo {
            served: 0,
            mismatches: 0,
        },
    )
}
