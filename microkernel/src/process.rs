//! Processes: starting one from a boot-image program, and taking one apart.
//!
//! Termination (by `exit` or by a fault) releases everything at once: the
//! thread leaves every IPC queue, threads waiting on it are woken with
//! `EPEERGONE`, its handles are closed and its address space and frames are
//! freed. What is left is a zombie thread slot that delivers the exit or
//! fault notice to the notice endpoint (the console server) and is then
//! freed too. Without a receiver for notices, the kernel prints the notice.

use crate::arch::{self, AddressSpace, FrameSource, MapError, PageFlags, TrapFrame};
use crate::config::{TIME_SLICE_TICKS, USER_IMAGE_END, USER_STACK_PAGES, USER_STACK_TOP};
const _: () = assert!(abi::manifest::MAX_ARGS < abi::PAGE_SIZE as usize);
use crate::elf::{self, LoadPlan};
use crate::frames::FRAME_SIZE;
use crate::handles::HandleEntry;
use crate::ipc::SendOutcome;
use crate::messages;
use crate::state::{Kernel, Outgoing, RunState};
use crate::trace;
use abi::Error;
use abi::console::Notice;
use core::fmt::Write;

/// Starts program `program` of the boot manifest. Returns the new pid.
pub fn spawn(k: &mut Kernel, program: usize) -> Result<u32, Error> {
    let image = k.image.as_ref().ok_or(Error::NOTFOUND)?;
    let decl = image.manifest.programs.get(program).ok_or(Error::NOTFOUND)?;
    let Some(bytes) = image.files[program] else {
        crate::warn!("program {}: no file {} in the initrd", decl.name, decl.file);
        return Err(Error::NOTFOUND);
    };
    let plan = elf::check(bytes, USER_IMAGE_END).map_err(|error| {
        crate::warn!("program {}: refused: {error}", decl.name);
        Error::INVAL
    })?;
    let slot = k.processes.iter().position(|p| !p.is_live()).ok_or(Error::TABLEFULL)?;
    let thread = k
        .threads
        .iter()
        .position(|t| t.state == RunState::Free)
        .ok_or(Error::TABLEFULL)?;

    let mut space = AddressSpace::new(&mut k.frames).map_err(|_| Error::NOMEM)?;
    if let Err(error) = load(&mut k.frames, &mut space, bytes, &plan) {
        crate::warn!("program {}: cannot be loaded: {error:?}", decl.name);
        space.destroy(&mut k.frames);
        return Err(Error::NOMEM);
    }

    let (name, io_serial, priority) = (decl.name, decl.io_serial, decl.priority);
    let root = space.root();
    let stack_top = place_args(&space, decl.args);
    let cpu_limit = decl.cpu_limit.map_or(0, u64::from);
    let pid = k.next_pid;
    k.next_pid += 1;
    let process = &mut k.processes[slot];
    process.pid = pid;
    process.name.clear();
    let _ = process.name.push_str(name);
    process.name_words = abi::console::pack_name(name);
    process.program = program;
    process.space = Some(space);
    process.handles.reset();
    process.io_serial = io_serial;
    process.thread = thread;
    process.cpu_used = 0;
    process.cpu_limit = cpu_limit;
    for handle in &decl.handles {
        let entry = HandleEntry {
            endpoint: image.endpoints[handle.endpoint],
            rights: handle.rights,
            badge: handle.badge,
        };
        process
            .handles
            .insert(entry)
            .expect("the manifest allows fewer handles than a table holds");
        k.ipc.handle_opened(entry.endpoint, entry.rights);
    }

    let t = &mut k.threads[thread];
    t.state = RunState::Ready;
    t.process = slot;
    t.priority = priority;
    t.outgoing = Outgoing::Message;
    t.badge = 0;
    t.deadline = 0;
    t.slice_left = TIME_SLICE_TICKS;
    t.checked_buffer = (0, 0);
    t.switch = arch::Switch::new(thread, root, io_serial);
    t.traced_syscall = None;
    t.traced_peer = 0;
    // The program starts with RSP under its arguments, RDI pointing at
    // them and RSI holding their length (libsys reads them in `_start`).
    let frame = arch::frame(thread);
    *frame = TrapFrame::new_user(plan.entry, stack_top);
    frame.rdi = stack_top;
    frame.rsi = decl.args.len() as u64;
    k.run_queues.push_back(thread, priority);
    k.counters.spawned += 1;
    if trace::enabled() {
        trace::start(pid, name);
    }
    crate::debug!(
        "started {name}[{pid}] (thread {thread}, priority {priority}, entry {:#x})",
        plan.entry
    );
    Ok(pid)
}

/// Copies `args` to the top of the new stack; returns where they start,
/// which is also where the stack pointer starts (16-byte aligned).
fn place_args(space: &AddressSpace, args: &str) -> u64 {
    let start = USER_STACK_TOP - (args.len() as u64).next_multiple_of(16);
    if !args.is_empty() {
        // The manifest bounds arguments to 128 bytes: they lie in the top
        // stack page, mapped just before and owned by this space alone.
        let (phys, _) = space.translate(start).expect("the top stack page is mapped");
        let target = arch::phys_to_virt(phys) as *mut u8;
        // SAFETY: `target` is the direct-map address of a fresh stack frame
        // of this process, with room for `args` below the stack top.
        unsafe { core::ptr::copy_nonoverlapping(args.as_ptr(), target, args.len()) };
    }
    start
}

/// Maps the program's segments (copied from the image) and its stack.
fn load(
    frames: &mut impl FrameSource,
    space: &mut AddressSpace,
    image: &[u8],
    plan: &LoadPlan,
) -> Result<(), MapError> {
    for segment in &plan.segments {
        let flags = PageFlags {
            writable: segment.writable,
            executable: segment.executable,
            user: true,
        };
        let (start, end) = segment.pages();
        let file_start = segment.vaddr;
        let file_end = segment.vaddr + segment.file_len;
        let mut page = start;
        while page < end {
            let frame = frames.allocate().ok_or(MapError::NoMemory)?;
            let target = arch::phys_to_virt(frame.address()) as *mut u8;
            // SAFETY: the frame was just allocated and is reached through the
            // direct map; nothing else refers to it yet.
            let bytes = unsafe { core::slice::from_raw_parts_mut(target, FRAME_SIZE as usize) };
            bytes.fill(0);
            let copy_start = page.max(file_start);
            let copy_end = (page + FRAME_SIZE).min(file_end);
            if copy_start < copy_end {
                let offset = (segment.file_offset + (copy_start - segment.vaddr)) as usize;
                let len = (copy_end - copy_start) as usize;
                // The ELF check proved the file range lies inside `image`.
                bytes[(copy_start - page) as usize..][..len].copy_from_slice(&image[offset..offset + len]);
            }
            if let Err(error) = space.map(page, frame, flags, frames) {
                frames.release(frame);
                return Err(error);
            }
            page += FRAME_SIZE;
        }
    }
    let stack = PageFlags {
        writable: true,
        executable: false,
        user: true,
    };
    for page in 1..=USER_STACK_PAGES {
        let frame = frames.allocate().ok_or(MapError::NoMemory)?;
        // SAFETY: fresh frame, reached through the direct map.
        unsafe { core::ptr::write_bytes(arch::phys_to_virt(frame.address()) as *mut u8, 0, FRAME_SIZE as usize) };
        if let Err(error) = space.map(USER_STACK_TOP - page * FRAME_SIZE, frame, stack, frames) {
            frames.release(frame);
            return Err(error);
        }
    }
    Ok(())
}

/// Ends the process of `thread` (which `exit`ed or faulted): releases all it
/// holds and sends the notice `label`/`words` on its behalf.
pub fn terminate(k: &mut Kernel, thread: usize, label: u32, words: [u64; 6]) {
    if trace::enabled() {
        trace::end(k, thread, label, if label == abi::console::EXIT { words[1] } else { 0 });
    }
    if k.current == Some(thread) {
        k.current = None;
        arch::switch_to_kernel();
    }
    for waiter in k.ipc.cancel(thread) {
        fail(k, waiter, Error::PEERGONE);
    }
    k.run_queues.remove(thread);
    let slot = k.threads[thread].process;
    let mut woken: heapless::Vec<usize, { crate::config::MAX_THREADS }> = heapless::Vec::new();
    let entries: heapless::Vec<HandleEntry, { abi::handle::MAX_HANDLES }> = k.processes[slot].handles.drain().collect();
    for entry in entries {
        for waiter in k.ipc.handle_closed(entry.endpoint, entry.rights) {
            let _ = woken.push(waiter);
        }
    }
    if let Some(space) = k.processes[slot].space.take() {
        space.destroy(&mut k.frames);
    }
    for waiter in woken {
        fail(k, waiter, Error::PEERGONE);
    }

    let t = &mut k.threads[thread];
    t.state = RunState::Zombie;
    t.outgoing = Outgoing::Notice { label, words };
    t.badge = 0;
    let Some(endpoint) = k.notices else {
        return print_and_reap(k, thread);
    };
    match k.ipc.send(thread, endpoint, false) {
        Ok(SendOutcome::Blocked) => {}
        Ok(SendOutcome::Rendezvous { receiver }) => match messages::transfer(k, thread, receiver) {
            Ok(()) => {
                k.ipc.complete(thread, receiver, false);
                make_ready_first(k, receiver);
                reap(k, thread);
            }
            Err(_) => {
                k.ipc.undo_receive(receiver, endpoint);
                print_and_reap(k, thread);
            }
        },
        Err(_) => print_and_reap(k, thread),
    }
}

/// Wakes `thread` from an IPC wait with `error` as its syscall result; a
/// zombie whose notice cannot be delivered is printed and freed instead.
pub fn fail(k: &mut Kernel, thread: usize, error: Error) {
    match k.threads[thread].state {
        RunState::Zombie => print_and_reap(k, thread),
        RunState::Blocked => {
            arch::frame(thread).set_result(Err(error));
            make_ready(k, thread);
        }
        state => panic!("waking thread {thread} in state {state:?}"),
    }
}

/// Puts a blocked thread at the back of its run queue.
pub fn make_ready(k: &mut Kernel, thread: usize) {
    let priority = unblock(k, thread);
    k.run_queues.push_back(thread, priority);
}

/// Puts a blocked thread at the front of its run queue, ahead of others of
/// its priority: one that just received a message or a reply, whose sender
/// usually waits now, so it runs next.
pub fn make_ready_first(k: &mut Kernel, thread: usize) {
    let priority = unblock(k, thread);
    k.run_queues.push_front(thread, priority);
}

/// Ends a blocked thread's wait (and any timeout it had); returns its
/// priority.
fn unblock(k: &mut Kernel, thread: usize) -> u8 {
    let t = &mut k.threads[thread];
    debug_assert_eq!(t.state, RunState::Blocked);
    t.state = RunState::Ready;
    t.outgoing = Outgoing::Message;
    t.deadline = 0;
    t.priority
}

/// Prints a zombie's notice on the kernel log, then frees it.
fn print_and_reap(k: &mut Kernel, thread: usize) {
    if let Outgoing::Notice { label, words } = k.threads[thread].outgoing
        && let Some(notice) = Notice::decode(label, &words)
    {
        crate::info!("{notice}");
    }
    reap(k, thread);
}

/// Frees the slots of a zombie whose notice was delivered.
pub fn reap(k: &mut Kernel, thread: usize) {
    debug_assert_eq!(k.threads[thread].state, RunState::Zombie);
    let slot = k.threads[thread].process;
    k.processes[slot].pid = 0;
    k.threads[thread].state = RunState::Free;
    k.threads[thread].outgoing = Outgoing::Message;
}

/// The notice for a process that called `exit(status)`.
pub fn exit_notice(k: &Kernel, thread: usize, status: u64) -> [u64; 6] {
    let process = k.process_of(thread);
    Notice::exit_words(process.pid as u64, &process.name, status as i64)
}

/// The notice for a process that used up its CPU time limit.
pub fn limit_notice(k: &Kernel, thread: usize) -> [u64; 6] {
    let process = k.process_of(thread);
    Notice::limit_words(
        process.pid as u64,
        &process.name,
        process.cpu_limit,
        arch::frame(thread).rip,
    )
}

/// The notice for a process killed by exception `vector`.
pub fn fault_notice(k: &Kernel, thread: usize, vector: u8, error_code: u64, address: u64) -> [u64; 6] {
    let process = k.process_of(thread);
    let rip = arch::frame(thread).rip;
    Notice::fault_words(process.pid as u64, &process.name, vector, error_code, rip, address)
}

/// `name[pid]` of the process of `thread`, for log lines.
pub fn describe(k: &Kernel, thread: usize) -> heapless::String<32> {
    let process = k.process_of(thread);
    let mut text = heapless::String::new();
    let _ = write!(text, "{}[{}]", process.name, process.pid);
    text
}
