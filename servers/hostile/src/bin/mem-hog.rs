//! mem-hog: grows a heap (libsys's `alloc` feature, on `mem_map`) without
//! end, touching what it gets. Its memory limit stops it: the allocation
//! that does not fit fails, and the program panics with Rust's "memory
//! allocation of N bytes failed". It prints how far it got first
//! (`heap_kib=N`, every MiB).

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;

libsys::entry!(main);

fn main() -> i32 {
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    let mut kib = 0usize;
    loop {
        let mut chunk = Vec::with_capacity(64 << 10);
        chunk.resize(64 << 10, 0xa5);
        chunks.push(chunk);
        kib += 64;
        if kib.is_multiple_of(1024) {
            libsys::println!("heap_kib={kib}");
        }
    }
}
