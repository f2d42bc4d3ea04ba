//! fuzz-peer: the servers the fuzzer talks to. With `mode=sink` it is the
//! fuzzer's console (handle 0): it answers every forwarded `write` (and any
//! other message) with its length in word 0 and no bytes, printing
//! nothing, so random writes never reach the serial port; a write of
//! exactly `fuzzer::SINK_ERROR_LEN` bytes it answers with an error code
//! instead (`fuzzer::SINK_ERROR`), as a hostile console could. With
//! `mode=mirror` it answers every message with its label, words and bytes
//! transformed by `fuzzer::mirror` (the fuzzer checks them), and passes a
//! handle it was given back when the label is odd.
//!
//! Each receives with the room `fuzzer::peer::room` gives for the last
//! message it took, so the kernel refuses longer messages (the sender gets
//! ETOOLONG), and answers the labels `fuzzer::peer::refusal` names with an
//! error reply; the sink also refuses a write of exactly
//! `fuzzer::SINK_REFUSE_LEN` bytes with EINVAL.
//!
//! Both close every handle they receive before waiting again, so nothing
//! the fuzzer passes them outlives the fuzzer, and neither gives up on a
//! caller: a refused reply (too long for the caller, no room for the
//! handle) is replaced by an empty one. A reply without a handle to close
//! goes out with `reply_recv` (the IPC fast path when it has no bytes);
//! one with a handle with `reply`, then the handle is closed, then `recv`.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::abi::message::{MAX_BUFFER, MAX_WORDS, error_reply};
use libsys::ipc::{self, Msg};
use libsys::{Error, Handle};

libsys::entry!(main);

/// Handle 1: the endpoint it serves (RECV). Handle 0 is the console.
const ENDPOINT: Handle = 1;
/// Failed receives in a row after which something is badly wrong.
const FAILURES: u32 = 1000;

/// What arrived, copied out of the buffer's borrow.
struct Request {
    label: u32,
    words: [u64; MAX_WORDS],
    word_count: usize,
    len: usize,
    handle: Option<Handle>,
    from_kernel: bool,
}

/// The answer to `request`; its bytes are the first `len` of the buffer.
fn answer(mirror: bool, request: &Request, buffer: &mut [u8]) -> (Msg, usize) {
    let refusal = match request.from_kernel {
        true if request.len == fuzzer::SINK_REFUSE_LEN => Some(libsys::Error::INVAL),
        true => None,
        false => fuzzer::peer::refusal(request.label),
    };
    if let Some(error) = refusal {
        let (info, word) = error_reply(error);
        return (Msg::with_words(info.label(), &[word]), 0);
    }
    if !mirror {
        let count = if request.from_kernel && request.len == fuzzer::SINK_ERROR_LEN {
            fuzzer::SINK_ERROR.to_return()
        } else {
            request.len as u64
        };
        return (Msg::with_words(0, &[count]), 0);
    }
    let mut words = [0u64; MAX_WORDS];
    for (index, word) in words.iter_mut().enumerate().take(request.word_count) {
        *word = fuzzer::mirror::word(request.words[index], index);
    }
    for (index, byte) in buffer[..request.len].iter_mut().enumerate() {
        *byte = fuzzer::mirror::byte(*byte, index);
    }
    let mut reply = Msg::with_words(fuzzer::mirror::label(request.label), &words[..request.word_count]);
    if let Some(handle) = request.handle
        && request.label & 1 == 1
    {
        reply = reply.passing(handle);
    }
    (reply, request.len)
}

fn main() -> i32 {
    let mirror = libsys::arg("mode") == Some("mirror");
    let mut buffer = [0u8; MAX_BUFFER];
    let mut failures = 0;
    // The reply `reply_recv` sends before it waits, if any.
    let mut pending: Option<(Msg, usize)> = None;
    // The room the next receive has (`fuzzer::peer::room`).
    let mut room = fuzzer::peer::FIRST_ROOM;
    loop {
        // The reply's bytes are the first `len` of the buffer, and the
        // receive takes exactly `room`: a reply longer than the room goes
        // out on its own first.
        let received = match pending.take() {
            Some((reply, len)) if len <= room => ipc::reply_recv(ENDPOINT, &reply, &mut buffer[..room], len),
            Some((reply, len)) => {
                answer_alone(&reply, &buffer[..len]);
                ipc::recv(ENDPOINT, &mut buffer[..room])
            }
            None => ipc::recv(ENDPOINT, &mut buffer[..room]),
        };
        let request = match received {
            Ok(message) => Request {
                label: message.label,
                words: {
                    let mut words = [0; MAX_WORDS];
                    words[..message.words().len()].copy_from_slice(message.words());
                    words
                },
                word_count: message.words().len(),
                len: message.data.len(),
                handle: message.handle,
                from_kernel: message.from_kernel,
            },
            // The caller could not take the reply: that ended its call
            // (it got the same error), so there is no one to answer.
            Err(Error::TOOLONG | Error::TABLEFULL) => continue,
            Err(error) => {
                failures += 1;
                if failures == FAILURES {
                    libsys::println!("receiving keeps failing: {}", error.name());
                    return 3;
                }
                continue;
            }
        };
        failures = 0;
        room = fuzzer::peer::room(request.label, request.len);
        let (reply, len) = answer(mirror, &request, &mut buffer);
        let Some(handle) = request.handle else {
            pending = Some((reply, len));
            continue;
        };
        answer_alone(&reply, &buffer[..len]);
        let _ = libsys::handle_close(handle);
    }
}

/// Sends `reply` with `reply` (not `reply_recv`); a refused one is replaced
/// by an empty one, so no caller waits forever.
fn answer_alone(reply: &Msg, bytes: &[u8]) {
    match ipc::reply(reply, bytes) {
        // A plain send needs no reply.
        Ok(()) | Err(Error::NOREPLY) => {}
        Err(_) => {
            let _ = ipc::reply(&Msg::new(0), &[]);
        }
    }
}
