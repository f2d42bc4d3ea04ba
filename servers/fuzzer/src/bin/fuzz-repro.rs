//! fuzz-repro: minimal reproducers of the kernel bugs the fuzzer found
//! (docs/reliability.md, "Kernel bugs found"). It runs in the fuzz image in
//! the fuzzer's place, with the same handles (`fuzzer::handles`), and
//! `case=NAME` picks the reproducer. It reports what happened through the
//! printer (`repro.NAME=RESULT`, then `check.NAME=pass` when the kernel
//! kept the ABI) and exits with 0 when it did, 1 when the bug showed. The
//! `regression_*` tests in tests/tests/fuzz.rs boot it.

#![no_std]
#![no_main]

use core::fmt::Write;
use fuzzer::{Line, PRINT, handles};
use libsys::abi::Syscall;
use libsys::abi::message::{MAX_BUFFER, MsgFlags};
use libsys::abi::syscall::SYSCALLS;
use libsys::ipc::{self, Msg};
use libsys::raw::{self, IpcRegs};
use libsys::{Error, MsgInfo};

libsys::entry!(main);

/// Reports `key=value` through the printer.
fn report(key: impl core::fmt::Display, value: impl core::fmt::Display) {
    let mut line = Line::new();
    let _ = writeln!(line, "{key}={value}");
    let _ = ipc::send(handles::PRINTER, &Msg::new(PRINT), line.as_bytes());
}

/// A raw IPC syscall with `handle`, `info`, no buffer, and `word0`.
fn raw_ipc(syscall: Syscall, handle: u64, info: MsgInfo, word0: u64) -> Result<u64, Error> {
    let mut regs = IpcRegs {
        handle,
        info: info.0,
        buffer: 0,
        capacity: 0,
        words: [word0, 0, 0, 0, 0, 0],
    };
    // SAFETY: no buffer (address 0, capacity 0): the kernel reads and
    // writes no memory of this program; the rest are integers.
    libsys::decode(unsafe { raw::ipc(syscall as u64, &mut regs) })
}

/// Whether `result` is one the ABI table allows for `syscall`.
fn allowed(syscall: Syscall, result: Result<u64, Error>) -> bool {
    match result {
        Ok(_) => true,
        Err(error) => SYSCALLS[syscall as usize].errors.contains(&error),
    }
}

/// A call with a timeout (not register-only: the slow path) that the
/// mirror answers with a register-only `reply_recv` (the fast path). The
/// program then exits: the kernel must halt once only servers are left.
/// With the bug, the woken caller keeps its deadline and the kernel idles
/// forever (the test's timeout ends the boot).
fn stale_deadline() -> bool {
    let result = ipc::call_words(handles::MIRROR, &Msg::new(2).with_timeout(50));
    // Exiting now: the kernel must halt.
    report(
        "repro.stale-deadline",
        format_args!("{:?}", result.map(|reply| reply.label)),
    );
    true
}

/// `recv` uses only the NONBLOCK flag and the timeout of its MsgInfo, so a
/// KERNEL flag must not matter: with NONBLOCK and nothing queued the
/// answer is ETIMEDOUT. With the bug it is EINVAL.
fn recv_checks_msginfo() -> bool {
    let Ok(endpoint) = libsys::endpoint_create() else {
        return false;
    };
    let info = MsgInfo::new(0, 0, 0).with_flags(MsgFlags::KERNEL | MsgFlags::NONBLOCK);
    let result = raw_ipc(Syscall::Recv, endpoint, info, 0);
    let _ = libsys::handle_close(endpoint);
    // The ABI: ETIMEDOUT.
    report("repro.recv-checks-msginfo", format_args!("{result:?}"));
    result == Err(Error::TIMEDOUT)
}

/// `reply` passing a handle that is not open: its table entry does not
/// list EBADHANDLE.
fn reply_handle() -> bool {
    let info = MsgInfo::new(0, 1, 0).with_flags(MsgFlags::HANDLE);
    let result = raw_ipc(Syscall::Reply, 0, info, 0x1f00);
    // The ABI allows only NOREPLY, PEERGONE, INVAL, TOOLONG, FAULT,
    // TABLEFULL.
    report("repro.reply-handle-errors", format_args!("{result:?}"));
    allowed(Syscall::Reply, result)
}

/// A write the console (the sink, handle 0) answers with -ENOMEM: `write`
/// passes the code on, though its table entry does not list it.
fn write_console_error() -> bool {
    let bytes = [b'x'; MAX_BUFFER];
    let result = libsys::write(1, &bytes[..fuzzer::SINK_ERROR_LEN]).map(|n| n as u64);
    // The ABI allows a count or FAULT, BADHANDLE, NORIGHTS, PEERGONE,
    // INVAL.
    report("repro.write-passes-console-errors", format_args!("{result:?}"));
    allowed(Syscall::Write, result)
}

fn main() -> i32 {
    let case = libsys::arg("case").unwrap_or("");
    let kept = match case {
        "stale-deadline" => stale_deadline(),
        "recv-checks-msginfo" => recv_checks_msginfo(),
        "reply-handle-errors" => reply_handle(),
        "write-passes-console-errors" => write_console_error(),
        other => {
            report("repro", format_args!("no case `{other}`"));
            return 2;
        }
    };
    report(
        format_args!("{}{case}", abi::results::CHECK),
        abi::results::verdict(kept),
    );
    if kept { 0 } else { 1 }
}
