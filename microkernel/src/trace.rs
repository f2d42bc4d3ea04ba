//! The syscall trace: with `trace` on the kernel command line, every kernel
//! entry is recorded as `abi::trace::Record`s on the trace channel (QEMU's
//! debug console port), separate from the console. Host tools decode them
//! with the ABI's syscall table.
//!
//! When tracing is off, the syscall path pays one predictable branch on
//! [`enabled`].

use crate::arch;
use crate::state::Kernel;
use crate::umem::UserSlice;
use abi::syscall::{ArgKind, LEN_IN_INFO, Syscall};
use abi::trace::{DATA_BYTES, REGS, Record, RecordKind as Kind};
use abi::{MsgInfo, console};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

static ENABLED: AtomicBool = AtomicBool::new(false);
static SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// Turns tracing on (at boot, from the command line) and writes the trace's
/// header, which names the ABI version: the first record of every trace.
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
    emit(Record::header());
}

/// Whether records are written.
#[inline(always)]
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

fn emit(mut record: Record) {
    record.timestamp = arch::timestamp();
    record.sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    arch::trace_write(&record.to_bytes());
}

fn pid_of(k: &Kernel, thread: usize) -> u32 {
    k.process_of(thread).pid
}

fn registers(thread: usize) -> [u64; 10] {
    let frame = arch::frame(thread);
    REGS.map(|reg| frame.get(reg))
}

/// A syscall starts: its arguments, and the first bytes of the buffer it
/// sends (found through the syscall table's argument kinds).
pub fn enter(k: &mut Kernel, thread: usize, number: u64) {
    let mut record = Record::new(Kind::Enter, pid_of(k, thread));
    record.number = number;
    record.regs = registers(thread);
    emit(record);
    k.threads[thread].traced_syscall = Some(number);
    let Ok(syscall) = Syscall::try_from(number) else { return };
    let frame = arch::frame(thread);
    let desc = syscall.desc();
    for arg in desc.args {
        let (ArgKind::InPtr { len } | ArgKind::InOutPtr { send: len, .. }) = arg.kind else {
            continue;
        };
        let length = if len == LEN_IN_INFO {
            MsgInfo(frame.get(abi::regs::ipc::INFO)).len() as u64
        } else {
            desc.args.iter().find(|a| a.name == len).map_or(0, |a| frame.get(a.reg))
        };
        let Ok(slice) = UserSlice::new(frame.get(arg.reg), length.min(DATA_BYTES as u64) as usize) else {
            continue;
        };
        let mut bytes = [0u8; DATA_BYTES];
        let bytes = &mut bytes[..slice.len()];
        if slice.is_empty() || slice.read_into(k.process_of(thread).space(), bytes).is_err() {
            continue;
        }
        let mut data = Record::new(Kind::Data, pid_of(k, thread));
        data.number = number;
        data.set_data(bytes);
        emit(data);
    }
}

/// `thread` returns to user mode: if a traced syscall of it is pending, its
/// result.
pub fn exit(k: &mut Kernel, thread: usize) {
    let Some(number) = k.threads[thread].traced_syscall.take() else {
        return;
    };
    let mut record = Record::new(Kind::Exit, pid_of(k, thread));
    record.number = number;
    record.regs = registers(thread);
    record.result = arch::frame(thread).get(abi::regs::RESULT);
    record.peer = core::mem::take(&mut k.threads[thread].traced_peer);
    emit(record);
}

/// Records that `thread` exchanged a message with `peer`.
pub fn peer(k: &mut Kernel, thread: usize, peer: usize) {
    k.threads[thread].traced_peer = pid_of(k, peer);
}

/// A process started.
pub fn start(pid: u32, name: &str) {
    let mut record = Record::new(Kind::Start, pid);
    let [name0, name1] = console::pack_name(name);
    record.regs[0] = name0;
    record.regs[1] = name1;
    emit(record);
}

/// A process faulted.
pub fn fault(k: &Kernel, thread: usize, vector: u8, error_code: u64, address: u64) {
    let mut record = Record::new(Kind::Fault, pid_of(k, thread));
    record.number = vector as u64;
    record.regs[0] = error_code;
    record.regs[1] = arch::frame(thread).rip;
    record.regs[2] = address;
    emit(record);
}

/// A process ended: `label` says how (the notice's label: EXIT, FAULT or
/// LIMIT), `status` is the exit status (0 otherwise).
pub fn end(k: &Kernel, thread: usize, label: u32, status: u64) {
    let mut record = Record::new(Kind::End, pid_of(k, thread));
    record.number = label as u64;
    record.result = status;
    emit(record);
}

/// The CPU switches from `previous` (if any) to `next`.
pub fn switch(k: &Kernel, previous: Option<usize>, next: usize) {
    let mut record = Record::new(Kind::Switch, pid_of(k, next));
    record.peer = previous
        .filter(|&p| k.processes[k.threads[p].process].is_live())
        .map_or(0, |p| pid_of(k, p));
    emit(record);
}
