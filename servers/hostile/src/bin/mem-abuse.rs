//! mem-abuse: asks the kernel for memory it must refuse, and checks every
//! answer, printing `check.NAME=pass|fail`: mappings over the kernel half,
//! its own image, its stack and the guard page; writable-and-executable
//! pages; more than its memory limit; a protected page the kernel must not
//! write; an endpoint handle mapped as a memory object; one object mapped
//! until the region table is full. It unmaps and closes everything it got
//! and exits 0 when every check passed (1 otherwise).

#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]

use libsys::abi::memory::{MAP_END, Perms, STACK_PAGES};
use libsys::abi::{PAGE_SIZE, USER_END};
use libsys::{Error, mem_create, mem_map, mem_map_object};

libsys::entry!(main);

const R: Perms = Perms::READ;
const RW: Perms = Perms::READ.union(Perms::WRITE);
const PAGE: usize = PAGE_SIZE as usize;

fn check(name: &str, pass: bool) -> bool {
    libsys::println!("check.{name}={}", if pass { "pass" } else { "fail" });
    pass
}

/// Where this program's code is (`main` lies in the image).
fn image_page() -> u64 {
    (main as *const () as u64) & !(PAGE_SIZE - 1)
}

fn main() -> i32 {
    let mut ok = true;
    ok &= check(
        "kernel_half",
        mem_map(0xffff_8000_0000_0000, PAGE, R) == Err(Error::INVAL),
    );
    ok &= check("null_pages", mem_map(0x1000, PAGE, R) == Err(Error::INVAL));
    ok &= check("over_the_image", mem_map(image_page(), PAGE, R) == Err(Error::EXIST));
    ok &= check("guard_page", mem_map(MAP_END, PAGE, R) == Err(Error::INVAL));
    let stack = USER_END - STACK_PAGES * PAGE_SIZE;
    ok &= check("over_the_stack", mem_map(stack, PAGE, R) == Err(Error::INVAL));
    ok &= check(
        "write_and_execute",
        mem_map(0, PAGE, RW | Perms::EXEC) == Err(Error::INVAL),
    );
    ok &= check("no_read", mem_map(0, PAGE, Perms::WRITE) == Err(Error::INVAL));
    ok &= check("past_the_limit", mem_map(0, 64 << 20, RW) == Err(Error::NOMEM));
    ok &= check("huge_object", mem_create(1 << 30) == Err(Error::INVAL));

    // A read-only page: the kernel refuses to write into it for us too.
    let page = mem_map(0, PAGE, RW).unwrap_or(0);
    // SAFETY: nothing refers into the fresh page.
    let protected = unsafe { libsys::mem_protect(page, PAGE, R) };
    ok &= check("protect", page != 0 && protected.is_ok());
    ok &= check("kernel_does_not_write_read_only", stats_to(page) == Err(Error::FAULT));
    ok &= check(
        "protect_w_x",
        unsafe_protect(page, RW | Perms::EXEC) == Err(Error::INVAL),
    );
    // SAFETY: nothing refers into the page.
    ok &= check("unmap", unsafe { libsys::mem_unmap(page, PAGE) }.is_ok());
    ok &= check("unmapped_is_gone", stats_to(page) == Err(Error::FAULT));

    // An endpoint is not a memory object.
    ok &= check(
        "endpoint_is_wrong_kind",
        mem_map_object(0, 0, R) == Err(Error::WRONGKIND),
    );

    // One object, mapped until the region table is full.
    let object = mem_create(PAGE);
    let mut mapped = 0;
    let mut last = Ok(0);
    if let Ok(object) = object {
        for _ in 0..64 {
            last = mem_map_object(object, 0, RW);
            match last {
                Ok(_) => mapped += 1,
                Err(_) => break,
            }
        }
        libsys::println!("object_mappings={mapped}");
        ok &= check("region_table_fills", last == Err(Error::TABLEFULL) && mapped > 8);
        // SAFETY: the mappings hold nothing this program refers to.
        let unmapped = unsafe { libsys::mem_unmap(abi_arena(), 64 * PAGE) };
        ok &= check("unmap_all_mappings", unmapped.is_ok());
        ok &= check("close_object", libsys::handle_close(object).is_ok());
    } else {
        ok &= check("create_object", false);
    }
    if ok { 0 } else { 1 }
}

/// The arena `mem_map_object` at address 0 places mappings in.
fn abi_arena() -> u64 {
    libsys::abi::memory::MAP_ARENA
}

/// The `stats` syscall told to write into `address`.
fn stats_to(address: u64) -> libsys::Result<u64> {
    let number = libsys::abi::Syscall::Stats as u64;
    // SAFETY: the kernel checks the range it is told to write; it must
    // refuse a page this program cannot write, which is what is tested.
    libsys::decode(unsafe { libsys::raw::syscall2(number, address, 200) })
}

fn unsafe_protect(page: u64, perms: Perms) -> libsys::Result<()> {
    // SAFETY: the page holds nothing this program refers to.
    unsafe { libsys::mem_protect(page, PAGE, perms) }
}
