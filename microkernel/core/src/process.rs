//! Processes: starting one from a boot-image program, and taking one apart.
//!
//! Termination (by `exit`, a fault or a CPU limit) releases everything at
//! once: the thread leaves every IPC queue, threads waiting on it are woken
//! with `EPEERGONE`, its handles are closed and its mappings and address
//! space are freed. What is left is a zombie thread slot that delivers the
//! exit or fault notice to the notice endpoint (the console server) and is
//! then freed too. Without a receiver for notices, the kernel logs the
//! notice.

use crate::config::{USER_IMAGE_END, USER_STACK_PAGES, USER_STACK_TOP};
use crate::elf::{self, LoadPlan};
use crate::handles::HandleEntry;
use crate::ipc::message::Outgoing;
use crate::ipc::state::SendOutcome;
use crate::ipc::transfer;
use crate::kernel::Kernel;
use crate::machine::Machine;
use crate::objects;
use crate::physmem::PAGE_SIZE;
use crate::quota::Quota;
use crate::space::AddressSpace;
use crate::trace;
use crate::vm;
use crate::wake::{self, log_and_reap};
use abi::Error;
use abi::memory::{DEFAULT_MEMORY_PAGES, Perms};

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
    let space = M::Space::new(&mut k.frames).map_err(|_| Error::NOMEM)?;

    let (name, io_serial, priority, args) = (decl.name, decl.io_serial, decl.priority, decl.args);
    let limit = decl.memory_pages.map_or(DEFAULT_MEMORY_PAGES, u64::from);
    let cpu_limit = decl.cpu_limit.map_or(0, u64::from);
    let pid = k.next_pid;
    let process = &mut k.processes[slot];
    process.pid = pid;
    process.name.clear();
    let _ = process.name.push_str(name);
    process.name_words = abi::console::pack_name(name);
    process.program = program;
    process.space = Some(space);
    process.handles.reset();
    process.regions.clear();
    process.memory = Quota::new(limit);
    process.resident = 0;
    process.io_serial = io_serial;
    process.thread = thread;
    process.cpu_used = 0;
    process.cpu_limit = cpu_limit;
    let stack_top = match load(k, slot, bytes, &plan, args) {
        Ok(top) => top,
        Err(error) => {
            crate::warn!("program {name}: cannot be loaded: {error}");
            vm::teardown(k, slot);
            k.processes[slot].pid = 0;
            return Err(error);
        }
    };
    k.next_pid += 1;
    let image = k.image.as_ref().expect("checked above");
    for handle in &image.manifest.programs[program].handles {
        let entry = HandleEntry::endpoint_handle(image.endpoints[handle.endpoint], handle.rights, handle.badge);
        k.processes[slot]
            .handles
            .insert(entry)
            .expect("the manifest allows fewer handles than a table holds");
        k.ipc
            .handle_opened(entry.endpoint().expect("an endpoint handle"), entry.rights);
    }

    // The program starts with RSP under its arguments, RDI pointing at
    // them and RSI holding their length (libsys reads them in `_start`).
    let mut frame = k.machine.user_frame(plan.entry, stack_top);
    frame.rdi = stack_top;
    frame.rsi = args.len() as u64;
    let switch = k.machine.switch_target(k.processes[slot].space(), io_serial);
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

/// Maps the program's segments (their pages filled from the image now) and
/// its stack (made on first touch), both charged to its memory limit, and
/// copies `args` to the top of the stack. Returns where the arguments
/// start, which is also where the stack pointer starts (16-byte aligned).
fn load<M: Machine>(
    k: &mut Kernel<M>,
    process: usize,
    image: &[u8],
    plan: &LoadPlan,
    args: &str,
) -> Result<u64, Error> {
    for segment in &plan.segments {
        let mut perms = Perms::READ;
        if segment.writable {
            perms |= Perms::WRITE;
        }
        if segment.executable {
            perms |= Perms::EXEC;
        }
        let (start, end) = segment.pages();
        vm::add_private(k, process, start, (end - start) / PAGE_SIZE, perms)?;
        let (file_start, file_end) = (segment.vaddr, segment.vaddr + segment.file_len);
        let mut page = start;
        while page < end {
            let copy_start = page.max(file_start);
            let copy_end = (page + PAGE_SIZE).min(file_end);
            // The ELF check proved the file range lies inside `image`.
            let bytes = if copy_start < copy_end {
                let offset = (segment.file_offset + (copy_start - segment.vaddr)) as usize;
                &image[offset..offset + (copy_end - copy_start) as usize]
            } else {
                &[]
            };
            vm::load_page(
                k,
                process,
                page,
                (copy_start.min(page + PAGE_SIZE) - page) as usize,
                bytes,
            )?;
            page += PAGE_SIZE;
        }
    }
    let stack = USER_STACK_TOP - USER_STACK_PAGES * PAGE_SIZE;
    vm::add_private(k, process, stack, USER_STACK_PAGES, Perms::READ | Perms::WRITE)?;
    // The top stack page is made now: the program's first instruction
    // touches it anyway, and the arguments go there (the manifest bounds
    // them to far less than a page). The rest of the stack is made on first
    // touch, under the same page table.
    let start = USER_STACK_TOP - (args.len() as u64).next_multiple_of(16);
    let top = USER_STACK_TOP - PAGE_SIZE;
    vm::load_page(k, process, top, (start - top) as usize, args.as_bytes())?;
    Ok(start)
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
        wake::fail(k, waiter, Error::PEERGONE);
    }
    let slot = k.thread(thread).process;
    let entries: heapless::Vec<HandleEntry, { abi::handle::MAX_HANDLES }> = k.processes[slot].handles.drain().collect();
    for entry in entries {
        objects::closed(k, slot, entry);
    }
    vm::teardown(k, slot);

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
                wake::reap(k, thread);
            }
            Err(_) => {
                k.ipc.undo_receive(receiver, endpoint);
                log_and_reap(k, thread);
            }
        },
        Err(_) => log_and_reap(k, thread),
    }
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
