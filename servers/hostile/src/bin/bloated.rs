//! bloated: a program whose image needs more memory than the machine has:
//! 512 MiB of zero-initialised data (`.bss`), mapped and zeroed at spawn.
//! `spawn` must refuse it with ENOMEM and give back every frame it took on
//! the way; the program itself must never run.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use core::sync::atomic::{AtomicU8, Ordering};

libsys::entry!(main);

/// Bytes of zeroed data: twice the 256 MiB of the test machine.
const SIZE: usize = 512 << 20;

/// Atomics, so the array is writable data (`.bss`), not read-only data
/// stored in the file.
static BLOB: [AtomicU8; SIZE] = [const { AtomicU8::new(0) }; SIZE];

fn main() -> i32 {
    // Through black_box, so the compiler keeps the array whole.
    let blob = core::hint::black_box(&BLOB);
    blob[SIZE - 1].store(1, Ordering::Relaxed);
    libsys::results::report("running_with_mib", blob.len() >> 20);
    1
}
