//! The syscall dispatcher: one `match` on the ABI's syscall number.
//!
//! Each handler checks all of its arguments before it changes anything and
//! returns `Err` for a documented error, which becomes `-code` in RAX.
//! Handlers that block set the result later, when the thread is woken.

use crate::handles::HandleEntry;
use crate::ipc::syscalls as ipc;
use crate::kernel::Kernel;
use crate::machine::Machine;
use crate::objects;
use crate::process;
use crate::signals;
use crate::trace;
use crate::umem::UserSlice;
use crate::vm;
use abi::manifest::{MAX_ARGS, MAX_NAME};
use abi::stats::Stats;
use abi::{Error, Rights, Syscall};
use core::sync::atomic::Ordering;

/// Serves the syscall in `thread`'s saved registers.
pub fn dispatch<M: Machine>(k: &mut Kernel<M>, thread: usize) {
    k.counters.syscalls += 1;
    let number = k.frame(thread).syscall_number();
    if k.tracing() {
        trace::enter(k, thread, number);
    }
    let result = match Syscall::try_from(number) {
        Err(error) => Err(error),
        Ok(syscall) => serve(k, thread, syscall),
    };
    if let Err(error) = result {
        crate::debug!("{} {}: {}", k.describe(thread), syscall_name(number), error);
        k.frame_mut(thread).set_result(Err(error));
    }
    if k.options.probe && !k.counters.probe_reported {
        k.counters.probe_reported = true;
        crate::info!("probe: ring-3 syscall ok");
    }
}

fn syscall_name(number: u64) -> &'static str {
    Syscall::try_from(number)
        .map(Syscall::name)
        .unwrap_or("unknown syscall")
}

/// Runs one syscall. `Ok` means the handler set the result (or will, when the
/// thread wakes); `Err` is returned to the caller.
fn serve<M: Machine>(k: &mut Kernel<M>, thread: usize, syscall: Syscall) -> Result<(), Error> {
    let frame = *k.frame(thread);
    let value = match syscall {
        Syscall::AbiVersion => k.machine.published().abi_version.load(Ordering::Relaxed) as u64,
        Syscall::Write => return ipc::write(k, thread),
        Syscall::Exit => {
            let notice = process::exit_notice(k, thread, frame.arg(0));
            process::terminate(k, thread, notice);
            return Ok(());
        }
        Syscall::GetTicks => k.now(),
        Syscall::Yield => {
            k.sched.request_yield();
            0
        }
        Syscall::Send => return ipc::send(k, thread, false),
        Syscall::Call => return ipc::send(k, thread, true),
        Syscall::Recv => return ipc::recv(k, thread),
        Syscall::Reply => return ipc::reply(k, thread),
        Syscall::ReplyRecv => return ipc::reply_recv(k, thread),
        Syscall::EndpointCreate => endpoint_create(k, thread)?,
        Syscall::HandleDup => {
            let process = k.thread(thread).process;
            let new = k.processes[process]
                .handles
                .duplicate(frame.arg(0), frame.arg(1), frame.arg(2))?;
            let entry = k.processes[process].handles.get(new)?;
            if let Err(error) = objects::opened(k, process, entry) {
                let _ = k.processes[process].handles.remove(new);
                return Err(error);
            }
            new
        }
        Syscall::HandleClose => {
            let process = k.thread(thread).process;
            let entry = k.processes[process].handles.remove(frame.arg(0))?;
            objects::closed(k, process, entry);
            0
        }
        Syscall::Spawn => spawn(k, thread)?,
        Syscall::Stats => {
            let out = UserSlice::new(frame.arg(0), frame.arg(1) as usize)?;
            if out.len() < Stats::MIN_SIZE {
                return Err(Error::INVAL);
            }
            let bytes = stats(k).to_bytes();
            vm::write_user(k, thread, out, &bytes[..out.len().min(Stats::SIZE)])?;
            0
        }
        Syscall::GetPid => k.process_of(thread).pid as u64,
        Syscall::MemMap => vm::map_private(k, thread, frame.arg(0), frame.arg(1), frame.arg(2))?,
        Syscall::MemUnmap => {
            vm::unmap(k, thread, frame.arg(0), frame.arg(1))?;
            0
        }
        Syscall::MemProtect => {
            vm::protect(k, thread, frame.arg(0), frame.arg(1), frame.arg(2))?;
            0
        }
        Syscall::MemCreate => vm::create_object(k, thread, frame.arg(0))?,
        Syscall::MemMapObject => vm::map_object(k, thread, frame.arg(0), frame.arg(1), frame.arg(2))?,
        Syscall::NotifyCreate => signals::notify_create(k, thread)?,
        Syscall::Notify => signals::notify(k, thread)?,
        Syscall::NotifyWait => return signals::notify_wait(k, thread),
        Syscall::NotifyBind => signals::notify_bind(k, thread)?,
        Syscall::IrqBind => signals::irq_bind(k, thread)?,
        Syscall::IrqAck => signals::irq_ack(k, thread)?,
        Syscall::ProcessWait => return process::wait(k, thread),
        Syscall::ProcessKill => return process::kill(k, thread),
        Syscall::ProcessWatch => process::watch(k, thread)?,
        Syscall::ProcessInfo => process::info_syscall(k, thread)?,
        Syscall::ThreadCreate => process::thread_create(k, thread)?,
        Syscall::ThreadExit => {
            process::thread_exit(k, thread);
            return Ok(());
        }
    };
    k.frame_mut(thread).set_result(Ok(value));
    Ok(())
}

fn endpoint_create<M: Machine>(k: &mut Kernel<M>, thread: usize) -> Result<u64, Error> {
    if !k.process_of(thread).handles.has_room() {
        return Err(Error::TABLEFULL);
    }
    let endpoint = k.ipc.create_endpoint()?;
    let rights = Rights::SEND | Rights::RECEIVE | Rights::TRANSFER;
    let entry = HandleEntry::endpoint_handle(endpoint, rights, 0);
    let handle = k.process_of_mut(thread).handles.insert(entry)?;
    k.ipc.handle_opened(endpoint, rights);
    Ok(handle)
}

fn spawn<M: Machine>(k: &mut Kernel<M>, thread: usize) -> Result<u64, Error> {
    let frame = k.frame(thread);
    let (len, args_len) = (frame.arg(1) as usize, frame.arg(3) as usize);
    let name_slice = UserSlice::new(frame.arg(0), len)?;
    let args_slice = UserSlice::new(frame.arg(2), args_len)?;
    if len == 0 || len > MAX_NAME || args_len > MAX_ARGS {
        return Err(Error::INVAL);
    }
    let mut buffer = [0u8; MAX_NAME];
    vm::read_user(k, thread, name_slice, &mut buffer[..len])?;
    let mut args_buffer = [0u8; MAX_ARGS];
    vm::read_user(k, thread, args_slice, &mut args_buffer[..args_len])?;
    let name = core::str::from_utf8(&buffer[..len]).map_err(|_| Error::INVAL)?;
    let args = core::str::from_utf8(&args_buffer[..args_len]).map_err(|_| Error::INVAL)?;
    let image = k.image.as_ref().ok_or(Error::NOTFOUND)?;
    let target = image.manifest.program(name).ok_or(Error::NOTFOUND)?;
    let caller = &image.manifest.programs[k.process_of(thread).program];
    if !caller.spawns.contains(&target) {
        return Err(Error::DENIED);
    }
    process::spawn_child(k, thread, target, (args_len > 0).then_some(args))
}

/// The resource counters.
pub fn stats<M: Machine>(k: &Kernel<M>) -> Stats {
    let published = k.machine.published();
    // One pass over the process table for everything counted per process.
    let (mut processes, mut handles, mut promised_frames) = (0, 0, 0);
    for p in k.processes.iter().filter(|p| p.is_live()) {
        processes += 1;
        handles += p.handles.len() as u64;
        promised_frames += p.private_pages() - p.resident;
    }
    Stats {
        free_frames: k.frames.free_count() as u64,
        total_frames: k.frames.total_count() as u64,
        processes,
        process_capacity: k.processes.len() as u64,
        threads: k.sched.live_count() as u64,
        thread_capacity: k.threads.len() as u64,
        endpoints: k.ipc.endpoint_count() as u64,
        endpoint_capacity: crate::config::MAX_ENDPOINTS as u64,
        handles,
        ticks: k.now(),
        syscalls: k.counters.syscalls
            + k.counters.shared_syscalls.iter().sum::<u64>()
            + published.quick_syscalls.load(Ordering::Relaxed),
        spawned: k.counters.spawned,
        promised_frames,
    }
}
