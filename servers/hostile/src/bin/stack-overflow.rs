//! stack-overflow: recurses without bound, 2 KiB of stack per call, until it
//! runs off the bottom of its 64 KiB stack. The page below the stack is an
//! unmapped guard page, so the program must die of a page fault inside it
//! (not present), never write whatever lies below. It reports where it
//! starts (`stack=0x...`) and the bytes per call (`frame=`); reporting
//! `returned=` would mean there is no guard page.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use core::hint::black_box;

libsys::entry!(main);

/// Bytes of stack each call uses: less than a page, so no call can step over
/// the guard page (and none needs stack probes to hit it).
const FRAME: usize = 2048;

#[inline(never)]
fn recurse(depth: u64) -> u64 {
    let mut frame = [0u8; FRAME];
    frame[0] = depth as u8;
    let frame = black_box(&mut frame);
    // Never true: it only keeps the recursion conditional for the compiler.
    if black_box(depth) == u64::MAX {
        return 0;
    }
    recurse(depth + 1) + frame[FRAME - 1] as u64
}

fn main() -> i32 {
    let local = 0u8;
    libsys::results::report("stack", format_args!("{:#x}", &raw const local as u64));
    libsys::results::report("frame", FRAME);
    let depth = recurse(0);
    libsys::results::report("returned", depth);
    1
}
