//! time-writer: the time page is the kernel's. It tries to map over it
//! (`map=EINVAL`), unmap it (`unmap=ok`: it is none of the program's
//! mappings, which `mem_unmap` removes, so nothing happens) and make it
//! writable (`protect=EINVAL`), checks it still reads (`still_ticking=yes`:
//! the tick count moves on), then writes into it: a page fault (a write to
//! a present read-only page) must kill it.

#![no_std]
#![no_main]

use hostile::{pause, report, report_result};
use libsys::abi::memory::Perms;
use libsys::abi::time::TIME_PAGE;

libsys::entry!(main);

fn main() -> i32 {
    let page = libsys::abi::PAGE_SIZE as usize;
    let read_write = Perms::READ | Perms::WRITE;
    report_result("map", &libsys::mem_map(TIME_PAGE, page, read_write));
    // SAFETY: the kernel must refuse both (nothing of ours is there); had it
    // not, the time page is not this program's memory and nothing refers
    // into it but the reads below.
    report_result("unmap", &unsafe { libsys::mem_unmap(TIME_PAGE, page) });
    // SAFETY: as above.
    report_result("protect", &unsafe { libsys::mem_protect(TIME_PAGE, page, read_write) });
    let before = libsys::time::ticks();
    let _ = pause(2);
    report(
        "still_ticking",
        if libsys::time::ticks() > before { "yes" } else { "no" },
    );
    libsys::println!("time-writer: writing the time page at {TIME_PAGE:#x}");
    // SAFETY: not safe at all: the page is mapped read-only, so the write
    // faults and the kernel kills this program, which is the point.
    unsafe { core::ptr::write_volatile(TIME_PAGE as *mut u64, 0) };
    report("wrote", "the time page is writable");
    1
}
