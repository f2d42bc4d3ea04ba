//! msg-faults: IPC with messages and buffers the kernel must refuse: a
//! length over 4096 (ETOOLONG), the KERNEL flag (EINVAL), a buffer in kernel
//! space (EFAULT), reply and receive buffers in read-only memory (EFAULT), a reply
//! with no caller (ENOREPLY). Then calls that must work: 64 bytes to the
//! mirror server (handle 1) with room for 64, and a call to the long-reply server
//! (handle 2), whose 128-byte reply does not fit and which then replies with
//! 32 bytes. Reports each result as `NAME=RESULT`, the checks
//! `check.read_only_unchanged` and `check.mirror_intact`, and `wrong=N`.
//! Exit status 0 if every answer was right.

#![no_std]
#![no_main]

use libsys::abi::Syscall;
use libsys::abi::message::MsgFlags;
use libsys::ipc::{self, Msg};
use libsys::raw::{self, IpcRegs};
use libsys::results::{check, report};
use libsys::{Error, MsgInfo};
use testprogs::{Outcome, result_name};
use testspec::KERNEL_DIRECT_MAP;

libsys::entry!(main);

/// Handle 1: SEND to mirror. Handle 2: SEND to the long-reply server.
const MIRROR: libsys::Handle = 1;
const LONG_REPLY: libsys::Handle = 2;

/// Read-only: it lives in `.rodata`, which is mapped without write access.
static READ_ONLY: [u8; 64] = [0x5a; 64];

/// A raw IPC syscall with `info`, `buffer` and `capacity` as given.
///
/// # Safety
/// Deliberately unchecked: the kernel must refuse the bad arguments before
/// touching `buffer`; callers only pass buffers the kernel may read, or
/// addresses it must refuse.
unsafe fn raw_ipc(syscall: Syscall, handle: u64, info: MsgInfo, buffer: u64, capacity: u64) -> Outcome {
    let mut regs = IpcRegs {
        handle,
        info: info.0,
        buffer,
        capacity,
        words: [0; 6],
    };
    // SAFETY: forwarded to the caller.
    Outcome(unsafe { raw::ipc(syscall as u64, &mut regs) })
}

/// Reports `name=OUTCOME`; counts it as wrong unless it is `expected`.
fn expect(name: &str, outcome: Outcome, expected: Error, wrong: &mut i32) {
    report(name, outcome);
    if outcome.error() != Some(expected) {
        *wrong += 1;
    }
}

fn main() -> i32 {
    let mut wrong = 0;
    let buffer = [0u8; 64];

    // SAFETY: the length 4097 is refused before the kernel reads anything.
    let outcome = unsafe {
        raw_ipc(
            Syscall::Send,
            MIRROR,
            MsgInfo::new(1, 0, 4097),
            buffer.as_ptr() as u64,
            0,
        )
    };
    expect("send_len_4097", outcome, Error::TOOLONG, &mut wrong);

    let kernel_flag = MsgInfo::new(1, 0, 0).with_flags(MsgFlags::KERNEL);
    // SAFETY: no buffer; the flag is refused.
    let outcome = unsafe { raw_ipc(Syscall::Send, MIRROR, kernel_flag, 0, 0) };
    expect("send_kernel_flag", outcome, Error::INVAL, &mut wrong);

    // SAFETY: a kernel address must be refused, never read or written.
    let outcome = unsafe { raw_ipc(Syscall::Call, MIRROR, MsgInfo::new(1, 0, 16), KERNEL_DIRECT_MAP, 16) };
    expect("call_kernel_buffer", outcome, Error::FAULT, &mut wrong);

    let read_only = READ_ONLY.as_ptr() as u64;
    // SAFETY: nothing is sent; the read-only reply buffer must be refused
    // before the call goes out.
    let outcome = unsafe { raw_ipc(Syscall::Call, MIRROR, MsgInfo::new(1, 0, 0), read_only, 64) };
    expect("call_read_only_reply_buffer", outcome, Error::FAULT, &mut wrong);

    match libsys::endpoint_create() {
        Ok(endpoint) => {
            // SAFETY: deliberately names read-only memory as a receive
            // buffer: the kernel must refuse it before waiting.
            let outcome = unsafe { raw_ipc(Syscall::Recv, endpoint, MsgInfo(0), read_only, 64) };
            expect("recv_read_only", outcome, Error::FAULT, &mut wrong);
            if !check("read_only_unchanged", READ_ONLY.iter().all(|&b| b == 0x5a)) {
                wrong += 1;
            }
            let _ = libsys::handle_close(endpoint);
        }
        Err(error) => {
            report("endpoint_create", error.name());
            wrong += 1;
        }
    }

    let reply = ipc::reply(&Msg::new(1), &[]);
    report("reply_no_caller", result_name(&reply));
    if reply.err() != Some(Error::NOREPLY) {
        wrong += 1;
    }

    let mut data = [0u8; 64];
    for (i, byte) in data.iter_mut().enumerate() {
        *byte = i as u8;
    }
    // 64 bytes out, room for 64 back.
    let mirrored = ipc::call(MIRROR, &Msg::new(3), &mut data, 64);
    report("call_mirror", result_name(&mirrored));
    if let Ok(reply) = &mirrored {
        report("call_mirror.bytes", reply.data.len());
    }
    let intact =
        mirrored.is_ok_and(|reply| reply.data.len() == 64 && reply.data.iter().enumerate().all(|(i, &b)| b == i as u8));
    if !check("mirror_intact", intact) {
        wrong += 1;
    }

    let mut small = [0u8; 64];
    small[..8].copy_from_slice(b"question");
    // The server's 128-byte reply does not fit in room for 64: the call
    // ends with ETOOLONG, never with an empty success.
    let long = ipc::call(LONG_REPLY, &Msg::new(4), &mut small, 8);
    report("call_long_reply", result_name(&long));
    if let Ok(reply) = &long {
        report("call_long_reply.bytes", reply.data.len());
    }
    if long.err() != Some(Error::TOOLONG) {
        wrong += 1;
    }
    report("wrong", wrong);
    wrong
}
