//! Virtual memory as processes see it: mapping, unmapping and protecting
//! private memory and memory objects, pages made on first touch, the memory
//! each process may use, and the checks and copies of user buffers.
//!
//! Every mapped range is a region of the process ([`crate::regions`]); the
//! page tables follow the regions. Private pages are made (zeroed) when
//! first touched, by ring 3 (a page fault) or by the kernel (a buffer it is
//! about to read or write); memory-object pages are mapped in full when the
//! object is. A process's memory limit counts its image, its stack and its
//! private mappings when they are mapped (so a touch never finds the limit
//! reached), and every memory object it holds a handle to or maps, once.
//! A touch that finds no free frame left in the machine kills the process
//! with its page fault.
//!
//! Nothing caches a translation across a change of mappings: the fast
//! path's record of a checked receive buffer is forgotten for every thread
//! of a process whose mappings change, and the machine flushes the TLB
//! entries of pages it unmaps or protects before the call returns.

use crate::config::MAX_THREADS;
use crate::handles::{HandleEntry, Object};
use crate::kernel::Kernel;
use crate::machine::Machine;
use crate::physmem::{Frame, FrameSource, PAGE_SIZE};
use crate::regions::{Backing, Region};
use crate::space::{AddressSpace, PageFlags};
use crate::umem::{Access, CheckedBuffers, UserSlice, allows};
use abi::memory::{MAP_ARENA, MAP_END, MAX_OBJECT_SIZE, Perms};
use abi::{Error, Handle, Rights, USER_BASE};
use heapless::Vec;

/// The page-table flags of a region's permissions.
fn flags(perms: Perms) -> PageFlags {
    PageFlags {
        writable: perms.contains(Perms::WRITE),
        executable: perms.contains(Perms::EXEC),
        user: true,
    }
}

/// A checked range of whole pages: `[addr, addr + len)` page-aligned, not
/// empty, in `[low, high)`; returns its end.
fn pages_within(addr: u64, len: u64, low: u64, high: u64) -> Result<u64, Error> {
    if len == 0 || !addr.is_multiple_of(PAGE_SIZE) || !len.is_multiple_of(PAGE_SIZE) {
        return Err(Error::INVAL);
    }
    let end = addr.checked_add(len).ok_or(Error::INVAL)?;
    if addr < low || end > high {
        return Err(Error::INVAL);
    }
    Ok(end)
}

/// [`pages_within`] the arena `mem_map` hands out, `[USER_BASE, MAP_END)`.
fn page_range(addr: u64, len: u64) -> Result<(u64, u64), Error> {
    Ok((addr, pages_within(addr, len, USER_BASE, MAP_END)?))
}

/// Where a new mapping of `pages` pages goes in `process`: at `addr`, which
/// must be free, or (for 0) the lowest free range at or above the arena.
fn place<M: Machine>(k: &Kernel<M>, process: usize, addr: u64, pages: u64) -> Result<u64, Error> {
    let regions = &k.processes[process].regions;
    if addr == 0 {
        return regions.gap(MAP_ARENA, MAP_END, pages).ok_or(Error::NOMEM);
    }
    let (start, end) = page_range(addr, pages.checked_mul(PAGE_SIZE).ok_or(Error::INVAL)?)?;
    if regions.overlaps(start, end) {
        return Err(Error::EXIST);
    }
    Ok(start)
}

/// `mem_map(addr, len, perms)`: private zeroed memory, made on first touch.
pub fn map_private<M: Machine>(
    k: &mut Kernel<M>,
    thread: usize,
    addr: u64,
    len: u64,
    perms: u64,
) -> Result<u64, Error> {
    let perms = Perms::check(perms)?;
    if len == 0 || !len.is_multiple_of(PAGE_SIZE) {
        return Err(Error::INVAL);
    }
    let pages = len / PAGE_SIZE;
    let process = k.thread(thread).process;
    let start = place(k, process, addr, pages)?;
    let p = &mut k.processes[process];
    if p.regions.len() == crate::regions::MAX_REGIONS {
        return Err(Error::TABLEFULL);
    }
    p.memory.charge(pages)?;
    let region = Region {
        start,
        pages,
        perms,
        max: Perms::all(),
        backing: Backing::Private,
    };
    p.regions.insert(region).expect("the table has room, checked above");
    Ok(start)
}

/// `mem_create(len)`: a memory object of zeroed, contiguous pages, and a
/// handle to it for the caller.
pub fn create_object<M: Machine>(k: &mut Kernel<M>, thread: usize, len: u64) -> Result<Handle, Error> {
    if len == 0 || !len.is_multiple_of(PAGE_SIZE) || len > MAX_OBJECT_SIZE {
        return Err(Error::INVAL);
    }
    let pages = len / PAGE_SIZE;
    let process = k.thread(thread).process;
    let slot = k.memory.free_slot()?;
    let p = &k.processes[process];
    if !p.handles.has_room() {
        return Err(Error::TABLEFULL);
    }
    p.memory.can_refer(slot, pages)?;
    let base = k.frames.alloc_run(pages as usize).ok_or(Error::NOMEM)?;
    for page in 0..pages {
        // SAFETY: the run was just allocated; nothing maps it yet.
        unsafe {
            k.machine
                .zero_frame(Frame::containing(base.address() + page * PAGE_SIZE))
        };
    }
    k.memory.create(slot, base, pages as usize);
    let entry = HandleEntry {
        object: Object::Memory(slot),
        rights: Rights::MAP_READ | Rights::MAP_WRITE | Rights::TRANSFER,
        badge: 0,
    };
    let handle = k.processes[process].handles.insert(entry)?;
    crate::objects::opened(k, process, entry).expect("the limit and the table were checked");
    Ok(handle)
}

/// `mem_map_object(handle, addr, perms)`: the whole object, every page
/// mapped now.
pub fn map_object<M: Machine>(
    k: &mut Kernel<M>,
    thread: usize,
    handle: Handle,
    addr: u64,
    perms: u64,
) -> Result<u64, Error> {
    let process = k.thread(thread).process;
    let entry = k.processes[process].handles.get(handle)?;
    let object = entry.memory()?;
    let perms = Perms::check(perms)?;
    if perms.contains(Perms::EXEC) {
        return Err(Error::INVAL);
    }
    let mut max = Perms::empty();
    if entry.rights.contains(Rights::MAP_READ) {
        max |= Perms::READ;
    }
    if entry.rights.contains(Rights::MAP_WRITE) {
        max |= Perms::WRITE;
    }
    if !max.contains(perms) {
        return Err(Error::NORIGHTS);
    }
    let (base, pages) = k.memory.frames(object);
    let pages = pages as u64;
    let start = place(k, process, addr, pages)?;
    let p = &mut k.processes[process];
    if p.regions.len() == crate::regions::MAX_REGIONS {
        return Err(Error::TABLEFULL);
    }
    p.memory.can_refer(object, pages)?;
    let space = p.space.as_mut().expect("a running process has an address space");
    for page in 0..pages {
        let frame = Frame::containing(base.address() + page * PAGE_SIZE);
        if space
            .map(start + page * PAGE_SIZE, frame, flags(perms), &mut k.frames)
            .is_err()
        {
            // Out of frames for page tables: take back what was mapped.
            for done in 0..page {
                space.unmap(start + done * PAGE_SIZE);
            }
            return Err(Error::NOMEM);
        }
    }
    p.regions
        .insert(Region {
            start,
            pages,
            perms,
            max,
            backing: Backing::Object { object, offset: 0 },
        })
        .expect("the table has room, checked above");
    p.memory.refer(object, pages).expect("checked above");
    k.memory.mapped(object);
    Ok(start)
}

/// `mem_unmap(addr, len)`: removes every mapping in the range.
pub fn unmap<M: Machine>(k: &mut Kernel<M>, thread: usize, addr: u64, len: u64) -> Result<(), Error> {
    // Anywhere in the user half: the image and the stack too.
    let end = pages_within(addr, len, 0, abi::USER_END)?;
    let process = k.thread(thread).process;
    let before = object_mappings(k, process);
    let removed = k.processes[process].regions.remove(addr, end)?;
    for region in &removed {
        unmap_pages(k, process, region);
    }
    recount_objects(k, process, &before);
    forget_checked_buffers(k, process);
    Ok(())
}

/// How many regions of `process` show each memory object it maps.
fn object_mappings<M: Machine>(k: &Kernel<M>, process: usize) -> Vec<(usize, u32), { crate::regions::MAX_REGIONS }> {
    let mut counts: Vec<(usize, u32), { crate::regions::MAX_REGIONS }> = Vec::new();
    for region in k.processes[process].regions.iter() {
        if let Backing::Object { object, .. } = region.backing {
            match counts.iter_mut().find(|(o, _)| *o == object) {
                Some((_, n)) => *n += 1,
                None => {
                    let _ = counts.push((object, 1));
                }
            }
        }
    }
    counts
}

/// After `process`'s regions changed (removed, split, or both), counts
/// each memory object's mappings again: one per region that shows it. Each
/// mapping gained or lost changes the object's count and the process's
/// references; an object left with none is freed.
fn recount_objects<M: Machine>(k: &mut Kernel<M>, process: usize, before: &[(usize, u32)]) {
    let after = object_mappings(k, process);
    let count = |list: &[(usize, u32)], object: usize| list.iter().find(|(o, _)| *o == object).map_or(0, |(_, n)| *n);
    let gone = before.iter().filter(|(o, _)| count(&after, *o) == 0);
    for &(object, _) in after.iter().chain(gone) {
        let (was, is) = (count(before, object), count(&after, object));
        let pages = k.memory.frames(object).1 as u64;
        for _ in was..is {
            k.processes[process]
                .memory
                .refer(object, pages)
                .expect("a split mapping refers to an object the process refers to already");
            k.memory.mapped(object);
        }
        for _ in is..was {
            k.processes[process].memory.unrefer(object, pages);
            if let Some(released) = k.memory.unmapped(object) {
                k.frames
                    .free_run(released.base, released.pages)
                    .expect("a memory object's frames are allocated");
            }
        }
    }
}

/// Takes the pages of a region that left the region table out of the page
/// tables: private pages go back to the allocator and to the process's
/// limit (a memory object's mappings are counted by [`recount_objects`]).
fn unmap_pages<M: Machine>(k: &mut Kernel<M>, process: usize, region: &Region) {
    let p = &mut k.processes[process];
    let space = p.space.as_mut().expect("a running process has an address space");
    for page in 0..region.pages {
        let frame = space.unmap(region.start + page * PAGE_SIZE);
        if let (Some(frame), Backing::Private) = (frame, region.backing) {
            k.frames.release(frame);
            p.resident -= 1;
        }
    }
    if region.backing == Backing::Private {
        p.memory.uncharge(region.pages);
    }
}

/// `mem_protect(addr, len, perms)`.
pub fn protect<M: Machine>(k: &mut Kernel<M>, thread: usize, addr: u64, len: u64, perms: u64) -> Result<(), Error> {
    let perms = Perms::check(perms)?;
    // Anywhere in the user half: the image and the stack too.
    let end = pages_within(addr, len, 0, abi::USER_END)?;
    let process = k.thread(thread).process;
    let before = object_mappings(k, process);
    let p = &mut k.processes[process];
    let changed = p.regions.protect(addr, end, perms)?;
    let space = p.space.as_mut().expect("a running process has an address space");
    for region in &changed {
        for page in 0..region.pages {
            space.protect(region.start + page * PAGE_SIZE, flags(perms));
        }
    }
    recount_objects(k, process, &before);
    forget_checked_buffers(k, process);
    Ok(())
}

/// Forgets the buffers the fast path may use without a check (and the
/// physical pages it would copy to), for every thread of `process`: its
/// mappings changed.
fn forget_checked_buffers<M: Machine>(k: &mut Kernel<M>, process: usize) {
    for thread in 0..MAX_THREADS {
        if k.thread(thread).process == process {
            k.thread_mut(thread).buffers = CheckedBuffers::NONE;
        }
    }
}

/// The physical pages under `slice` of `thread`'s address space (every page
/// of it there: [`prepare`]d), for the fast path to copy to: its first page
/// and the next, 0 where it does not reach. At most [`MAX_BUFFER`] bytes
/// are ever copied there, so two pages are all it can span.
///
/// [`MAX_BUFFER`]: abi::message::MAX_BUFFER
pub fn frames_under<M: Machine>(k: &Kernel<M>, thread: usize, slice: UserSlice) -> [u64; 2] {
    let space = k.process_of(thread).space();
    let first = slice.address() & !(PAGE_SIZE - 1);
    let end = slice.address() + slice.len().min(abi::message::MAX_BUFFER) as u64;
    let frame = |page: u64| space.translate(page).map_or(0, |(phys, _)| phys & !(PAGE_SIZE - 1));
    [
        frame(first),
        if end > first + PAGE_SIZE {
            frame(first + PAGE_SIZE)
        } else {
            0
        },
    ]
}

/// Makes the private page holding `address` of `process`, zeroed, if its
/// region allows `access` and it is missing. EFAULT when no region allows
/// it; ENOMEM when no frame is left.
fn populate<M: Machine>(k: &mut Kernel<M>, process: usize, address: u64, access: Access) -> Result<(), Error> {
    let p = &mut k.processes[process];
    let region = *p.regions.find(address).ok_or(Error::FAULT)?;
    let allowed = match access {
        Access::Read => region.perms.contains(Perms::READ),
        Access::Write => region.perms.contains(Perms::WRITE),
    };
    if !allowed || region.backing != Backing::Private {
        return Err(Error::FAULT);
    }
    let frame = k.frames.allocate().ok_or(Error::NOMEM)?;
    // SAFETY: the frame was just allocated; nothing maps it yet.
    unsafe { k.machine.zero_frame(frame) };
    let space = p.space.as_mut().expect("a running process has an address space");
    let page = address & !(PAGE_SIZE - 1);
    if space.map(page, frame, flags(region.perms), &mut k.frames).is_err() {
        k.frames.release(frame);
        return Err(Error::NOMEM);
    }
    p.resident += 1;
    Ok(())
}

/// Checks that every page of `slice` (of `thread`'s address space) is
/// usable for `access`, making missing private pages on the way. EFAULT for
/// a page ring 3 could not use that way either; ENOMEM when a page cannot
/// be made.
pub fn prepare<M: Machine>(k: &mut Kernel<M>, thread: usize, slice: UserSlice, access: Access) -> Result<(), Error> {
    if slice.is_empty() {
        return Ok(());
    }
    let process = k.thread(thread).process;
    let mut page = slice.address() & !(PAGE_SIZE - 1);
    let end = slice.address() + slice.len() as u64;
    while page < end {
        match k.processes[process].space().translate(page) {
            Some((_, flags)) if allows(flags, access) => {}
            Some(_) => return Err(Error::FAULT),
            None => populate(k, process, page, access)?,
        }
        page += PAGE_SIZE;
    }
    Ok(())
}

/// A page fault of `thread` at `address` (`write`: a write access; the page
/// was not present): makes the page if it is private and missing, and says
/// whether the thread may go on. A fault on a present page (a protection
/// violation), outside every region, or with no frame left is not handled:
/// the process is killed.
pub fn fault<M: Machine>(k: &mut Kernel<M>, thread: usize, address: u64, write: bool, present: bool) -> bool {
    if present || address >= abi::USER_END {
        return false;
    }
    let access = if write { Access::Write } else { Access::Read };
    let process = k.thread(thread).process;
    populate(k, process, address, access).is_ok()
}

/// Copies `out.len()` bytes from `from` in the address space of `thread`
/// (the current thread) after checking the pages are readable.
pub fn read_user<M: Machine>(k: &mut Kernel<M>, thread: usize, from: UserSlice, out: &mut [u8]) -> Result<(), Error> {
    let from = from.prefix(out.len());
    prepare(k, thread, from, Access::Read)?;
    let (machine, processes, threads) = (&mut k.machine, &k.processes, &k.threads);
    machine.read_user(processes[threads[thread].process].space(), from, out)
}

/// Copies `data` to `to` in the address space of `thread` (the current
/// thread) after checking the pages are writable.
pub fn write_user<M: Machine>(k: &mut Kernel<M>, thread: usize, to: UserSlice, data: &[u8]) -> Result<(), Error> {
    let to = to.prefix(data.len());
    prepare(k, thread, to, Access::Write)?;
    let (machine, processes, threads) = (&mut k.machine, &k.processes, &k.threads);
    machine.write_user(processes[threads[thread].process].space(), to, data)
}

/// Copies `len` bytes from `source` of `from`'s address space to
/// `destination` of `to`'s (one of them the active one). Both buffers were
/// checked, and their pages made, by the syscalls that named them
/// ([`prepare`]); a page unmapped since is EFAULT.
pub fn copy_between<M: Machine>(
    k: &mut Kernel<M>,
    from: usize,
    source: UserSlice,
    to: usize,
    destination: UserSlice,
    len: usize,
) -> Result<(), Error> {
    // A buffer checked when its thread began to wait may have been unmapped
    // and mapped again since, by another thread of its process: its pages
    // are made again first, so a page that is not there at all is EFAULT
    // before a byte moves. A receive buffer whose check still holds (the
    // thread's `checked_buffer`: forgotten when its mappings change) and
    // the current thread's own buffer (checked by this syscall) need no
    // second look.
    let receiving = k.frame(to);
    let still_checked = k.thread(to).buffers.receives(
        receiving.get(abi::regs::ipc::BUFFER),
        receiving.get(abi::regs::ipc::CAPACITY),
    );
    if !still_checked {
        prepare(k, to, destination.prefix(len), Access::Write)?;
    }
    if k.sched.current() != Some(from) {
        prepare(k, from, source.prefix(len), Access::Read)?;
    }
    let (machine, processes, threads) = (&mut k.machine, &k.processes, &k.threads);
    let space = |thread: usize| processes[threads[thread % MAX_THREADS].process].space();
    machine.transfer(space(from), source, space(to), destination, len)
}

/// Maps a private region of `pages` pages at `start` into `process` (at
/// spawn: an image segment or the stack), charged to its limit. The pages
/// are made on first touch, or now by [`load_page`].
pub fn add_private<M: Machine>(
    k: &mut Kernel<M>,
    process: usize,
    start: u64,
    pages: u64,
    perms: Perms,
) -> Result<(), Error> {
    let p = &mut k.processes[process];
    p.memory.charge(pages)?;
    let region = Region {
        start,
        pages,
        perms,
        max: Perms::all(),
        backing: Backing::Private,
    };
    if let Err(error) = p.regions.insert(region) {
        p.memory.uncharge(pages);
        return Err(error);
    }
    Ok(())
}

/// A page of zeroes, to clear parts of frames with.
static ZERO_PAGE: [u8; PAGE_SIZE as usize] = [0; PAGE_SIZE as usize];

/// Makes the page at `page` of `process`'s private region now, filled with
/// `bytes` at `offset` and zeroes around them (each byte is written once).
pub fn load_page<M: Machine>(
    k: &mut Kernel<M>,
    process: usize,
    page: u64,
    offset: usize,
    bytes: &[u8],
) -> Result<(), Error> {
    let p = &mut k.processes[process];
    let region = *p.regions.find(page).expect("loading a page of a region");
    let frame = k.frames.allocate().ok_or(Error::NOMEM)?;
    let end = offset + bytes.len();
    assert!(end <= PAGE_SIZE as usize, "a load stays inside its page");
    // Only what `bytes` leaves uncovered is cleared: around it, with zeroes
    // copied from a page of them (as cheap as storing them).
    // SAFETY: the frame was just allocated; nothing maps it yet.
    unsafe {
        k.machine.write_frame(frame, 0, &ZERO_PAGE[..offset]);
        k.machine.write_frame(frame, offset, bytes);
        k.machine.write_frame(frame, end, &ZERO_PAGE[end..]);
    }
    let space = p.space.as_mut().expect("a process being started has an address space");
    if space.map(page, frame, flags(region.perms), &mut k.frames).is_err() {
        k.frames.release(frame);
        return Err(Error::NOMEM);
    }
    p.resident += 1;
    Ok(())
}

/// Takes every mapping of `process` down and frees its address space (it
/// ended). Private pages and memory-object mappings are released as by
/// `mem_unmap`.
pub fn teardown<M: Machine>(k: &mut Kernel<M>, process: usize) {
    let before = object_mappings(k, process);
    let regions: Vec<Region, { crate::regions::MAX_REGIONS }> = k.processes[process].regions.iter().copied().collect();
    for region in &regions {
        unmap_pages(k, process, region);
    }
    k.processes[process].regions.clear();
    recount_objects(k, process, &before);
    forget_checked_buffers(k, process);
    let p = &mut k.processes[process];
    if let Some(mut space) = p.space.take() {
        // The time page is the kernel's: it is only unmapped.
        let _ = space.unmap(abi::time::TIME_PAGE);
        space.destroy(&mut k.frames);
    }
}

/// Maps the time page (`abi::time`) read-only into `process`, if the
/// kernel has one. It is not a region: `mem_map` never hands its address
/// out (it lies below `USER_BASE`), and syscalls do not take it as a
/// buffer.
pub fn map_time_page<M: Machine>(k: &mut Kernel<M>, process: usize) -> Result<(), Error> {
    let Some(frame) = k.time_page else {
        return Ok(());
    };
    let flags = PageFlags {
        writable: false,
        executable: false,
        user: true,
    };
    let space = k.processes[process]
        .space
        .as_mut()
        .expect("a process being loaded has an address space");
    space
        .map(abi::time::TIME_PAGE, frame, flags, &mut k.frames)
        .map_err(|_| Error::NOMEM)
}
