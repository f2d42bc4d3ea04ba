//! worker: a well-behaved bystander that does real work while a hostile
//! program misbehaves: `rounds=` IPC round trips (default 300) with the echo
//! server (handle 1), six words and 64 bytes each, every reply checked. It
//! prints that it finished and exits with 0 if every reply came back intact.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use hostile::number_arg;
use libsys::ipc::{self, Msg};

libsys::entry!(main);

/// Handle 1: SEND to the echo server.
const ECHO: libsys::Handle = 1;
const LABEL: u32 = 7;

fn main() -> i32 {
    let rounds = number_arg("rounds", 300);
    let mut buffer = [0u8; 64];
    for round in 0..rounds {
        let words = [round, round * 2, round * 3, !round, 5, 6];
        for (index, byte) in buffer.iter_mut().enumerate() {
            *byte = (round as u8).wrapping_add(index as u8);
        }
        let reply = match ipc::call(ECHO, &Msg::with_words(LABEL, &words), &mut buffer, 64) {
            Ok(reply) => reply,
            Err(error) => {
                libsys::println!("worker: round {round}: call: {}", error.name());
                return 1;
            }
        };
        let bytes_intact = reply.data.len() == 64
            && (reply.data.iter().enumerate()).all(|(index, &byte)| byte == (round as u8).wrapping_add(index as u8));
        if reply.label != LABEL || reply.words() != words || !bytes_intact {
            libsys::println!("worker: round {round}: the reply differs");
            return 2;
        }
    }
    libsys::println!("worker: finished {rounds} IPC round trips with echo, all intact");
    0
}
