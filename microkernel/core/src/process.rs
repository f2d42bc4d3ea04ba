//! Processes: starting one from a boot-image program, and taking one apart.
//!
//! Termination (by `exit`, a fault or a CPU limit) releases everything at
//! once: the thread leaves every IPC queue, threads waiting on it are woken
//! with `EPEERGONE`, its handles are closed and its address space and frames
//! are freed. What is left is a zombie thread slot that delivers the exit or
//! fault notice to the notice endpoint (the console server) and is then
//! freed too. Without a receiver for notices, the kernel logs the notice.

use crate::config::{MAX_THREADS, USER_IMAGE_END, USER_STACK_PAGES, USER_STACK_TOP};
use crate::elf::{self, LoadPlan};
use crate::handles::HandleEntry;
use crate::ipc::message::Outgoing;
use crate::ipc::state::SendOutcome;
use crate::ipc::transfer;
use crate::kernel::Kernel;
use crate::machine::Machine;
use crate::physmem::{FrameSource, PAGE_SIZE};
use crate::sched::RunState;
use crate::space::{AddressSpace, MapError, PageFlags};
use crate::trace;
use abi::Error;

const _: () = assert!(abi::manifest::MAX_ARGS < PAGE_SIZE as usize);

/// Starts program `program` of the boot manifest. Returns the new pid.
pub fn spawn<M: Machine>(k: &mut Kernel<M>, program: usize) -> Result<u32, Error> {
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
    let thread = k.sched.free_slot().ok_or(Error::TABLEFULL)?;

    let mut space = M::Space::new(&mut k.frames).map_err(|_| Error::NOMEM)?;
    if let Err(error) = load(&mut k.machine, &mut k.frames, &mut space, bytes, &plan) {
        crate::warn!("program {}: cannot be loaded: {error:?}", decl.name);
        space.destroy(&mut k.frames);
        return Err(Error::NOMEM);
    }
    let stack_top = place_args(&mut k.machine, &space, decl.args);

    let (name, io_serial, priority) = (decl.name, decl.io_serial, decl.priority);
    let pid = k.next_pid;
    k.next_pid += 1;
    let switch = k.machine.switch_target(&space, io_serial);
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
    process.cpu_limit = decl.cpu_limit.map_or(0, u64::from);
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

    // The program starts with RSP under its arguments, RDI pointing at
    // them and RSI holding their length (libsys reads them in `_start`).
    let mut frame = k.machine.user_frame(plan.entry, stack_top);
    frame.rdi = stack_top;
    frame.rsi = decl.args.len() as u64;
    let t = k.thread_mut(thread);
    t.frame = frame;
    t.process = slot;
    t.outgoing = Outgoing::Message;
    t.badge = 0;
    t.checked_buffer = (0, 0);
    t.switch = switch;
    t.traced_syscall = None;
    t.traced_peer = 0;
    k.sched.start(thread, priority);
    k.counters.spawned += 1;
    if k.tracing() {
        trace::start(k, pid, name);
    }
    crate::debug!(
        "started {name}[{pid}] (thread {thread}, priority {priority}, entry {:#x})",
        plan.entry
    );
    Ok(pid)
}

/// Copies `args` to the top of the new stack; returns where they start,
/// which is also where the stack pointer starts (16-byte aligned).
fn place_args<M: Machine>(machine: &mut M, space: &M::Space, args: &str) -> u64 {
    let start = USER_STACK_TOP - (args.len() as u64).next_multiple_of(16);
    if !args.is_empty() {
        // The manifest bounds arguments to far less than a page: they lie in
        // the top stack page, mapped just before and owned by this space.
        let (phys, _) = space.translate(start).expect("the top stack page is mapped");
        let frame = crate::physmem::Frame::containing(phys);
        // SAFETY: the frame is a stack page this new address space mapped
        // from a fresh allocation; nothing else maps it yet.
        unsafe { machine.write_frame(frame, (phys - frame.address()) as usize, args.as_bytes()) };
    }
    start
}

/// Maps the program's segments (copied from the image) and its stack.
fn load<M: Machine>(
    machine: &mut M,
    frames: &mut impl FrameSource,
    space: &mut M::Space,
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
            let copy_start = page.max(file_start);
            let copy_end = (page + PAGE_SIZE).min(file_end);
            // SAFETY: the frame was just allocated; nothing else maps it.
            unsafe { machine.zero_frame(frame) };
            if copy_start < copy_end {
                let offset = (segment.file_offset + (copy_start - segment.vaddr)) as usize;
                let len = (copy_end - copy_start) as usize;
                // The ELF check proved the file range lies inside `image`.
                // SAFETY: as above.
                unsafe {
                    machine.write_frame(frame, (copy_start - page) as usize, &image[offset..offset + len]);
                }
            }
            if let Err(error) = space.map(page, frame, flags, frames) {
                frames.release(frame);
                return Err(error);
            }
            page += PAGE_SIZE;
        }
    }
    let stack = PageFlags {
        writable: true,
        executable: false,
        user: true,
    };
    for page in 1..=USER_STACK_PAGES {
        let frame = frames.allocate().ok_or(MapError::NoMemory)?;
        // SAFETY: fresh frame; nothing else maps it.
        unsafe { machine.zero_frame(frame) };
        if let Err(error) = space.map(USER_STACK_TOP - page * PAGE_SIZE, frame, stack, frames) {
            frames.release(frame);
            return Err(error);
        }
    }
    Ok(())
}

/// Ends the process of `thread` (it `exit`ed, faulted or used up its CPU
/// limit): releases all it holds and sends `notice` on its behalf.
pub fn terminate<M: Machine>(k: &mut Kernel<M>, thread: usize, notice: Outgoing) {
    if k.tracing() {
        trace::end(k, thread, &notice);
    }
    if k.sched.end(thread) {
        k.machine.switch_to_kernel();
    }
    for waiter in k.ipc.cancel(thread) {
        fail(k, waiter, Error::PEERGONE);
    }
    let slot = k.thread(thread).process;
    let mut woken: heapless::Vec<usize, MAX_THREADS> = heapless::Vec::new();
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

    let t = k.thread_mut(thread);
    t.outgoing = notice;
    t.badge = 0;
    let Some(endpoint) = k.notices else {
        return log_and_reap(k, thread);
    };
    match k.ipc.send(thread, endpoint, false) {
        Ok(SendOutcome::Blocked) => {}
        Ok(SendOutcome::Rendezvous { receiver }) => match transfer::deliver(k, thread, receiver) {
            Ok(()) => {
                k.ipc.complete(thread, receiver, false);
                k.sched.wake_first(receiver);
                reap(k, thread);
            }
            Err(_) => {
                k.ipc.undo_receive(receiver, endpoint);
                log_and_reap(k, thread);
            }
        },
        Err(_) => log_and_reap(k, thread),
    }
}

/// Wakes `thread` from an IPC wait with `error` as its syscall result; a
/// zombie whose notice cannot be delivered is logged and freed instead.
pub fn fail<M: Machine>(k: &mut Kernel<M>, thread: usize, error: Error) {
    match k.sched.state(thread) {
        RunState::Zombie => log_and_reap(k, thread),
        RunState::Blocked => {
            k.frame_mut(thread).set_result(Err(error));
            k.sched.wake(thread);
        }
        state => panic!("waking thread {thread} in state {state:?}"),
    }
}

/// Logs a zombie's notice, then frees it.
fn log_and_reap<M: Machine>(k: &mut Kernel<M>, thread: usize) {
    if let Some(notice) = k.thread(thread).outgoing.notice() {
        crate::info!("{notice}");
    }
    reap(k, thread);
}

/// Frees the slots of a zombie whose notice was delivered.
pub fn reap<M: Machine>(k: &mut Kernel<M>, thread: usize) {
    let slot = k.thread(thread).process;
    k.processes[slot].pid = 0;
    k.sched.free(thread);
    k.thread_mut(thread).outgoing = Outgoing::Message;
}

/// The notice for `thread`'s process calling `exit(status)`.
pub fn exit_notice<M: Machine>(k: &Kernel<M>, thread: usize, status: u64) -> Outgoing {
    let process = k.process_of(thread);
    Outgoing::exit_notice(process.pid, &process.name, status)
}

/// The notice for `thread`'s process using up its CPU time limit.
pub fn limit_notice<M: Machine>(k: &Kernel<M>, thread: usize) -> Outgoing {
    let process = k.process_of(thread);
    Outgoing::limit_notice(process.pid, &process.name, process.cpu_limit, k.frame(thread).rip)
}

/// The notice for `thread`'s process killed by exception `vector`.
pub fn fault_notice<M: Machine>(k: &Kernel<M>, thread: usize, vector: u8, error_code: u64, address: u64) -> Outgoing {
    let process = k.process_of(thread);
    let rip = k.frame(thread).rip;
    Outgoing::fault_notice(process.pid, &process.name, vector, error_code, rip, address)
}
