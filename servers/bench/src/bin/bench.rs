//! bench: the coordinator. Runs every benchmark in turn (never two at once:
//! the TSC counts the whole machine) and prints `key=value` lines that
//! `cargo xtask bench` collects.
//!
//! Handles: 0 console, 1 the IPC server, 2 the write benchmark, 3 the yield
//! partner, 4 the spawn reaper endpoint (recv), 5 the bulk server.

#![no_std]
#![no_main]

use bench::{label, measure, report, tsc_per_tick};
use libsys::MsgInfo;
use libsys::abi::Syscall;
use libsys::abi::memory::Perms;
use libsys::ipc::{self, Exchange, Msg};

libsys::entry!(main);

const SERVER: libsys::Handle = 1;
const WRITER: libsys::Handle = 2;
const YIELDER: libsys::Handle = 3;
const REAPER: libsys::Handle = 4;
const BULK: libsys::Handle = 5;

/// Bytes of a bulk transfer: 1 MiB.
const BULK_BYTES: usize = 1 << 20;

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
    // The clock without a syscall: reads of the kernel's time page.
    report(
        "clock.ticks",
        measure(10_000, || {
            core::hint::black_box(libsys::time::ticks());
        }),
    );
    report(
        "clock.instant_now",
        measure(10_000, || {
            core::hint::black_box(libsys::time::Instant::now());
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

    // Memory: map, touch every page, unmap.
    for pages in [1usize, 64] {
        let cost = measure(20, || map_touch_unmap(pages));
        report(&key("mem_map_touch_unmap.pages", pages), cost);
    }
    // 1 MiB from us to the bulk server: through 4 KiB messages (the kernel
    // copies every byte), and through a shared memory object (we write the
    // bytes where the server reads them; one call says they are there).
    let mut chunk = [0x5au8; 4096];
    let take = Msg::new(label::TAKE);
    let messages = measure(2, || {
        for _ in 0..BULK_BYTES / chunk.len() {
            ipc::call(BULK, &take, &mut chunk, 4096).expect("take");
        }
    });
    report("bulk_1mib.messages", messages);
    let object = libsys::mem_create(BULK_BYTES).expect("mem_create");
    let shared = libsys::mem_map_object(object, 0, Perms::READ | Perms::WRITE).expect("mem_map_object");
    fill(shared, BULK_BYTES);
    ipc::call_words(BULK, &Msg::new(label::SHARE).passing(object)).expect("share");
    let notify = Msg::with_words(label::NOTIFY, &[0, BULK_BYTES as u64]);
    let shared_cost = measure(20, || {
        ipc::call_words(BULK, &notify).expect("notify");
    });
    report("bulk_1mib.shared", shared_cost);
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

/// Maps `pages` pages, writes one byte into each (each is made on that
/// first touch), and unmaps them.
fn map_touch_unmap(pages: usize) {
    let len = pages * 4096;
    let address = libsys::mem_map(0, len, Perms::READ | Perms::WRITE).expect("mem_map");
    for page in 0..pages {
        // SAFETY: the page was just mapped writable for us.
        unsafe { core::ptr::write_volatile((address as usize + page * 4096) as *mut u8, 1) };
    }
    // SAFETY: nothing refers into the mapping any more.
    unsafe { libsys::mem_unmap(address, len) }.expect("mem_unmap");
}

/// Writes a pattern over `len` bytes at `address` (a fresh mapping of ours).
fn fill(address: u64, len: usize) {
    // SAFETY: `address` is a writable mapping of `len` bytes that nothing
    // else in this program refers to.
    let words = unsafe { core::slice::from_raw_parts_mut(address as *mut u64, len / 8) };
    for (i, word) in words.iter_mut().enumerate() {
        *word = i as u64;
    }
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
