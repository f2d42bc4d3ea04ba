//! IPC: send, receive, call and reply, with register words and a buffer.
//!
//! One buffer serves both directions of a `call` and of `reply_recv`, as in
//! the ABI: the first `send_len` bytes go out, and what comes back lands in
//! the same buffer.

use crate::raw::{self, IpcRegs};
use crate::{Result, decode};
use abi::message::{MAX_WORDS, MsgFlags};
use abi::{Handle, MsgInfo, Syscall};

/// An outgoing message: a label and up to six words, optionally passing a
/// handle (which then travels in word 0), and how long to wait for the peer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Msg {
    pub label: u32,
    pub words: [u64; MAX_WORDS],
    pub word_count: usize,
    pub handle: Option<Handle>,
    /// Timer ticks to wait at most (0: as long as it takes); ETIMEDOUT after.
    pub timeout: u32,
    /// Fail with ETIMEDOUT at once if no peer is waiting.
    pub nonblocking: bool,
}

impl Msg {
    /// A message with no words.
    pub const fn new(label: u32) -> Msg {
        Msg {
            label,
            words: [0; MAX_WORDS],
            word_count: 0,
            handle: None,
            timeout: 0,
            nonblocking: false,
        }
    }

    /// A message with the given words (at most six; more are ignored).
    pub fn with_words(label: u32, words: &[u64]) -> Msg {
        let mut msg = Msg::new(label);
        let count = words.len().min(MAX_WORDS);
        msg.words[..count].copy_from_slice(&words[..count]);
        msg.word_count = count;
        msg
    }

    /// Also passes a copy of `handle` (which needs the TRANSFER right).
    pub fn passing(mut self, handle: Handle) -> Msg {
        self.handle = Some(handle);
        self.words[0] = handle;
        self.word_count = self.word_count.max(1);
        self
    }

    /// Waits at most `ticks` timer ticks for the peer (and, for a call, the reply).
    pub fn with_timeout(mut self, ticks: u32) -> Msg {
        self.timeout = ticks;
        self
    }

    /// Does not wait for a receiver: ETIMEDOUT unless one is waiting already.
    pub fn nonblocking(mut self) -> Msg {
        self.nonblocking = true;
        self
    }

    pub(crate) fn info(&self, len: usize) -> MsgInfo {
        let mut flags = MsgFlags::empty();
        if self.handle.is_some() {
            flags |= MsgFlags::HANDLE;
        }
        if self.nonblocking {
            flags |= MsgFlags::NONBLOCK;
        }
        MsgInfo::new(self.label, self.word_count, len)
            .with_flags(flags)
            .with_timeout(self.timeout)
    }

    fn regs(&self, handle: Handle, buffer: &[u8], send_len: usize) -> IpcRegs {
        IpcRegs {
            handle,
            info: self.info(send_len).0,
            buffer: buffer.as_ptr() as u64,
            capacity: buffer.len() as u64,
            words: self.words,
        }
    }
}

/// A message that arrived (by `recv`, or as the reply to a `call`).
#[derive(Debug, PartialEq, Eq)]
pub struct Received<'a> {
    /// Badge of the sender's handle (0 for replies).
    pub badge: u64,
    pub label: u32,
    pub words: [u64; MAX_WORDS],
    pub word_count: usize,
    /// The bytes that came with it, in the caller's buffer.
    pub data: &'a [u8],
    /// Sent by the kernel itself (forwarded write, exit or fault notice).
    pub from_kernel: bool,
    /// A handle that came with it (now one of ours), if any.
    pub handle: Option<Handle>,
}

impl<'a> Received<'a> {
    fn new(regs: &IpcRegs, buffer: &'a [u8], badge: u64) -> Received<'a> {
        let info = MsgInfo(regs.info);
        let len = info.len().min(buffer.len());
        Received {
            badge,
            label: info.label(),
            words: regs.words,
            word_count: info.words(),
            data: &buffer[..len],
            from_kernel: info.flags().contains(MsgFlags::KERNEL),
            handle: info.flags().contains(MsgFlags::HANDLE).then_some(regs.words[0]),
        }
    }
}

fn invoke(syscall: Syscall, regs: &mut IpcRegs) -> Result<()> {
    // SAFETY: every caller builds `regs` from a live buffer: `buffer` and
    // `capacity` describe a slice it holds mutably (or a shared one with
    // capacity 0), and the send length never exceeds it.
    decode(unsafe { raw::ipc(syscall as u64, regs) }).map(drop)
}

/// Sends `msg` with `data`; returns once a receiver has taken it.
pub fn send(handle: Handle, msg: &Msg, data: &[u8]) -> Result<()> {
    let mut regs = msg.regs(handle, data, data.len());
    regs.capacity = 0;
    invoke(Syscall::Send, &mut regs)
}

/// Waits for a message on `handle`; its bytes land in `buffer`.
pub fn recv(handle: Handle, buffer: &mut [u8]) -> Result<Received<'_>> {
    recv_with(handle, &Msg::new(0), buffer)
}

/// Like [`recv`], waiting at most `ticks` timer ticks (ETIMEDOUT after).
pub fn recv_timeout(handle: Handle, buffer: &mut [u8], ticks: u32) -> Result<Received<'_>> {
    recv_with(handle, &Msg::new(0).with_timeout(ticks), buffer)
}

/// Like [`recv`], but only takes a message that is already waiting
/// (ETIMEDOUT otherwise).
pub fn try_recv(handle: Handle, buffer: &mut [u8]) -> Result<Received<'_>> {
    recv_with(handle, &Msg::new(0).nonblocking(), buffer)
}

/// Receives with the timeout and NONBLOCK flag of `wait` (its label and
/// words are ignored).
pub fn recv_with<'b>(handle: Handle, wait: &Msg, buffer: &'b mut [u8]) -> Result<Received<'b>> {
    let mut regs = wait.regs(handle, buffer, 0);
    invoke(Syscall::Recv, &mut regs)?;
    let badge = regs.handle;
    Ok(Received::new(&regs, buffer, badge))
}

/// Sends `msg` with `buffer[..send_len]` and waits for the reply, whose
/// bytes land in `buffer`.
pub fn call<'b>(handle: Handle, msg: &Msg, buffer: &'b mut [u8], send_len: usize) -> Result<Received<'b>> {
    let send_len = send_len.min(buffer.len());
    let mut regs = msg.regs(handle, buffer, send_len);
    invoke(Syscall::Call, &mut regs)?;
    Ok(Received::new(&regs, buffer, 0))
}

/// A call with no buffer in either direction.
pub fn call_words(handle: Handle, msg: &Msg) -> Result<Received<'static>> {
    let mut regs = msg.regs(handle, &[], 0);
    invoke(Syscall::Call, &mut regs)?;
    Ok(Received::new(&regs, &[], 0))
}

/// Replies to the last caller with `msg` and `data`.
pub fn reply(msg: &Msg, data: &[u8]) -> Result<()> {
    let mut regs = msg.regs(0, data, data.len());
    regs.capacity = 0;
    invoke(Syscall::Reply, &mut regs)
}

/// Replies with `msg` and `buffer[..reply_len]` (if a caller waits), then
/// waits for the next message on `handle`, which lands in `buffer`.
pub fn reply_recv<'b>(handle: Handle, msg: &Msg, buffer: &'b mut [u8], reply_len: usize) -> Result<Received<'b>> {
    let reply_len = reply_len.min(buffer.len());
    let mut regs = msg.regs(handle, buffer, reply_len);
    invoke(Syscall::ReplyRecv, &mut regs)?;
    let badge = regs.handle;
    Ok(Received::new(&regs, buffer, badge))
}

/// The registers of an IPC exchange, kept from one call to the next: what
/// arrives can go straight back out, with no repacking. The fastest way to
/// write a server loop or a client that repeats a call.
///
/// ```ignore
/// let mut buffer = [0u8; 4096];
/// let mut exchange = Exchange::new(&mut buffer);
/// loop {
///     exchange.reply_recv(ENDPOINT)?; // reply (empty the first time), then wait
///     // ... look at exchange.info(), words(), data(); set the reply ...
/// }
/// ```
pub struct Exchange<'b> {
    regs: IpcRegs,
    buffer: &'b mut [u8],
}

impl<'b> Exchange<'b> {
    /// An exchange receiving into `buffer`; the first message to go out is
    /// empty (label 0, no words, no bytes).
    pub fn new(buffer: &'b mut [u8]) -> Exchange<'b> {
        let regs = IpcRegs {
            buffer: buffer.as_mut_ptr() as u64,
            capacity: buffer.len() as u64,
            ..IpcRegs::default()
        };
        Exchange { regs, buffer }
    }

    /// The MsgInfo of what arrived last (or of what goes out next).
    #[inline(always)]
    pub fn info(&self) -> MsgInfo {
        MsgInfo(self.regs.info)
    }

    /// Sets what goes out next: label, word count, byte count (the bytes are
    /// the start of the buffer), flags, timeout.
    #[inline(always)]
    pub fn set_info(&mut self, info: MsgInfo) {
        self.regs.info = info.0;
    }

    #[inline(always)]
    pub fn words(&self) -> &[u64; MAX_WORDS] {
        &self.regs.words
    }

    #[inline(always)]
    pub fn words_mut(&mut self) -> &mut [u64; MAX_WORDS] {
        &mut self.regs.words
    }

    /// Badge of the sender of what arrived last by `reply_recv`.
    #[inline(always)]
    pub fn badge(&self) -> u64 {
        self.regs.handle
    }

    /// The bytes that arrived last.
    pub fn data(&self) -> &[u8] {
        &self.buffer[..self.info().len().min(self.buffer.len())]
    }

    /// The whole buffer, to write the bytes of the next message into.
    pub fn buffer_mut(&mut self) -> &mut [u8] {
        self.buffer
    }

    #[inline(always)]
    fn invoke(&mut self, syscall: Syscall, handle: Handle) -> Result<()> {
        if self.info().len() > self.buffer.len() {
            return Err(abi::Error::TOOLONG);
        }
        self.regs.handle = handle;
        // SAFETY: `buffer` and `capacity` describe `self.buffer`, held
        // mutably for the exchange's life, and the outgoing length was just
        // checked against it.
        decode(unsafe { raw::ipc(syscall as u64, &mut self.regs) }).map(drop)
    }

    /// Sends what is set and waits for the reply, which replaces it.
    #[inline(always)]
    pub fn call(&mut self, handle: Handle) -> Result<()> {
        self.invoke(Syscall::Call, handle)
    }

    /// Replies with what is set (to the caller, if one waits), then waits
    /// for the next message on `handle`, which replaces it.
    #[inline(always)]
    pub fn reply_recv(&mut self, handle: Handle) -> Result<()> {
        self.invoke(Syscall::ReplyRecv, handle)
    }
}
