//! kread: reads the first word of the kernel's direct map
//! (0xffff_8000_0000_0000) from ring 3. The page is present but
//! supervisor-only, so the kernel must kill it with a protection-violation
//! page fault; reaching the second line would be a hole.

#![no_std]
#![no_main]

libsys::entry!(main);

const DIRECT_MAP: u64 = 0xffff_8000_0000_0000;

fn main() -> i32 {
    libsys::println!("reading {DIRECT_MAP:#x}");
    // SAFETY: deliberately unsound: this program exists to fault on a kernel
    // address.
    let value = unsafe { core::ptr::read_volatile(DIRECT_MAP as *const u64) };
    libsys::println!("read {value:#x} from kernel memory: the kernel is exposed");
    1
}
