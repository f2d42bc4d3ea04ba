//! worker: a well-behaved bystander that does real work while a hostile
//! program misbehaves: `rounds=` IPC round trips (default 300) with the echo
//! server (handle 1, its typed interface), six words and 64 bytes each,
//! every reply checked. It reports `rounds=N` and `check.replies_intact`,
//! and exits with 0 if every reply came back intact.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use echo::protocol::Client;
use hostile::number_arg;
use libsys::results::{check, report};
use testspec::WORKER_ROUNDS;

libsys::entry!(main);

/// Handle 1: SEND to the echo server.
const ECHO: Client = Client::new(1);

fn main() -> i32 {
    let rounds = number_arg("rounds", WORKER_ROUNDS);
    let mut data = [0u8; 64];
    for round in 0..rounds {
        let words = [round, round * 2, round * 3, !round, 5, 6];
        for (index, byte) in data.iter_mut().enumerate() {
            *byte = (round as u8).wrapping_add(index as u8);
        }
        match ECHO.echo(words, &data) {
            Ok((back, bytes)) if back == words && bytes[..] == data => {}
            Ok(_) => {
                report(format_args!("round.{round}"), "differs");
                check("replies_intact", false);
                return 2;
            }
            Err(error) => {
                report(format_args!("round.{round}"), error.name());
                return 1;
            }
        }
    }
    report("rounds", rounds);
    check("replies_intact", true);
    0
}
