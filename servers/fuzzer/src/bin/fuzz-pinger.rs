//! fuzz-pinger: calls the fuzzer on the inbox (handle 1) again and again, so the
//! fuzzer's `recv`, `reply` and `reply_recv` also meet a real caller. The
//! fuzzer starts it. Labels, word counts, lengths, timeouts and the room
//! left for replies are random (`seed=N`); words and bytes follow from the
//! label (`fuzzer::pattern`), so the fuzzer can check them. It closes any handle a reply brings (an
//! endpoint or a memory object), and ends
//! when the fuzzer is gone: then a non-blocking send on the lifeline
//! (handle 2), which only the fuzzer receives on, fails with EPEERGONE.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use fuzzer::{Random, number_arg, pattern};
use libsys::abi::message::{MAX_BUFFER, MAX_WORDS, MsgFlags};
use libsys::ipc::{self, Exchange, Msg};
use libsys::{Error, Handle, MsgInfo};

libsys::entry!(main);

/// Handle 1: SEND on the inbox. Handle 2: SEND on the lifeline.
const INBOX: Handle = 1;
const LIFELINE: Handle = 2;

/// Whether the fuzzer is gone (nobody can receive on the lifeline).
fn fuzzer_gone() -> bool {
    ipc::send(LIFELINE, &Msg::new(0).nonblocking(), &[]) == Err(Error::PEERGONE)
}

fn main() -> i32 {
    let mut random = Random::new(number_arg("seed", 1) ^ 0x7069_6e67_6572);
    let mut buffer = [0u8; MAX_BUFFER];
    loop {
        let label = random.bits() as u32;
        let count = random.below(MAX_WORDS as u64 + 1) as usize;
        let mut words = [0u64; MAX_WORDS];
        for (index, word) in words.iter_mut().enumerate() {
            *word = pattern::word(label, index);
        }
        let timeout = match random.below(8) {
            0 => random.between(1, 3) as u32,
            _ => 0,
        };
        let capacity = match random.below(6) {
            0 => 0,
            1 => 16,
            2 => MAX_BUFFER,
            _ => random.below(MAX_BUFFER as u64 + 1) as usize,
        };
        let send_len = random.below(capacity.min(256) as u64 + 1) as usize;
        for (index, byte) in buffer[..send_len].iter_mut().enumerate() {
            *byte = pattern::byte(label, index);
        }
        // The exchange, not `ipc::call`: the fuzzer's replies are random, so
        // some have the error reply's label; they are replies all the same.
        let mut exchange = Exchange::new(&mut buffer[..capacity]);
        exchange.set_info(MsgInfo::new(label, count, send_len).with_timeout(timeout));
        *exchange.words_mut() = words;
        match exchange.call(INBOX) {
            Ok(()) => {
                if exchange.info().flags().contains(MsgFlags::HANDLE) {
                    let _ = libsys::handle_close(exchange.words()[0]);
                }
            }
            // The fuzzer received the call and then dropped it, or is gone.
            Err(Error::PEERGONE) => {
                if fuzzer_gone() {
                    return 0;
                }
            }
            // The fuzzer's receive refused the message (its buffer was too
            // small): the sender gets the error, as the ABI says. Or the
            // timeout ran out. Or the fuzzer's reply passed a memory object
            // this program's memory limit cannot take, which ends the call
            // with ENOMEM.
            Err(Error::TOOLONG | Error::TIMEDOUT | Error::NOMEM) => {}
            Err(error) => {
                libsys::println!("call on the inbox: {}", error.name());
                return 2;
            }
        }
    }
}
