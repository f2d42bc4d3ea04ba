//! The syscall trace: with `trace` on the kernel command line, every kernel
//! entry is recorded as `abi::trace::Record`s on the trace channel (QEMU's
//! debug console port), separate from the console. Host tools decode them
//! with the ABI's syscall table.
//!
//! When tracing is off, every path pays one predictable branch on
//! [`Kernel::tracing`]. Records are numbered in the order they are written.

use crate::ipc::message::Outgoing;
use crate::kernel::Kernel;
use crate::machine::Machine;
use crate::umem::UserSlice;
use abi::syscall::{ArgKind, LEN_IN_INFO, Syscall};
use abi::trace::{DATA_BYTES, REGS, Record, RecordKind as Kind};
use abi::{MsgInfo, console};
use core::sync::atomic::{AtomicU64, Ordering};

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// Turns tracing on (at boot, from the command line) and writes the trace's
/// header, which names the ABI version: the first record of every trace.
pub fn enable<M: Machine>(k: &mut Kernel<M>) {
    k.machine.published().tracing.store(true, Ordering::Relaxed);
    emit(k, Record::header());
}

fn emit<M: Machine>(k: &mut Kernel<M>, mut record: Record) {
    record.timestamp = k.machine.timestamp();
    record.sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    k.machine.trace_write(&record.to_bytes());
}

fn pid_of<M: Machine>(k: &Kernel<M>, thread: usize) -> u32 {
    k.process_of(thread).pid
}

fn registers<M: Machine>(k: &Kernel<M>, thread: usize) -> [u64; 10] {
    let frame = k.frame(thread);
    REGS.map(|reg| frame.get(reg))
}

/// A syscall starts: its arguments, and the first bytes of the buffer it
/// sends (found through the syscall table's argument kinds).
pub fn enter<M: Machine>(k: &mut Kernel<M>, thread: usize, number: u64) {
    let mut record = Record::new(Kind::Enter, pid_of(k, thread));
    record.number = number;
    record.regs = registers(k, thread);
    emit(k, record);
    k.thread_mut(thread).traced_syscall = Some(number);
    let Ok(syscall) = Syscall::try_from(number) else { return };
    let frame = *k.frame(thread);
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
        if slice.is_empty() || crate::vm::read_user(k, thread, slice, bytes).is_err() {
            continue;
        }
        let mut data = Record::new(Kind::Data, pid_of(k, thread));
        data.number = number;
        data.set_data(bytes);
        emit(k, data);
    }
}

/// `thread` returns to user mode: if a traced syscall of it is pending, its
/// result.
pub fn exit<M: Machine>(k: &mut Kernel<M>, thread: usize) {
    let Some(number) = k.thread_mut(thread).traced_syscall.take() else {
        return;
    };
    let mut record = Record::new(Kind::Exit, pid_of(k, thread));
    record.number = number;
    record.regs = registers(k, thread);
    record.result = k.frame(thread).get(abi::regs::RESULT);
    record.peer = core::mem::take(&mut k.thread_mut(thread).traced_peer);
    emit(k, record);
}

/// Records that `thread` exchanged a message with `peer`.
pub fn peer<M: Machine>(k: &mut Kernel<M>, thread: usize, peer: usize) {
    k.thread_mut(thread).traced_peer = pid_of(k, peer);
}

/// A process started.
pub fn start<M: Machine>(k: &mut Kernel<M>, pid: u32, name: &str) {
    let mut record = Record::new(Kind::Start, pid);
    let [name0, name1] = console::pack_name(name);
    record.regs[0] = name0;
    record.regs[1] = name1;
    emit(k, record);
}

/// A process faulted.
pub fn fault<M: Machine>(k: &mut Kernel<M>, thread: usize, vector: u8, error_code: u64, address: u64) {
    let mut record = Record::new(Kind::Fault, pid_of(k, thread));
    record.number = vector as u64;
    record.regs[0] = error_code;
    record.regs[1] = k.frame(thread).rip;
    record.regs[2] = address;
    emit(k, record);
}

/// A process ended; `notice` says how (the notice's label: EXIT, FAULT or
/// LIMIT, and for EXIT the status).
pub fn end<M: Machine>(k: &mut Kernel<M>, thread: usize, notice: &Outgoing) {
    let mut record = Record::new(Kind::End, pid_of(k, thread));
    if let Outgoing::Notice { label, words } = *notice {
        record.number = label as u64;
        record.result = if label == console::EXIT { words[1] } else { 0 };
    }
    emit(k, record);
}

/// The CPU switches from `previous` (if any) to `next`.
pub fn switch<M: Machine>(k: &mut Kernel<M>, previous: Option<usize>, next: usize) {
    let mut record = Record::new(Kind::Switch, pid_of(k, next));
    record.peer = previous
        .filter(|&p| k.process_of(p).is_live())
        .map_or(0, |p| pid_of(k, p));
    emit(k, record);
}
