//! shootbench: the cost of a TLB shootdown, for `smpbench`. Asked to run
//! (`label::RUN`), it measures a `mem_unmap` of one page it mapped and
//! touched (only the unmap is timed), and replies with the median per
//! unmap in TSC units times 100.
//!
//! With `mode=remote` (a program that may run on CPUs 0 and 1, with two
//! threads) a second thread of the process spins on the other CPU while it
//! measures: both threads run at once, so they are on different CPUs, the
//! other CPU has this address space in CR3, and every unmap sends it a
//! shootdown IPI and waits until it has flushed the page. Without it (a
//! program pinned on one CPU) no other CPU ever ran this address space and
//! the unmap sends nothing.
//!
//! The spinning thread runs `pause` in its loop: under single-threaded TCG
//! a `pause` hands the host thread to the next CPU, so the spinner runs a
//! few instructions at a time and the measuring CPU gets the rest.
//!
//! Handles: 0 console, 1 its endpoint (recv).

#![no_std]
#![no_main]

use bench::{BATCHES, label, tsc};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};
use libsys::abi::memory::Perms;
use libsys::ipc::{self, Msg};

libsys::entry!(main);

const ENDPOINT: libsys::Handle = 1;
/// Unmaps per batch.
const ITERATIONS: u64 = 50;
const PAGE: usize = 4096;

/// The spinner's stack: its own, used by nothing else.
const STACK_SIZE: usize = 16 * 1024;
#[repr(C, align(16))]
struct Stack(UnsafeCell<[u8; STACK_SIZE]>);
// SAFETY: only the spinner thread uses the stack; no Rust code reads it.
unsafe impl Sync for Stack {}
static STACK: Stack = Stack(UnsafeCell::new([0; STACK_SIZE]));

static RUNNING: AtomicBool = AtomicBool::new(false);
static STOP: AtomicBool = AtomicBool::new(false);

fn main() {
    let remote = libsys::arg("mode") == Some("remote");
    loop {
        let message = ipc::recv(ENDPOINT, &mut []).expect("recv");
        if message.label != label::RUN {
            ipc::reply(&Msg::new(message.label), &[]).expect("reply");
            continue;
        }
        if remote {
            start_spinner();
        }
        let median = measure_unmaps();
        if remote {
            STOP.store(true, Ordering::Release);
        }
        ipc::reply(&Msg::with_words(label::RUN, &[median]), &[]).expect("reply");
    }
}

/// Starts the spinning thread and waits until it runs.
fn start_spinner() {
    RUNNING.store(false, Ordering::Relaxed);
    STOP.store(false, Ordering::Relaxed);
    let top = STACK.0.get() as u64 + STACK_SIZE as u64 - 8;
    // SAFETY: `spinner` is `extern "C" fn(u64) -> !`; the stack is used by
    // this thread alone (one spinner at a time: it exits before the next
    // RUN starts another, see `STOP`), and its top minus 8 is how a call
    // leaves the stack (16-byte aligned plus 8).
    unsafe { libsys::thread_create(spinner as *const () as u64, top, 0) }.expect("thread_create");
    while !RUNNING.load(Ordering::Acquire) {
        core::hint::spin_loop();
    }
}

extern "C" fn spinner(_: u64) -> ! {
    RUNNING.store(true, Ordering::Release);
    while !STOP.load(Ordering::Acquire) {
        core::hint::spin_loop();
    }
    libsys::thread_exit(u64::MAX, 0)
}

/// The median cost of one `mem_unmap` of a touched page, times 100.
fn measure_unmaps() -> u64 {
    let batch = || {
        let mut total = 0;
        for _ in 0..ITERATIONS {
            let page = libsys::mem_map(0, PAGE, Perms::READ | Perms::WRITE).expect("mem_map");
            // SAFETY: the page was just mapped writable for us.
            unsafe { core::ptr::write_volatile(page as *mut u8, 1) };
            let start = tsc();
            // SAFETY: nothing refers into the page any more.
            unsafe { libsys::mem_unmap(page, PAGE) }.expect("mem_unmap");
            total += tsc() - start;
        }
        total * 100 / ITERATIONS
    };
    batch();
    let mut costs = [0u64; BATCHES];
    for cost in costs.iter_mut() {
        *cost = batch();
    }
    costs.sort_unstable();
    costs[BATCHES / 2]
}
