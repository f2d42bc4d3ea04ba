//! tlb-observer: the other side of `tlb-writer`. It receives the memory
//! object (handle in word 0), maps it read-only and watches the counter
//! once a tick until it stops moving (10 ticks unchanged, at most 500
//! ticks). Reports `final=` and `check.counter_stopped`: the writer's
//! thread faulted once its page was read-only, instead of writing on
//! through a mapping its CPU should have forgotten.

#![no_std]
#![no_main]

use abi::memory::Perms;
use core::time::Duration;
use libsys::abi;
use libsys::ipc::{self, Msg};
use libsys::results::{check, report};

libsys::entry!(main);

/// Handle 1: RECEIVE from the writer.
const FROM_WRITER: libsys::Handle = 1;
const PASS: u32 = 1;

fn main() -> i32 {
    let first = match ipc::recv(FROM_WRITER, &mut []) {
        Ok(message) if message.label == PASS => message,
        _ => {
            report("pass", "missing");
            return 1;
        }
    };
    let Some(object) = first.handle else {
        report("pass", "no handle");
        return 1;
    };
    let page = match libsys::mem_map_object(object, 0, Perms::READ) {
        Ok(page) => page,
        Err(error) => {
            report("map", error.name());
            return 1;
        }
    };
    let counter = page as *const u64;
    let _ = ipc::reply(&Msg::new(PASS), &[]);
    let mut last = 0;
    let mut unchanged = 0;
    let mut stopped = false;
    for _ in 0..500 {
        let _ = libsys::time::sleep(Duration::from_millis(10));
        // SAFETY: the object is mapped readable here for as long as we
        // hold it.
        let now = unsafe { core::ptr::read_volatile(counter) };
        if now == last && now >= 10_000 {
            unchanged += 1;
            if unchanged == 10 {
                stopped = true;
                break;
            }
        } else {
            unchanged = 0;
        }
        last = now;
    }
    report("final", last);
    check("counter_stopped", stopped);
    0
}
