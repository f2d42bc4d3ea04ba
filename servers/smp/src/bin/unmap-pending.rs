//! unmap-pending: a receive buffer unmapped while a receive into it is
//! pending. A thread waits in `recv` into a page of its own mapping; the
//! main thread unmaps that page, then sends 64 bytes: the kernel cannot
//! take them into the buffer, so the send fails with EFAULT and the
//! receiver keeps waiting (`check.send_refused`, `check.receiver_waits`);
//! two calls with the same bytes fail the same way (`check.call_refused`).
//! The page mapped again, the next send arrives whole
//! (`check.resend_arrives`).

#![no_std]
#![no_main]

extern crate alloc;

use abi::memory::Perms;
use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;
use libsys::abi;
use libsys::ipc::{self, Msg};
use libsys::results::{check, report};
use libsys::thread;

libsys::entry!(main);

static ENDPOINT: AtomicU64 = AtomicU64::new(0);
static BUFFER: AtomicU64 = AtomicU64::new(0);
static RECEIVED: AtomicU64 = AtomicU64::new(0);

fn main() -> i32 {
    let endpoint = match libsys::endpoint_create() {
        Ok(endpoint) => endpoint,
        Err(error) => {
            report("endpoint_create", error.name());
            return 1;
        }
    };
    let page = match libsys::mem_map(0, abi::PAGE_SIZE as usize, Perms::READ | Perms::WRITE) {
        Ok(page) => page,
        Err(error) => {
            report("mem_map", error.name());
            return 1;
        }
    };
    ENDPOINT.store(endpoint, Ordering::Relaxed);
    BUFFER.store(page, Ordering::Relaxed);
    let receiver = thread::spawn(|| {
        let buffer = BUFFER.load(Ordering::Relaxed);
        // SAFETY: the page belongs to this program; the main thread unmaps
        // it while this receive waits, which is what this program tests
        // (the kernel writes it only if it is mapped).
        let buffer = unsafe { core::slice::from_raw_parts_mut(buffer as *mut u8, abi::PAGE_SIZE as usize) };
        let received = ipc::recv(ENDPOINT.load(Ordering::Relaxed), buffer).map(|m| m.data.len());
        RECEIVED.store(received.map_or(u64::MAX, |n| n as u64), Ordering::Release);
    });
    let Ok(receiver) = receiver else {
        report("spawn", "failed");
        return 1;
    };
    // Let the receiver block in its receive.
    let _ = libsys::time::sleep(Duration::from_millis(30));
    // SAFETY: only the waiting receive refers to the page, and the kernel
    // checks it before writing.
    if let Err(error) = unsafe { libsys::mem_unmap(page, abi::PAGE_SIZE as usize) } {
        report("unmap", error.name());
        return 1;
    }
    let bytes = [0x5au8; 64];
    let first = ipc::send(endpoint, &Msg::new(1).nonblocking(), &bytes);
    report("first_send", first.map_or_else(|e| e.name(), |()| "ok"));
    check("send_refused", first == Err(abi::Error::FAULT));
    // Calls are refused the same way, the second too (after the first,
    // the caller's own buffers are remembered as checked, so only the
    // receiver's, forgotten at the unmap, keeps the kernel from moving the
    // bytes at once).
    let mut reply = [0u8; 64];
    let mut refused = true;
    for _ in 0..2 {
        reply.copy_from_slice(&bytes);
        let call = ipc::call(endpoint, &Msg::new(2), &mut reply, 64).map(|m| m.data.len());
        report("call", call.map_or_else(|e| e.name(), |_| "ok"));
        refused &= call == Err(abi::Error::FAULT);
    }
    check("call_refused", refused);
    check("receiver_waits", RECEIVED.load(Ordering::Acquire) == 0);
    // The page back, the same send arrives.
    let again = libsys::mem_map(page, abi::PAGE_SIZE as usize, Perms::READ | Perms::WRITE);
    report("remap", again.map_or_else(|e| e.name(), |_| "ok"));
    let second = ipc::send(endpoint, &Msg::new(1), &bytes);
    report("second_send", second.map_or_else(|e| e.name(), |()| "ok"));
    let _ = receiver.join();
    check(
        "resend_arrives",
        second.is_ok() && RECEIVED.load(Ordering::Acquire) == 64,
    );
    0
}
