//! pairclient: the client of the second IPC pair in `smpbench`'s
//! throughput benchmark, pinned on CPU 1 with its server. Told to start
//! (`label::START`, word 0 round trips), it warms up, answers, and makes
//! that many 0-word echo round trips, reading the TSC before the first and
//! after the last; `label::RESULT` is answered with those two readings
//! once it is done.
//!
//! Handles: 0 console, 1 its control endpoint (recv), 2 its server (send).

#![no_std]
#![no_main]

use bench::{label, tsc};
use libsys::MsgInfo;
use libsys::ipc::{self, Exchange, Msg};

libsys::entry!(main);

const CONTROL: libsys::Handle = 1;
const SERVER: libsys::Handle = 2;

fn main() {
    let mut exchange = Exchange::new(&mut []);
    exchange.set_info(MsgInfo::new(label::ECHO, 0, 0));
    let mut result = [0u64; 2];
    loop {
        let message = ipc::recv(CONTROL, &mut []).expect("control");
        match message.label {
            label::START => {
                let round_trips = message.word(0).unwrap_or(0);
                for _ in 0..1_000 {
                    exchange.call(SERVER).expect("warm-up call");
                }
                ipc::reply(&Msg::new(label::START), &[]).expect("answer start");
                let start = tsc();
                for _ in 0..round_trips {
                    exchange.call(SERVER).expect("echo call");
                }
                result = [start, tsc()];
            }
            _ => ipc::reply(&Msg::with_words(label::RESULT, &result), &[]).expect("answer result"),
        }
    }
}
