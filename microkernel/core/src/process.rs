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
use crate::handles::{HandleEntry, Object};
use crate::ipc::message::Outgoing;
use crate::ipc::state::SendOutcome;
use crate::ipc::transfer;
use crate::kernel::Kernel;
use crate::machine::Machine;
use crate::objects;
use crate::physmem::PAGE_SIZE;
use crate::quota::Quota;
use crate::sched::RunState;
use crate::signals;
use crate::space::AddressSpace;
use crate::trace;
use crate::umem::{Access, CheckedBuffers, UserSlice};
use crate::vm;
use crate::wake::{self, log_and_reap};
use abi::memory::{DEFAULT_MEMORY_PAGES, Perms};
use abi::process::{Info, State};
use abi::{Error, Rights};

const _: () = assert!(abi::manifest::MAX_ARGS < PAGE_SIZE as usize);

/// A process that [`spawn`] started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Started {
    /// Its pid.
    pub pid: u32,
    /// Its process slot.
    pub slot: usize,
}

/// Starts program `program` of the boot manifest, with `args` (or, if
/// `None`, the manifest's arguments).
pub fn spawn<M: Machine>(k: &mut Kernel<M>, program: usize, args: Option<&str>) -> Result<Started, Error> {
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

    let (name, io_serial, priority, affinity) = (decl.name, decl.io_serial, decl.priority, decl.cpus);
    let thread_limit = decl.threads;
    let args = args.unwrap_or(decl.args);
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
    process.threads = 1;
    process.thread_limit = u32::from(thread_limit);
    process.cpu_retired = 0;
    process.cpu_limit = cpu_limit;
    process.record = None;
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
    let irqs = image.manifest.programs[program].irqs;
    for line in (0..crate::irq::LINES).filter(|line| irqs & 1 << line != 0) {
        let entry = HandleEntry {
            object: Object::Irq(line),
            rights: Rights::WAIT | Rights::TRANSFER,
            badge: 0,
        };
        k.processes[slot]
            .handles
            .insert(entry)
            .expect("the manifest allows fewer handles than a table holds");
        k.irqs.opened(line);
    }

    // The program starts with RSP under its arguments, RDI pointing at
    // them and RSI holding their length (libsys reads them in `_start`).
    let mut frame = k.machine.user_frame(plan.entry, stack_top);
    frame.rdi = stack_top;
    frame.rsi = args.len() as u64;
    let switch = k.machine.switch_target(k.processes[slot].space(), io_serial);
    begin_thread(k, thread, slot, frame, switch, priority, affinity);
    k.counters.spawned += 1;
    if k.tracing() {
        trace::start(k, pid, name);
    }
    crate::debug!(
        "started {name}[{pid}] (thread {thread}, priority {priority}, entry {:#x})",
        plan.entry
    );
    Ok(Started { pid, slot })
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
    vm::map_time_page(k, process)?;
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
    let slot = k.thread(thread).process;
    // Its other threads end first, wherever they are; `thread` carries the
    // notice.
    let others: heapless::Vec<usize, { crate::config::MAX_THREADS }> = (0..k.threads.len())
        .filter(|&t| t != thread && k.thread(t).process == slot && k.sched.state(t) != RunState::Free)
        .collect();
    for other in others {
        retire_thread(k, other);
    }
    k.processes[slot].thread = thread;
    if k.sched.end(thread) {
        k.machine.switch_to_kernel();
    }
    for waiter in k.ipc.cancel(thread) {
        wake::fail(k, waiter, Error::PEERGONE);
    }
    if let Some(record) = k.processes[slot].record.take() {
        let (ending, detail) = notice.ending().expect("a process ends with a notice");
        if let Some((notification, bits)) = k.records.end(record, (ending, detail)) {
            signals::signal(k, notification, bits);
        }
        for joiner in k.ipc.release_joiners(record) {
            let frame = k.frame_mut(joiner);
            frame.set(abi::regs::SECOND_RESULT, detail);
            frame.set_result(Ok(ending as u64));
            k.sched.wake(joiner);
        }
    }
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

/// Ends one thread of a process that goes on (or is being taken apart):
/// it leaves every queue, callers waiting for its reply get EPEERGONE, its
/// time goes to the process, and its slot is freed at once.
fn retire_thread<M: Machine>(k: &mut Kernel<M>, thread: usize) {
    if k.sched.end(thread) {
        k.machine.switch_to_kernel();
    }
    for waiter in k.ipc.cancel(thread) {
        wake::fail(k, waiter, Error::PEERGONE);
    }
    let slot = k.thread(thread).process;
    let process = &mut k.processes[slot];
    process.cpu_retired += k.sched.used(thread);
    process.threads -= 1;
    k.sched.free(thread);
    k.thread_mut(thread).outgoing = Outgoing::Message;
}

/// Makes the free thread slot `thread` a thread of process `slot` that
/// starts with `frame` in the address space `switch` names, and makes it
/// ready; it is budgeted if the process has a CPU limit.
fn begin_thread<M: Machine>(
    k: &mut Kernel<M>,
    thread: usize,
    slot: usize,
    frame: crate::trapframe::TrapFrame,
    switch: M::Switch,
    priority: u8,
    affinity: u8,
) {
    let t = k.thread_mut(thread);
    t.frame = frame;
    t.process = slot;
    t.outgoing = Outgoing::Message;
    t.badge = 0;
    t.buffers = CheckedBuffers::NONE;
    t.switch = switch;
    t.traced_syscall = None;
    t.traced_peer = 0;
    k.sched.start(thread, priority, affinity);
    k.sched.set_budgeted(thread, k.processes[slot].cpu_limit != 0);
}

/// `thread_create(entry, stack, arg)`: a new thread of the caller's
/// process, ready at the process's priority on its CPUs.
pub fn thread_create<M: Machine>(k: &mut Kernel<M>, thread: usize) -> Result<u64, Error> {
    let frame = k.frame(thread);
    let (entry, stack, arg) = (frame.arg(0), frame.arg(1), frame.arg(2));
    let user = abi::USER_BASE..abi::USER_END;
    if !user.contains(&entry) || !(abi::USER_BASE..=abi::USER_END).contains(&stack) {
        return Err(Error::INVAL);
    }
    let slot = k.thread(thread).process;
    let process = &k.processes[slot];
    if process.threads >= process.thread_limit {
        return Err(Error::TABLEFULL);
    }
    let new = k.sched.free_slot().ok_or(Error::TABLEFULL)?;
    let program = process.program;
    let affinity = k
        .image
        .as_ref()
        .and_then(|image| image.manifest.programs.get(program))
        .map_or(0, |decl| decl.cpus);
    let priority = k.sched.priority(thread);
    let mut frame = k.machine.user_frame(entry, stack);
    frame.rdi = arg;
    let switch = k.thread(thread).switch;
    begin_thread(k, new, slot, frame, switch, priority, affinity);
    k.processes[slot].threads += 1;
    Ok(new as u64)
}

/// `thread_exit(notification, bits)`: the calling thread ends (and
/// signals the notification once it is gone); with it the process, if it
/// was the last.
pub fn thread_exit<M: Machine>(k: &mut Kernel<M>, thread: usize) {
    let slot = k.thread(thread).process;
    let frame = k.frame(thread);
    let (handle, bits) = (frame.arg(0), frame.arg(1));
    let joiner = k.processes[slot]
        .handles
        .require(handle, Rights::SIGNAL)
        .and_then(|entry| entry.notification());
    if k.processes[slot].threads <= 1 {
        let notice = exit_notice(k, thread, 0);
        return terminate(k, thread, notice);
    }
    retire_thread(k, thread);
    if k.processes[slot].thread == thread {
        let next = (0..k.threads.len())
            .find(|&t| t != thread && k.thread(t).process == slot && k.sched.state(t) != RunState::Free)
            .expect("a process with threads left has one");
        k.processes[slot].thread = next;
    }
    if let Ok(notification) = joiner {
        signals::signal(k, notification, bits);
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

/// `spawn(name, len)` for the caller `thread`, once the name is checked:
/// starts `program` and gives the caller a process handle (WAIT, KILL and
/// TRANSFER). Returns the handle, with the pid in the second result.
pub fn spawn_child<M: Machine>(
    k: &mut Kernel<M>,
    thread: usize,
    program: usize,
    args: Option<&str>,
) -> Result<u64, Error> {
    let parent = k.thread(thread).process;
    if !k.processes[parent].handles.has_room() || !k.records.has_room() {
        return Err(Error::TABLEFULL);
    }
    let Started { pid, slot } = spawn(k, program, args)?;
    let record = k.records.create(pid, slot).expect("room was checked");
    k.processes[slot].record = Some(record);
    let entry = HandleEntry {
        object: Object::Process(record),
        rights: Rights::WAIT | Rights::KILL | Rights::TRANSFER,
        badge: 0,
    };
    let handle = k.processes[parent].handles.insert(entry).expect("room was checked");
    k.records.opened(record);
    k.frame_mut(thread).set(abi::regs::SECOND_RESULT, pid as u64);
    Ok(handle)
}

/// The process record `handle` of `thread`'s process names, with `rights`.
fn record_of<M: Machine>(k: &Kernel<M>, thread: usize, handle: u64, rights: Rights) -> Result<usize, Error> {
    k.process_of(thread).handles.require(handle, rights)?.process()
}

/// `process_wait(handle, timeout, flags)`: returns at once if the process
/// has ended, else blocks until it does (or the timeout).
pub fn wait<M: Machine>(k: &mut Kernel<M>, thread: usize) -> Result<(), Error> {
    let frame = k.frame(thread);
    let (handle, timeout, flags) = (frame.arg(0), frame.arg(1), frame.arg(2));
    let record = record_of(k, thread, handle, Rights::WAIT)?;
    let (nonblocking, deadline) = signals::wait_arguments(k, timeout, flags)?;
    if let Some((ending, detail)) = k.records.get(record).ending {
        let frame = k.frame_mut(thread);
        frame.set(abi::regs::SECOND_RESULT, detail);
        frame.set_result(Ok(ending as u64));
        return Ok(());
    }
    if nonblocking {
        return Err(Error::TIMEDOUT);
    }
    k.ipc.join(thread, record);
    k.sched.block(thread, deadline);
    Ok(())
}

/// `process_kill(handle)`: ends the process wherever it is. Sets the
/// caller's result itself, unless the caller killed itself.
pub fn kill<M: Machine>(k: &mut Kernel<M>, thread: usize) -> Result<(), Error> {
    let handle = k.frame(thread).arg(0);
    let record = record_of(k, thread, handle, Rights::KILL)?;
    let slot = k.records.get(record).process.ok_or(Error::PEERGONE)?;
    let target = k.processes[slot].thread;
    let killer = k.process_of(thread).pid;
    let process = &k.processes[slot];
    let notice = Outgoing::killed_notice(process.pid, &process.name, killer, k.frame(target).rip);
    crate::debug!("{} killed by pid {killer}", k.describe(target));
    terminate(k, target, notice);
    if target != thread {
        k.frame_mut(thread).set_result(Ok(0));
    }
    Ok(())
}

/// `process_watch(handle, notification, bits)`.
pub fn watch<M: Machine>(k: &mut Kernel<M>, thread: usize) -> Result<u64, Error> {
    let frame = k.frame(thread);
    let (handle, notification, bits) = (frame.arg(0), frame.arg(1), frame.arg(2));
    let record = record_of(k, thread, handle, Rights::WAIT)?;
    let notification = k
        .process_of(thread)
        .handles
        .require(notification, Rights::SIGNAL)?
        .notification()?;
    if bits == 0 {
        return Err(Error::INVAL);
    }
    if let Some((notification, bits)) = k.records.watch(record, notification, bits) {
        signals::signal(k, notification, bits);
    }
    Ok(0)
}

/// Clock time charged to the process in `slot`: to its live threads, and
/// to the ones that are gone.
pub fn cpu_time<M: Machine>(k: &Kernel<M>, slot: usize) -> u64 {
    let process = &k.processes[slot];
    let live: u64 = (0..k.threads.len())
        .filter(|&t| k.thread(t).process == slot && k.sched.state(t) != RunState::Free)
        .map(|t| k.sched.used(t))
        .sum();
    process.cpu_retired + live
}

/// The `process_info` record of the process in `slot`.
pub fn info<M: Machine>(k: &Kernel<M>, slot: usize) -> Info {
    let process = &k.processes[slot];
    let state = match k.sched.state(process.thread) {
        RunState::Running => State::Running,
        RunState::Ready => State::Ready,
        RunState::Blocked => State::Blocked,
        RunState::Zombie | RunState::Free => State::Ending,
    };
    let mut name = [0u8; abi::manifest::MAX_NAME];
    let len = process.name.len().min(name.len());
    name[..len].copy_from_slice(&process.name.as_bytes()[..len]);
    let unmade = process.private_pages() - process.resident;
    Info {
        pid: process.pid,
        state: state as u8,
        priority: k.sched.priority(process.thread),
        name_len: len as u8,
        name,
        cpu_ticks: cpu_time(k, slot) / k.clock_per_tick.max(1),
        handles: process.handles.len() as u32,
        frames: process.memory.used - unmade,
        memory_limit: process.memory.limit,
    }
}

/// `process_info(buf, len)`: a record per live process, in pid order, as
/// many as fit; returns how many processes live.
pub fn info_syscall<M: Machine>(k: &mut Kernel<M>, thread: usize) -> Result<u64, Error> {
    let frame = k.frame(thread);
    let out = UserSlice::new(frame.arg(0), frame.arg(1) as usize)?;
    let mut live: heapless::Vec<(u32, usize), { crate::config::MAX_PROCESSES }> = k
        .processes
        .iter()
        .enumerate()
        .filter(|(_, p)| p.is_live())
        .map(|(slot, p)| (p.pid, slot))
        .collect();
    live.sort_unstable();
    let room = out.len() / Info::SIZE;
    let written = room.min(live.len()) * Info::SIZE;
    vm::prepare(k, thread, UserSlice::new(out.address(), written)?, Access::Write)?;
    for (index, &(_, slot)) in live.iter().take(room).enumerate() {
        let bytes = info(k, slot).to_bytes();
        let at = UserSlice::new(out.address() + (index * Info::SIZE) as u64, Info::SIZE)?;
        vm::write_user(k, thread, at, &bytes)?;
    }
    Ok(live.len() as u64)
}
