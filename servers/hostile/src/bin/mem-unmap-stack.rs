//! mem-unmap-stack: unmaps its own stack and then calls a function (which
//! pushes a return address): the kernel must kill it with a page fault on
//! the stack, and nothing else.

#![no_std]
#![no_main]

use libsys::abi::memory::STACK_PAGES;
use libsys::abi::{PAGE_SIZE, USER_END};

libsys::entry!(main);

fn main() -> i32 {
    let stack = USER_END - STACK_PAGES * PAGE_SIZE;
    libsys::println!("unmapping_stack={stack:#x}");
    // SAFETY: deliberately not: the next push faults, which is the test.
    let result = unsafe { libsys::mem_unmap(stack, (STACK_PAGES * PAGE_SIZE) as usize) };
    // Unreachable if the unmap worked: this call pushes onto the stack.
    libsys::println!("unmap={result:?}");
    1
}
