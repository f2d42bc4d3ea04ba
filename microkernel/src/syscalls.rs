//! The syscall dispatcher: one `match` on the ABI's syscall number.
//!
//! Each handler checks all of its arguments before it changes anything and
//! returns `Err` for a documented error, which becomes `-code` in RAX.
//! Handlers that block set the result later, when the thread is woken.

use crate::arch;
use crate::messages;
use crate::process;
use crate::state::Kernel;
use crate::trace;
use crate::umem::UserSlice;
use abi::manifest::MAX_NAME;
use abi::stats::Stats;
use abi::{Error, Rights, Syscall};
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// The ABI version `abi_version` reports: `abi::ABI_VERSION`, unless the
/// command line's `abi_version=MAJOR.MINOR` says otherwise (a test hook, to
/// show how programs meet a kernel of another version).
pub static REPORTED_ABI: AtomicU32 = AtomicU32::new(abi::ABI_VERSION);

/// Syscalls served since boot (including the fast path's).
pub static SERVED: AtomicU64 = AtomicU64::new(0);
/// Timer ticks since boot, readable without the kernel state.
pub static TICKS: AtomicU64 = AtomicU64::new(0);

/// The fast path: answers the syscalls that read no kernel state, without
/// entering it and without the whole frame saved (the stub has stored only
/// what this call may clobber). `None` sends the syscall to [`dispatch`],
/// which serves every syscall, these included: with tracing on, all go there.
#[inline(always)]
pub fn fast(number: u64) -> Option<u64> {
    if trace::enabled() {
        return None;
    }
    let value = match Syscall::try_from(number) {
        Ok(Syscall::AbiVersion) => REPORTED_ABI.load(Ordering::Relaxed) as u64,
        Ok(Syscall::GetTicks) => TICKS.load(Ordering::Relaxed),
        _ => return None,
    };
    SERVED.fetch_add(1, Ordering::Relaxed);
    Some(value)
}

/// Serves the syscall in `thread`'s saved registers.
pub fn dispatch(k: &mut Kernel, thread: usize) {
    SERVED.fetch_add(1, Ordering::Relaxed);
    let number = arch::frame(thread).syscall_number();
    if trace::enabled() {
        trace::enter(k, thread, number);
    }
    let result = match Syscall::try_from(number) {
        Err(error) => Err(error),
        Ok(syscall) => serve(k, thread, syscall),
    };
    if let Err(error) = result {
        crate::debug!("{} {}: {}", process::describe(k, thread), syscall_name(number), error);
        arch::frame(thread).set_result(Err(error));
    }
    if k.options.probe && !k.probe_reported {
        k.probe_reported = true;
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
fn serve(k: &mut Kernel, thread: usize, syscall: Syscall) -> Result<(), Error> {
    let frame = arch::frame(thread);
    let value = match syscall {
        Syscall::AbiVersion => REPORTED_ABI.load(Ordering::Relaxed) as u64,
        Syscall::Write => return messages::write(k, thread),
        Syscall::Exit => {
            let words = process::exit_notice(k, thread, frame.arg(0));
            process::terminate(k, thread, abi::console::EXIT, words);
            return Ok(());
        }
        Syscall::GetTicks => k.ticks,
        Syscall::Yield => {
            k.yield_requested = true;
            0
        }
        Syscall::Send => return messages::send(k, thread, false),
        Syscall::Call => return messages::send(k, thread, true),
        Syscall::Recv => return messages::recv(k, thread),
        Syscall::Reply => return messages::reply(k, thread),
        Syscall::ReplyRecv => return messages::reply_recv(k, thread),
        Syscall::EndpointCreate => endpoint_create(k, thread)?,
        Syscall::HandleDup => {
            let process = k.process_of_mut(thread);
            let new = process.handles.duplicate(frame.arg(0), frame.arg(1), frame.arg(2))?;
            let entry = process.handles.get(new)?;
            k.ipc.handle_opened(entry.endpoint, entry.rights);
            new
        }
        Syscall::HandleClose => {
            let entry = k.process_of_mut(thread).handles.remove(frame.arg(0))?;
            for waiter in k.ipc.handle_closed(entry.endpoint, entry.rights) {
                process::fail(k, waiter, Error::PEERGONE);
            }
            0
        }
        Syscall::Spawn => spawn(k, thread)?,
        Syscall::Stats => {
            let out = UserSlice::new(frame.arg(0), frame.arg(1) as usize)?;
            if out.len() < Stats::SIZE {
                return Err(Error::INVAL);
            }
            let stats = stats(k);
            // SAFETY: `Stats` is `repr(C)` and all `u64`, so its bytes are
            // fully initialised and any byte pattern is valid.
            let bytes = unsafe { core::slice::from_raw_parts(&raw const stats as *const u8, Stats::SIZE) };
            out.write_from(k.process_of(thread).space(), bytes)?;
            0
        }
        Syscall::GetPid => k.process_of(thread).pid as u64,
    };
    frame.set_result(Ok(value));
    Ok(())
}

fn endpoint_create(k: &mut Kernel, thread: usize) -> Result<u64, Error> {
    if !k.process_of(thread).handles.has_room() {
        return Err(Error::TABLEFULL);
    }
    let endpoint = k.ipc.create_endpoint()?;
    let rights = Rights::SEND | Rights::RECEIVE | Rights::TRANSFER;
    let entry = crate::handles::HandleEntry {
        endpoint,
        rights,
        badge: 0,
    };
    let handle = k.process_of_mut(thread).handles.insert(entry)?;
    k.ipc.handle_opened(endpoint, rights);
    Ok(handle)
}

fn spawn(k: &mut Kernel, thread: usize) -> Result<u64, Error> {
    let frame = arch::frame(thread);
    let len = frame.arg(1) as usize;
    let name_slice = UserSlice::new(frame.arg(0), len)?;
    if len == 0 || len > MAX_NAME {
        return Err(Error::INVAL);
    }
    let mut buffer = [0u8; MAX_NAME];
    name_slice.read_into(k.process_of(thread).space(), &mut buffer[..len])?;
    let name = core::str::from_utf8(&buffer[..len]).map_err(|_| Error::INVAL)?;
    let image = k.image.as_ref().ok_or(Error::NOTFOUND)?;
    let target = image.manifest.program(name).ok_or(Error::NOTFOUND)?;
    let caller = &image.manifest.programs[k.process_of(thread).program];
    if !caller.spawns.contains(&target) {
        return Err(Error::DENIED);
    }
    process::spawn(k, target).map(u64::from)
}

/// The resource counters.
pub fn stats(k: &Kernel) -> Stats {
    Stats {
        free_frames: k.frames.free_count() as u64,
        total_frames: k.frames.total_count() as u64,
        processes: k.processes.iter().filter(|p| p.is_live()).count() as u64,
        process_capacity: k.processes.len() as u64,
        threads: k
            .threads
            .iter()
            .filter(|t| t.state != crate::state::RunState::Free)
            .count() as u64,
        thread_capacity: k.threads.len() as u64,
        endpoints: k.ipc.endpoint_count() as u64,
        endpoint_capacity: crate::config::MAX_ENDPOINTS as u64,
        handles: k
            .processes
            .iter()
            .filter(|p| p.is_live())
            .map(|p| p.handles.len() as u64)
            .sum(),
        ticks: k.ticks,
        syscalls: SERVED.load(Ordering::Relaxed),
        spawned: k.counters.spawned,
    }
}
