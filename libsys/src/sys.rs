//! Safe wrappers for the syscalls that are not IPC.

use crate::process::Child;
use crate::raw;
use crate::{Result, decode};
use abi::memory::Perms;
use abi::process::{Ending, Info};
use abi::stats::Stats;
use abi::{Handle, Rights, Syscall};

const fn nr(syscall: Syscall) -> u64 {
    syscall as u64
}

/// The kernel's ABI version (`major << 16 | minor`).
pub fn abi_version() -> u32 {
    // SAFETY: takes no arguments.
    unsafe { raw::syscall0(nr(Syscall::AbiVersion)) as u32 }
}

/// Writes `bytes` to the console (fd 1: output, 2: errors). Returns how many
/// were written (at most 4096 per call).
pub fn write(fd: u64, bytes: &[u8]) -> Result<usize> {
    // SAFETY: the kernel only reads `bytes`, which is valid for its length.
    decode(unsafe { raw::syscall3(nr(Syscall::Write), fd, bytes.as_ptr() as u64, bytes.len() as u64) })
        .map(|n| n as usize)
}

/// Writes all of `bytes`, looping over partial writes.
pub fn write_all(fd: u64, mut bytes: &[u8]) -> Result<()> {
    while !bytes.is_empty() {
        let written = write(fd, bytes)?;
        bytes = &bytes[written.min(bytes.len())..];
        if written == 0 {
            break;
        }
    }
    Ok(())
}

/// Ends the process with `status`.
pub fn exit(status: i32) -> ! {
    // SAFETY: exit takes an integer and does not return.
    unsafe { raw::syscall1(nr(Syscall::Exit), status as i64 as u64) };
    unreachable!("exit returned")
}

/// Timer ticks since boot.
pub fn get_ticks() -> u64 {
    // SAFETY: takes no arguments.
    unsafe { raw::syscall0(nr(Syscall::GetTicks)) }
}

/// Lets other threads of the same priority run.
pub fn yield_now() {
    // SAFETY: takes no arguments.
    unsafe { raw::syscall0(nr(Syscall::Yield)) };
}

/// This process's id.
pub fn get_pid() -> u32 {
    // SAFETY: takes no arguments.
    unsafe { raw::syscall0(nr(Syscall::GetPid)) as u32 }
}

/// Starts the boot-image program `name` (the manifest must allow it) with
/// the arguments its manifest entry gives, and returns the child: its pid
/// and a process handle, which closes when the [`Child`] is dropped (the
/// child runs on).
pub fn spawn(name: &str) -> Result<Child> {
    spawn_with_args(name, "")
}

/// [`spawn`] with the argument string `args` (`libsys::args()` in the
/// child; empty: the manifest's).
pub fn spawn_with_args(name: &str, args: &str) -> Result<Child> {
    // SAFETY: the kernel only reads `name` and `args`.
    let (rax, pid) = unsafe {
        raw::syscall4_2(
            nr(Syscall::Spawn),
            name.as_ptr() as u64,
            name.len() as u64,
            args.as_ptr() as u64,
            args.len() as u64,
        )
    };
    let handle = decode(rax)?;
    Ok(Child::from_raw(handle, pid as u32))
}

/// The kernel's resource counters.
pub fn stats() -> Result<Stats> {
    let mut stats = Stats::default();
    let pointer = &raw mut stats as u64;
    // SAFETY: `stats` is a live `repr(C)` struct of all-u64 fields, valid for
    // `Stats::SIZE` bytes of writes.
    decode(unsafe { raw::syscall2(nr(Syscall::Stats), pointer, Stats::SIZE as u64) })?;
    Ok(stats)
}

/// Creates an endpoint; the handle has all rights and badge 0.
pub fn endpoint_create() -> Result<Handle> {
    // SAFETY: takes no arguments.
    decode(unsafe { raw::syscall0(nr(Syscall::EndpointCreate)) })
}

/// A new handle to the same endpoint with `rights` and `badge`.
pub fn handle_dup(handle: Handle, rights: Rights, badge: u64) -> Result<Handle> {
    // SAFETY: integers only.
    decode(unsafe { raw::syscall3(nr(Syscall::HandleDup), handle, rights.bits(), badge) })
}

/// Closes a handle.
pub fn handle_close(handle: Handle) -> Result<()> {
    // SAFETY: integers only.
    decode(unsafe { raw::syscall1(nr(Syscall::HandleClose), handle) }).map(drop)
}

/// Maps `len` bytes (a multiple of 4096) of zeroed private memory with
/// `perms` at `addr` (0: wherever there is room) and returns its address.
/// The pages count against the memory limit at once and are made when
/// first touched.
pub fn mem_map(addr: u64, len: usize, perms: Perms) -> Result<u64> {
    // SAFETY: integers only; the kernel refuses ranges that overlap any
    // mapping, so nothing this program uses changes under it.
    decode(unsafe { raw::syscall3(nr(Syscall::MemMap), addr, len as u64, perms.bits()) })
}

/// Removes every mapping in `[addr, addr + len)`.
///
/// # Safety
/// Nothing in the range may be in use: no reference may point into it,
/// and it must not hold this program's stack, code or data it still needs.
pub unsafe fn mem_unmap(addr: u64, len: usize) -> Result<()> {
    // SAFETY: integers only; the caller vouches that the range is unused.
    decode(unsafe { raw::syscall2(nr(Syscall::MemUnmap), addr, len as u64) }).map(drop)
}

/// Gives every page of `[addr, addr + len)` the permissions `perms`.
///
/// # Safety
/// Nothing in the range may be accessed in a way `perms` no longer allows
/// (no `&mut` into pages made read-only, no code run from pages made
/// non-executable).
pub unsafe fn mem_protect(addr: u64, len: usize, perms: Perms) -> Result<()> {
    // SAFETY: integers only; the caller vouches for the accesses.
    decode(unsafe { raw::syscall3(nr(Syscall::MemProtect), addr, len as u64, perms.bits()) }).map(drop)
}

/// Creates a memory object of `len` bytes (a multiple of 4096) and returns
/// a handle to it (MAP_READ, MAP_WRITE and TRANSFER).
pub fn mem_create(len: usize) -> Result<Handle> {
    // SAFETY: integers only.
    decode(unsafe { raw::syscall1(nr(Syscall::MemCreate), len as u64) })
}

/// Maps the whole memory object `handle` with `perms` at `addr` (0:
/// wherever there is room) and returns its address.
pub fn mem_map_object(handle: Handle, addr: u64, perms: Perms) -> Result<u64> {
    // SAFETY: integers only; as for `mem_map`.
    decode(unsafe { raw::syscall3(nr(Syscall::MemMapObject), handle, addr, perms.bits()) })
}

/// Creates a notification (all bits clear); the handle has SIGNAL, WAIT and
/// TRANSFER.
pub fn notify_create() -> Result<Handle> {
    // SAFETY: takes no arguments.
    decode(unsafe { raw::syscall0(nr(Syscall::NotifyCreate)) })
}

/// ORs `bits` (and the handle's badge) into the notification `handle`.
pub fn notify(handle: Handle, bits: u64) -> Result<()> {
    // SAFETY: integers only.
    decode(unsafe { raw::syscall2(nr(Syscall::Notify), handle, bits) }).map(drop)
}

/// Takes the bits of the notification `handle`, waiting while they are
/// clear: at most `timeout` ticks (0: no limit; `abi::notify::NONBLOCK` in
/// `flags`: not at all). ETIMEDOUT when none came.
pub fn notify_wait(handle: Handle, timeout: u64, flags: u64) -> Result<u64> {
    // SAFETY: integers only.
    let (rax, bits) = unsafe { raw::syscall3_2(nr(Syscall::NotifyWait), handle, timeout, flags) };
    decode(rax).map(|_| bits)
}

/// Binds the notification `handle` to `endpoint`: receiving there also
/// returns its bits, as a message with `abi::notify::NOTIFICATION_LABEL`.
pub fn notify_bind(handle: Handle, endpoint: Handle) -> Result<()> {
    // SAFETY: integers only.
    decode(unsafe { raw::syscall2(nr(Syscall::NotifyBind), handle, endpoint) }).map(drop)
}

/// Routes the interrupt line `irq` to `notification`, signalling `bits`,
/// and unmasks it.
pub fn irq_bind(irq: Handle, notification: Handle, bits: u64) -> Result<()> {
    // SAFETY: integers only.
    decode(unsafe { raw::syscall3(nr(Syscall::IrqBind), irq, notification, bits) }).map(drop)
}

/// Unmasks the line `irq` after its interrupt was handled.
pub fn irq_ack(irq: Handle) -> Result<()> {
    // SAFETY: integers only.
    decode(unsafe { raw::syscall1(nr(Syscall::IrqAck), irq) }).map(drop)
}

/// Waits until the process `handle` names has ended (at most `timeout`
/// ticks, 0: no limit; `abi::notify::NONBLOCK`: not at all) and returns how,
/// with the detail (`abi::process::Ending`).
pub fn process_wait(handle: Handle, timeout: u64, flags: u64) -> Result<(Ending, u64)> {
    // SAFETY: integers only.
    let (rax, detail) = unsafe { raw::syscall3_2(nr(Syscall::ProcessWait), handle, timeout, flags) };
    let code = decode(rax)?;
    Ok((Ending::from_code(code).ok_or(abi::Error::INVAL)?, detail))
}

/// Ends the process `handle` names.
pub fn process_kill(handle: Handle) -> Result<()> {
    // SAFETY: integers only.
    decode(unsafe { raw::syscall1(nr(Syscall::ProcessKill), handle) }).map(drop)
}

/// Signals `bits` on `notification` when the process `handle` names ends.
pub fn process_watch(handle: Handle, notification: Handle, bits: u64) -> Result<()> {
    // SAFETY: integers only.
    decode(unsafe { raw::syscall3(nr(Syscall::ProcessWatch), handle, notification, bits) }).map(drop)
}

/// Fills `out` with a record per live process, in pid order (as many as
/// fit), and returns how many processes live.
pub fn process_info(out: &mut [Info]) -> Result<usize> {
    const BATCH: usize = 16;
    let mut bytes = [0u8; BATCH * Info::SIZE];
    let room = out.len().min(BATCH);
    // SAFETY: the kernel writes at most `room * Info::SIZE` bytes into
    // `bytes`, which is that long at least.
    let count = decode(unsafe {
        raw::syscall2(
            nr(Syscall::ProcessInfo),
            bytes.as_mut_ptr() as u64,
            (room * Info::SIZE) as u64,
        )
    })? as usize;
    for (slot, chunk) in out.iter_mut().zip(bytes.chunks(Info::SIZE)).take(count.min(room)) {
        *slot = Info::from_bytes(chunk).ok_or(abi::Error::INVAL)?;
    }
    Ok(count)
}
