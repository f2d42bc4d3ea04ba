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
    /// The label: the protocol's operation code.
    pub label: u32,
    /// The words; only the first `word_count` travel.
    pub words: [u64; MAX_WORDS],
    /// How many of `words` travel (at most six).
    pub word_count: usize,
    /// A handle of ours to pass a copy of (it needs the TRANSFER right);
    /// it travels in word 0.
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
        Msg::with_words_inline(label, words)
    }

    /// [`Msg::with_words`], inlined where it is used: for the server loop's
    /// replies ([`crate::server::Reply::with_words`]), where the words are
    /// usually a slice of known length and the copy becomes a few stores.
    #[inline(always)]
    pub(crate) fn with_words_inline(label: u32, words: &[u64]) -> Msg {
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
///
/// Only the words the sender sent are reachable ([`Received::words`]): the
/// registers beyond the count keep whatever this program had in them.
#[derive(Debug, PartialEq, Eq)]
pub struct Received<'a> {
    /// Badge of the sender's handle (0 for replies).
    pub badge: u64,
    /// The sender's label.
    pub label: u32,
    words: [u64; MAX_WORDS],
    word_count: usize,
    /// The bytes that came with it, in the caller's buffer.
    pub data: &'a [u8],
    /// Sent by the kernel itself (forwarded write, exit or fault notice).
    pub from_kernel: bool,
    /// A handle that came with it (now one of ours), if any.
    pub handle: Option<Handle>,
}

impl<'a> Received<'a> {
    /// What arrived in `regs`, with its bytes in `buffer`.
    pub(crate) fn new(regs: &IpcRegs, buffer: &'a [u8], badge: u64) -> Received<'a> {
        let info = MsgInfo(regs.info);
        let len = info.len().min(buffer.len());
        let word_count = info.words().min(MAX_WORDS);
        let mut words = [0; MAX_WORDS];
        words[..word_count].copy_from_slice(&regs.words[..word_count]);
        Received {
            badge,
            label: info.label(),
            words,
            word_count,
            data: &buffer[..len],
            from_kernel: info.flags().contains(MsgFlags::KERNEL),
            handle: info.flags().contains(MsgFlags::HANDLE).then_some(regs.words[0]),
        }
    }

    /// The words the sender sent (as many as its `MsgInfo` counts). With a
    /// passed handle, word 0 is our number for it.
    pub fn words(&self) -> &[u64] {
        &self.words[..self.word_count]
    }

    /// Word `index`, if the sender sent that many.
    pub fn word(&self, index: usize) -> Option<u64> {
        self.words().get(index).copied()
    }
}

/// A reply's error, if it is an error reply (`abi::message::ERROR_LABEL`).
fn reply_error(regs: &IpcRegs) -> Result<()> {
    match abi::message::reply_error(MsgInfo(regs.info), regs.words[0]) {
        Some(error) => Err(error),
        None => Ok(()),
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
/// bytes land in `buffer`. An error reply (label
/// `abi::message::ERROR_LABEL`) is returned as its `Err`.
pub fn call<'b>(handle: Handle, msg: &Msg, buffer: &'b mut [u8], send_len: usize) -> Result<Received<'b>> {
    let send_len = send_len.min(buffer.len());
    let mut regs = msg.regs(handle, buffer, send_len);
    invoke(Syscall::Call, &mut regs)?;
    reply_error(&regs)?;
    Ok(Received::new(&regs, buffer, 0))
}

/// A call with no buffer in either direction (an error reply is its `Err`).
pub fn call_words(handle: Handle, msg: &Msg) -> Result<Received<'static>> {
    let mut regs = msg.regs(handle, &[], 0);
    invoke(Syscall::Call, &mut regs)?;
    reply_error(&regs)?;
    Ok(Received::new(&regs, &[], 0))
}

/// A call that sends `data` and takes no bytes back (a reply with bytes
/// ends it with ETOOLONG); an error reply is its `Err`.
pub fn call_sending(handle: Handle, msg: &Msg, data: &[u8]) -> Result<Received<'static>> {
    let mut regs = msg.regs(handle, data, data.len());
    regs.capacity = 0;
    invoke(Syscall::Call, &mut regs)?;
    reply_error(&regs)?;
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
/// write a server loop or a client that repeats a call, and the
/// register-level one: its results are the kernel's, and an error reply
/// arrives like any reply ([`Exchange::reply_error`] reads it), where
/// [`call`] and the typed clients return it as `Err`.
///
/// ```no_run
/// use libsys::MsgInfo;
/// use libsys::ipc::Exchange;
///
/// /// Answers every request on `endpoint` with its label and words, no bytes.
/// fn serve(endpoint: libsys::Handle) -> libsys::Result<()> {
///     let mut buffer = [0u8; 4096];
///     let mut exchange = Exchange::new(&mut buffer);
///     loop {
///         // Reply (nothing the first time), then wait for the next request.
///         exchange.reply_recv(endpoint)?;
///         let request = exchange.info();
///         exchange.set_info(MsgInfo::new(request.label(), request.words(), 0));
///     }
/// }
/// # serve(1).unwrap();
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

    /// The six word registers: what arrived last (only the first
    /// `info().words()` are the sender's; the others keep earlier values),
    /// or what goes out next.
    #[inline(always)]
    pub fn words(&self) -> &[u64; MAX_WORDS] {
        &self.regs.words
    }

    /// The six word registers, to set what goes out next.
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

    /// Sends what is set and waits for the reply, which replaces it. The
    /// result is the kernel's: an error reply (label
    /// `abi::message::ERROR_LABEL`) arrives like any reply, and
    /// [`Exchange::reply_error`] reads it.
    #[inline(always)]
    pub fn call(&mut self, handle: Handle) -> Result<()> {
        self.invoke(Syscall::Call, handle)
    }

    /// The error the last reply carries, if it is an error reply (label
    /// `abi::message::ERROR_LABEL`; see `abi::message::reply_error`).
    pub fn reply_error(&self) -> Option<abi::Error> {
        reply_error(&self.regs).err()
    }

    /// Replies with what is set (to the caller, if one waits), then waits
    /// for the next message on `handle`, which replaces it.
    #[inline(always)]
    pub fn reply_recv(&mut self, handle: Handle) -> Result<()> {
        self.invoke(Syscall::ReplyRecv, handle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi::Error;
    use abi::message::{ERROR_LABEL, error_reply};

    fn regs(info: MsgInfo, words: [u64; MAX_WORDS]) -> IpcRegs {
        IpcRegs {
            info: info.0,
            words,
            ..IpcRegs::default()
        }
    }

    #[test]
    fn only_the_counted_words_are_reachable() {
        let stale = [1, 2, 3, 4, 5, 6];
        let received = Received::new(&regs(MsgInfo::new(7, 2, 0), stale), &[], 9);
        assert_eq!(received.words(), [1, 2]);
        assert_eq!(received.word(1), Some(2));
        assert_eq!(received.word(2), None);
        // Not even Debug or equality see the others.
        assert_eq!(
            received,
            Received::new(&regs(MsgInfo::new(7, 2, 0), [1, 2, 0, 0, 0, 0]), &[], 9)
        );
        assert!(!std::format!("{received:?}").contains('6'));
        // A count beyond the registers is cut at six.
        let all = Received::new(&regs(MsgInfo(MsgInfo::new(7, 0, 0).0 | 15 << 32), stale), &[], 9);
        assert_eq!(all.words(), stale);
    }

    #[test]
    fn error_replies_are_errors() {
        let (info, word) = error_reply(Error::NOTFOUND);
        assert_eq!(reply_error(&regs(info, [word, 0, 0, 0, 0, 0])), Err(Error::NOTFOUND));
        assert_eq!(reply_error(&regs(MsgInfo::new(0, 1, 0), [word, 0, 0, 0, 0, 0])), Ok(()));
        // A reply that has the label but not the shape is still not a success.
        let odd = MsgInfo::new(ERROR_LABEL, 0, 0);
        assert_eq!(reply_error(&regs(odd, [0; 6])), Err(Error::INVAL));
    }
}
