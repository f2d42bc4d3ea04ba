//! pingpong: calls the echo server over and over through its typed
//! interface (`echo::protocol`), with six words and 64 bytes each time, and
//! checks every reply. Reports `round_trips=N`, `check.replies_intact` and
//! the `ticks=` it took; exits with 0 if all came back intact.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use echo::protocol::Client;

libsys::entry!(main);

/// Handle 1: SEND to the echo server.
const ECHO: Client = Client::new(1);
const ROUNDS: u64 = 1000;

fn main() -> i32 {
    let mut data = [0u8; 64];
    let start = libsys::get_ticks();
    for round in 0..ROUNDS {
        let words = [round, round * 2, round * 3, !round, 5, 6];
        for (i, byte) in data.iter_mut().enumerate() {
            *byte = (round as u8).wrapping_add(i as u8);
        }
        match ECHO.echo(words, &data) {
            Ok((back, bytes)) if back == words && bytes[..] == data => {}
            Ok(reply) => {
                libsys::results::report(format_args!("round.{round}"), format_args!("reply differs: {reply:?}"));
                libsys::results::check("replies_intact", false);
                return 2;
            }
            Err(error) => {
                libsys::results::report(format_args!("round.{round}"), error.name());
                return 1;
            }
        }
    }
    libsys::results::report("round_trips", ROUNDS);
    libsys::results::check("replies_intact", true);
    libsys::results::report("ticks", libsys::get_ticks() - start);
    0
}
