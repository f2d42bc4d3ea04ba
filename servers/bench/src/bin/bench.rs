//! bench: the coordinator. Runs every benchmark in turn (never two at once:
//! the TSC counts the whole machine) and prints `key=value` lines that
//! `cargo xtask bench` collects.
//!
//! Handles: 0 console, 1 the IPC server, 2 the write benchmark, 3 the yield
//! partner, 4 the spawn reaper endpoint (recv).

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use bench::{label, measure, report, tsc};
use libsys::MsgInfo;
use libsys::abi::Syscall;
use libsys::ipc::{self, Exchange, Msg};

libsys::entry!(main);

const SERVER: libsys::Handle = 1;
const WRITER: libsys::Handle = 2;
const YIELDER: libsys::Handle = 3;
const REAPER: libsys::Handle = 4;

fn main() {
    libsys::println!("bench.status=begin");
    report("loop.empty", measure(10_000, || core::hint::black_box(())));
    report(
        "null_syscall",
        measure(10_000, || {
            core::hint::black_box(libsys::abi_version());
        }),
    );
    report(
        "get_ticks",
        measure(10_000, || {
            core::hint::black_box(libsys::get_ticks());
        }),
    );

    // IPC round trips: call + the server's reply_recv, across address spaces.
    // The reply is the request, so every call sends the same message again.
    for words in [0usize, 1, 4, 6] {
        let mut exchange = Exchange::new(&mut []);
        exchange.set_info(MsgInfo::new(label::ECHO, words, 0));
        *exchange.words_mut() = [1, 2, 3, 4, 5, 6];
        let cost = measure(2_000, || exchange.call(SERVER).expect("echo call"));
        report(&key("ipc_roundtrip.words", words), cost);
    }
    for bytes in [64usize, 4096] {
        let mut buffer = [0u8; 4096];
        let mut exchange = Exchange::new(&mut buffer);
        exchange.set_info(MsgInfo::new(label::ECHO, 0, bytes));
        let cost = measure(500, || exchange.call(SERVER).expect("echo call with buffer"));
        report(&key("ipc_roundtrip.bytes", bytes), cost);
    }

    // Helpers measure their own loops; they reply with the median.
    let write = ipc::call_words(WRITER, &Msg::new(label::RUN)).expect("write benchmark");
    report("write_64_bytes", write.word(0).expect("the median"));
    let yields = ipc::call_words(YIELDER, &Msg::new(label::RUN)).expect("yield partner");
    let mine = measure(1_000, libsys::yield_now);
    // Each of our iterations is two switches: to the partner and back.
    report("yield_switch", mine / 2);
    let _ = yields;

    report("spawn_exit", spawn_exit());
    libsys::println!("bench.tsc_per_tick={}", tsc_per_tick());
    libsys::println!("bench.syscall_number_null={}", Syscall::AbiVersion as u64);
    libsys::println!("bench.status=done");
}

fn key(prefix: &str, n: usize) -> KeyBuf {
    let mut key = KeyBuf::default();
    let _ = core::fmt::Write::write_fmt(&mut key, format_args!("{prefix}_{n}"));
    key
}

/// Starts a process that exits at once, and waits until it is gone.
fn spawn_exit() -> u64 {
    let mut buffer = [0u8; 0];
    let baseline = libsys::stats().expect("stats").processes;
    measure(20, || {
        libsys::spawn("spawnee").expect("spawn");
        // The child sends one message just before it exits; its exit notice
        // then goes to the sink. Wait for the message, then for the slot.
        ipc::recv(REAPER, &mut buffer).expect("reaper");
        while libsys::stats().expect("stats").processes > baseline {
            libsys::yield_now();
        }
    })
}

/// TSC units per timer tick (10 ms): turns TSC counts into time when
/// icount is off.
fn tsc_per_tick() -> u64 {
    let start_tick = libsys::get_ticks();
    while libsys::get_ticks() == start_tick {}
    let start = tsc();
    let first = libsys::get_ticks();
    while libsys::get_ticks() < first + 5 {}
    (tsc() - start) / 5
}

/// A key built at run time.
#[derive(Default)]
struct KeyBuf {
    bytes: [u8; 32],
    len: usize,
}

impl core::ops::Deref for KeyBuf {
    type Target = str;
    fn deref(&self) -> &str {
        core::str::from_utf8(&self.bytes[..self.len]).unwrap_or("?")
    }
}

impl core::fmt::Write for KeyBuf {
    fn write_str(&mut self, text: &str) -> core::fmt::Result {
        let take = text.len().min(self.bytes.len() - self.len);
        self.bytes[self.len..self.len + take].copy_from_slice(&text.as_bytes()[..take]);
        self.len += take;
        Ok(())
    }
}
