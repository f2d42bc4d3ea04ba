//! pingpong: calls the echo server over and over, with register words and a
//! buffer, and checks every reply. Exits with 0 if all came back intact.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::ipc::{self, Msg};

libsys::entry!(main);

/// Handle 1: SEND to the echo server.
const ECHO: libsys::Handle = 1;
const ROUNDS: u64 = 1000;

fn main() -> i32 {
    let mut buffer = [0u8; 64];
    let start = libsys::get_ticks();
    for round in 0..ROUNDS {
        let words = [round, round * 2, round * 3, !round, 5, 6];
        for (i, byte) in buffer.iter_mut().enumerate() {
            *byte = (round as u8).wrapping_add(i as u8);
        }
        let msg = Msg::with_words(7, &words);
        let reply = match ipc::call(ECHO, &msg, &mut buffer, 64) {
            Ok(reply) => reply,
            Err(error) => {
                libsys::println!("round {round}: call failed: {error}");
                return 1;
            }
        };
        let bytes_ok = reply.data.len() == 64
            && reply
                .data
                .iter()
                .enumerate()
                .all(|(i, &b)| b == (round as u8).wrapping_add(i as u8));
        if reply.label != 7 || reply.words() != words || !bytes_ok {
            libsys::println!("round {round}: reply differs: {reply:?}");
            return 2;
        }
    }
    libsys::println!(
        "{ROUNDS} IPC round trips with 6 words and 64 bytes each: all intact ({} ticks)",
        libsys::get_ticks() - start
    );
    0
}
