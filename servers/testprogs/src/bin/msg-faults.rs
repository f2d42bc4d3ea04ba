//! msg-faults: IPC with messages and buffers the kernel must refuse: a
//! length over 4096 (ETOOLONG), the KERNEL flag (EINVAL), a buffer in kernel
//! space (EFAULT), reply and receive buffers in read-only memory (EFAULT), a reply
//! with no caller (ENOREPLY). Then calls that must work: 64 bytes to the
//! mirror server (handle 1) with room for 64, and a call to the long-reply server
//! (handle 2), whose 128-byte reply does not fit and which then replies with
//! 32 bytes. Exit status 0 if every answer was right.

#![no_std]
#![no_main]

use libsys::abi::Syscall;
use libsys::abi::message::MsgFlags;
use libsys::ipc::{self, Msg};
use libsys::raw::{self, IpcRegs};
use libsys::{Error, MsgInfo};
use testprogs::{Outcome, result_name};

libsys::entry!(main);

/// Handle 1: SEND to mirror. Handle 2: SEND to the long-reply server.
const MIRROR: libsys::Handle = 1;
const LONG_REPLY: libsys::Handle = 2;
const KERNEL_ADDRESS: u64 = 0xffff_8000_0000_0000;

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

fn check(what: &str, outcome: Outcome, expected: Error, wrong: &mut i32) {
    libsys::println!("{what}: {outcome}");
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
    check("send with info.len 4097", outcome, Error::TOOLONG, &mut wrong);

    let kernel_flag = MsgInfo::new(1, 0, 0).with_flags(MsgFlags::KERNEL);
    // SAFETY: no buffer; the flag is refused.
    let outcome = unsafe { raw_ipc(Syscall::Send, MIRROR, kernel_flag, 0, 0) };
    check("send with the KERNEL flag", outcome, Error::INVAL, &mut wrong);

    // SAFETY: a kernel address must be refused, never read or written.
    let outcome = unsafe { raw_ipc(Syscall::Call, MIRROR, MsgInfo::new(1, 0, 16), KERNEL_ADDRESS, 16) };
    check("call with a kernel buffer", outcome, Error::FAULT, &mut wrong);

    let read_only = READ_ONLY.as_ptr() as u64;
    // SAFETY: nothing is sent; the read-only reply buffer must be refused
    // before the call goes out.
    let outcome = unsafe { raw_ipc(Syscall::Call, MIRROR, MsgInfo::new(1, 0, 0), read_only, 64) };
    check("call with a read-only reply buffer", outcome, Error::FAULT, &mut wrong);

    match libsys::endpoint_create() {
        Ok(endpoint) => {
            // SAFETY: deliberately names read-only memory as a receive
            // buffer: the kernel must refuse it before waiting.
            let outcome = unsafe { raw_ipc(Syscall::Recv, endpoint, MsgInfo(0), read_only, 64) };
            check("recv into read-only memory", outcome, Error::FAULT, &mut wrong);
            if READ_ONLY.iter().any(|&b| b != 0x5a) {
                libsys::println!("the read-only buffer changed");
                wrong += 1;
            }
            let _ = libsys::handle_close(endpoint);
        }
        Err(error) => {
            libsys::println!("endpoint_create: {}", error.name());
            wrong += 1;
        }
    }

    let reply = ipc::reply(&Msg::new(1), &[]);
    libsys::println!("reply with no caller: {}", result_name(&reply));
    if reply.err() != Some(Error::NOREPLY) {
        wrong += 1;
    }

    let mut data = [0u8; 64];
    for (i, byte) in data.iter_mut().enumerate() {
        *byte = i as u8;
    }
    match ipc::call(MIRROR, &Msg::new(3), &mut data, 64) {
        Ok(reply) if reply.data.len() == 64 && reply.data.iter().enumerate().all(|(i, &b)| b == i as u8) => {
            libsys::println!("call to mirror with 64 bytes and room for 64: ok, 64 bytes back intact");
        }
        Ok(reply) => {
            libsys::println!("call to mirror: reply of {} bytes differs", reply.data.len());
            wrong += 1;
        }
        Err(error) => {
            libsys::println!("call to mirror: {}", error.name());
            wrong += 1;
        }
    }

    let mut small = [0u8; 64];
    small[..8].copy_from_slice(b"question");
    match ipc::call(LONG_REPLY, &Msg::new(4), &mut small, 8) {
        // The server's 128-byte reply does not fit: the call ends with
        // ETOOLONG, never with an empty success.
        Err(Error::TOOLONG) => libsys::println!("call to long-reply with room for 64: ETOOLONG"),
        Ok(reply) => {
            libsys::println!(
                "call to long-reply with room for 64: ok, {} bytes back",
                reply.data.len()
            );
            wrong += 1;
        }
        Err(error) => {
            libsys::println!("call to long-reply: {}", error.name());
            wrong += 1;
        }
    }
    wrong
}
