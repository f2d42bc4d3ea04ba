//! mem-share: two processes share a memory object. As `role=owner` it
//! creates an object, writes a pattern into it, passes the handle to the
//! peer over its endpoint (handle 1, SEND) and then ends (args `end=exit`
//! or `end=fault`) while the peer is still writing. As `role=peer` it
//! receives the handle (handle 1, RECEIVE), maps the object, checks the
//! owner's pattern, and goes on writing and reading it for a while after
//! the owner is gone (no revocation: its mapping keeps the pages); then it
//! unmaps and closes everything and exits 0. As `role=drop` it receives
//! the handle and exits at once without touching it (the kernel must free
//! the object when both are gone).

#![no_std]
#![no_main]

use libsys::abi::PAGE_SIZE;
use libsys::abi::memory::Perms;
use libsys::ipc::{self, Msg};
use libsys::{Error, mem_create, mem_map_object};

libsys::entry!(main);

/// Handle 1: the share endpoint (SEND for the owner, RECEIVE for the others).
const SHARE: libsys::Handle = 1;
/// Pages of the object.
const PAGES: usize = 16;
const RW: Perms = Perms::READ.union(Perms::WRITE);

fn check(name: &str, pass: bool) -> bool {
    libsys::println!("check.{name}={}", if pass { "pass" } else { "fail" });
    pass
}

/// The object's words, as a slice over the mapping.
///
/// # Safety
/// `address` must be a live mapping of the object, readable and writable,
/// of `PAGES` pages, that nothing else in this process refers to.
unsafe fn words<'a>(address: u64) -> &'a mut [u64] {
    let len = PAGES * PAGE_SIZE as usize / 8;
    // SAFETY: as the caller guarantees; other processes may write the same
    // pages concurrently only at scheduling points (one CPU), never during
    // a single access.
    unsafe { core::slice::from_raw_parts_mut(address as *mut u64, len) }
}

fn owner() -> i32 {
    let Ok(object) = mem_create(PAGES * PAGE_SIZE as usize) else {
        return 2;
    };
    let Ok(address) = mem_map_object(object, 0, RW) else {
        return 3;
    };
    // SAFETY: a fresh mapping of the object, of PAGES pages.
    let shared = unsafe { words(address) };
    for (i, word) in shared.iter_mut().enumerate() {
        *word = 0x5eed_0000 + i as u64;
    }
    let sent = ipc::send(SHARE, &Msg::new(1).passing(object), &[]);
    check("owner_sent", sent.is_ok());
    for _ in 0..3 {
        libsys::yield_now();
    }
    libsys::println!("owner_ending=now");
    match libsys::arg("end") {
        // SAFETY: deliberately reads address 0 to die by a fault.
        Some("fault") => unsafe { core::ptr::read_volatile(core::ptr::null::<u64>()) as i32 },
        _ => 0,
    }
}

fn peer() -> i32 {
    let received = ipc::recv(SHARE, &mut []);
    let Some(object) = received.ok().and_then(|r| r.handle) else {
        return check("peer_received", false) as i32 + 2;
    };
    let Ok(address) = mem_map_object(object, 0, RW) else {
        return 3;
    };
    // SAFETY: a fresh mapping of the object, of PAGES pages.
    let shared = unsafe { words(address) };
    let mut ok = check(
        "peer_sees_the_owners_writes",
        shared.iter().enumerate().all(|(i, &w)| w == 0x5eed_0000 + i as u64),
    );
    // Write and read back for a good while: the owner dies meanwhile.
    let mut intact = true;
    for round in 0..200u64 {
        for (i, word) in shared.iter_mut().enumerate().step_by(97) {
            *word = round << 32 | i as u64;
        }
        libsys::yield_now();
        intact &= shared
            .iter()
            .enumerate()
            .step_by(97)
            .all(|(i, &w)| w == round << 32 | i as u64);
    }
    ok &= check("peer_writes_after_the_owner_died", intact);
    ok &= check("peer_closes", libsys::handle_close(object).is_ok());
    // SAFETY: `shared` is not used any more.
    ok &= check(
        "peer_unmaps",
        unsafe { libsys::mem_unmap(address, PAGES * PAGE_SIZE as usize) }.is_ok(),
    );
    if ok { 0 } else { 1 }
}

fn drop_it() -> i32 {
    match ipc::recv(SHARE, &mut []) {
        Ok(received) if received.handle.is_some() => {
            libsys::println!("dropping=handle");
            0
        }
        Ok(_) => 1,
        Err(error) => i32::from(error != Error::PEERGONE) + 1,
    }
}

fn main() -> i32 {
    match libsys::arg("role") {
        Some("owner") => owner(),
        Some("peer") => peer(),
        Some("drop") => drop_it(),
        _ => 9,
    }
}
