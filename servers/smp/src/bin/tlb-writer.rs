//! tlb-writer: proves a TLB shootdown. It makes a memory object, maps it
//! writable, passes it to `tlb-observer` (handle 1, a call carrying the
//! handle), and starts a thread that writes an ever-growing counter into
//! it (on the other CPU: the two threads are ready at once). Once the
//! counter passes 10,000 it makes the page read-only with `mem_protect`.
//! From then on the writer's next write must fault (its CPU forgot the
//! writable mapping before `mem_protect` returned): the process dies with
//! a page fault, a write of the page, protection violation. Should this
//! thread live long enough, it reports whether the counter still moved
//! after the protect returned (`moved_after_protect=`); the observer
//! reports that the counter stopped. (A CPU that kept the stale mapping
//! would write on forever and never fault.)

#![no_std]
#![no_main]

extern crate alloc;

use abi::memory::Perms;
use core::sync::atomic::{AtomicU64, Ordering};
use libsys::abi;
use libsys::ipc::{self, Msg};
use libsys::results::report;
use libsys::thread;

libsys::entry!(main);

/// Handle 1: SEND to the observer.
const OBSERVER: libsys::Handle = 1;
const PASS: u32 = 1;

static PAGE: AtomicU64 = AtomicU64::new(0);

fn main() -> i32 {
    let object = match libsys::mem_create(abi::PAGE_SIZE as usize) {
        Ok(object) => object,
        Err(error) => {
            report("mem_create", error.name());
            return 1;
        }
    };
    let page = match libsys::mem_map_object(object, 0, Perms::READ | Perms::WRITE) {
        Ok(page) => page,
        Err(error) => {
            report("map", error.name());
            return 1;
        }
    };
    PAGE.store(page, Ordering::Relaxed);
    let pass = Msg::with_words(PASS, &[object, page]).passing(object);
    if let Err(error) = ipc::call(OBSERVER, &pass, &mut [], 0) {
        report("pass", error.name());
        return 1;
    }
    report("page", format_args!("{page:#x}"));
    let counter = page as *mut u64;
    let writer = thread::spawn(move || {
        let counter = PAGE.load(Ordering::Relaxed) as *mut u64;
        let mut value = 0u64;
        loop {
            value += 1;
            // SAFETY: the page is mapped (until the protect below makes the
            // next write fault, which is what this program is for).
            unsafe { core::ptr::write_volatile(counter, value) };
        }
    });
    if let Err(error) = writer {
        report("spawn", error.name());
        return 1;
    }
    // SAFETY: the page is mapped; the writer thread writes it whole words.
    while unsafe { core::ptr::read_volatile(counter) } < 10_000 {
        core::hint::spin_loop();
    }
    // SAFETY: only the writer writes the page, and it is meant to fault.
    if let Err(error) = unsafe { libsys::mem_protect(page, abi::PAGE_SIZE as usize, Perms::READ) } {
        report("protect", error.name());
        return 1;
    }
    report("protected", "yes");
    // SAFETY: the page is still mapped (read-only).
    let at_protect = unsafe { core::ptr::read_volatile(counter) };
    for _ in 0..100_000 {
        core::hint::spin_loop();
    }
    // SAFETY: as above.
    let later = unsafe { core::ptr::read_volatile(counter) };
    report("moved_after_protect", if later != at_protect { "yes" } else { "no" });
    // The writer's fault ends the process.
    loop {
        libsys::yield_now();
    }
}
