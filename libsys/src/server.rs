//! A server loop: one `reply_recv` per request, the request and the reply in
//! one buffer.
//!
//! A server implements [`Server::handle`] and calls [`serve`]:
//!
//! ```no_run
//! use libsys::server::{Reply, Request, Server, serve};
//!
//! /// Sends every request back: its label, its words and its bytes.
//! struct Mirror;
//!
//! impl Server for Mirror {
//!     fn handle(&mut self, request: &Request, _buffer: &mut [u8]) -> Reply {
//!         // The request's bytes are the start of the buffer already.
//!         Reply::with_words(request.label, request.words()).with_data(request.len)
//!     }
//! }
//!
//! fn main() {
//!     serve(1, &mut Mirror) // handle 1: the endpoint the manifest gives it
//! }
//! ```
//!
//! [`serve`] never lets a client read a reply that is not the server's:
//!
//! - A reply the client cannot take (longer than its buffer, a handle with
//!   no room in its table) ends the client's call with that error (the
//!   kernel does that) and is reported to [`Server::reply_refused`].
//! - A reply the kernel refuses for the server's own mistake (a handle it
//!   may not pass, a bad message) or that [`serve`] refuses (bytes beyond
//!   the buffer, [`Reply::with_data`]) is reported to
//!   [`Server::reply_refused`] too, and the client gets an error reply with
//!   the same error instead ([`Reply::error`]; `libsys::ipc::call` returns
//!   it as `Err`).
//! - The buffer holds no bytes of an earlier request past the current one:
//!   [`serve`] zeroes them before calling [`Server::handle`].
//!
//! A notification bound to the endpoint (`libsys::Notification::bind`, an
//! interrupt's or a child's) arrives in the same loop: [`serve`] hands its
//! bits to [`Server::notification`] and replies to nobody.

use crate::ipc::{Exchange, Msg};
use abi::message::{MAX_BUFFER, MAX_WORDS, MsgFlags, NOTIFICATION_LABEL};
use abi::{Error, Handle, MsgInfo};

/// A request as the server sees it; its bytes are `buffer[..len]`.
///
/// Only the words the client sent are reachable ([`Request::words`]); its
/// `Debug` and `==` look at no others either.
#[derive(Clone, Copy)]
pub struct Request {
    /// Badge of the handle the client sent with (the manifest's `badge`):
    /// who it is.
    pub badge: u64,
    /// The client's label: the protocol's operation code.
    pub label: u32,
    words: [u64; MAX_WORDS],
    word_count: usize,
    /// Bytes of the request, at the start of the buffer.
    pub len: usize,
    /// The kernel composed it (a forwarded `write`, an exit or fault
    /// notice), so its words can be trusted.
    pub from_kernel: bool,
    /// A handle that came with it, now ours (it is word 0 too). [`serve`]
    /// closes it after [`Server::handle`] unless the reply keeps it
    /// ([`Reply::keeping_handle`]).
    pub handle: Option<Handle>,
}

impl Request {
    /// A request with `label`, `words` (at most six; more are cut) and
    /// `len` bytes, from badge 0: for testing a server on the host.
    pub fn new(label: u32, words: &[u64], len: usize) -> Request {
        let word_count = words.len().min(MAX_WORDS);
        let mut array = [0; MAX_WORDS];
        array[..word_count].copy_from_slice(&words[..word_count]);
        Request {
            badge: 0,
            label,
            words: array,
            word_count,
            len,
            from_kernel: false,
            handle: None,
        }
    }

    /// The same request, from the client with `badge`.
    pub fn with_badge(mut self, badge: u64) -> Request {
        self.badge = badge;
        self
    }

    /// The same request, passing `handle` (in word 0, which it replaces or
    /// adds).
    pub fn passing(mut self, handle: Handle) -> Request {
        self.handle = Some(handle);
        self.words[0] = handle;
        self.word_count = self.word_count.max(1);
        self
    }

    /// The words the client sent (as many as its `MsgInfo` counts).
    pub fn words(&self) -> &[u64] {
        &self.words[..self.word_count]
    }

    /// Word `index`, if the client sent that many.
    pub fn word(&self, index: usize) -> Option<u64> {
        self.words().get(index).copied()
    }

    /// The request that arrived in `info` and `words` from `badge`. (The
    /// registers beyond the count are kept but never shown: copying them
    /// whole costs less than cutting them, on every request.)
    fn arrived(badge: u64, info: MsgInfo, words: &[u64; MAX_WORDS]) -> Request {
        let flags = info.flags();
        Request {
            badge,
            label: info.label(),
            words: *words,
            word_count: info.words().min(MAX_WORDS),
            len: info.len(),
            from_kernel: flags.contains(MsgFlags::KERNEL),
            handle: flags.contains(MsgFlags::HANDLE).then_some(words[0]),
        }
    }
}

impl PartialEq for Request {
    fn eq(&self, other: &Request) -> bool {
        (
            self.badge,
            self.label,
            self.words(),
            self.len,
            self.from_kernel,
            self.handle,
        ) == (
            other.badge,
            other.label,
            other.words(),
            other.len,
            other.from_kernel,
            other.handle,
        )
    }
}

impl Eq for Request {}

impl core::fmt::Debug for Request {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Request")
            .field("badge", &self.badge)
            .field("label", &self.label)
            .field("words", &self.words())
            .field("len", &self.len)
            .field("from_kernel", &self.from_kernel)
            .field("handle", &self.handle)
            .finish()
    }
}

/// The reply to send; its bytes are `buffer[..len]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reply {
    /// Label, words, and a handle to pass back, if any.
    pub msg: Msg,
    /// Bytes of the reply, at the start of the buffer. More than the buffer
    /// holds is refused: the client gets an ETOOLONG error reply.
    pub len: usize,
    /// Keep the handle that came with the request (see [`Reply::keeping_handle`]).
    pub keep_handle: bool,
}

impl Reply {
    /// A reply with a label only.
    #[inline]
    pub const fn label(label: u32) -> Reply {
        Reply {
            msg: Msg::new(label),
            len: 0,
            keep_handle: false,
        }
    }

    /// A reply with a label and words (at most six; more are cut).
    #[inline]
    pub fn with_words(label: u32, words: &[u64]) -> Reply {
        Reply {
            msg: Msg::with_words_inline(label, words),
            len: 0,
            keep_handle: false,
        }
    }

    /// An error reply: the client's call returns `Err(error)`. It has label
    /// `abi::message::ERROR_LABEL` and the error in word 0
    /// (`abi::message::error_reply`).
    pub fn error(error: Error) -> Reply {
        let (info, word) = abi::message::error_reply(error);
        Reply::with_words(info.label(), &[word])
    }

    /// Also returns the first `len` bytes of the buffer. A `len` beyond the
    /// buffer is not cut: [`serve`] answers the client with an ETOOLONG
    /// error reply instead, and tells [`Server::reply_refused`].
    pub fn with_data(mut self, len: usize) -> Reply {
        self.len = len;
        self
    }

    /// Also passes a copy of `handle` to the client (it needs the TRANSFER
    /// right); it travels in word 0.
    pub fn passing(mut self, handle: Handle) -> Reply {
        self.msg = self.msg.passing(handle);
        self
    }

    /// Keeps the handle that came with the request: it stays in the
    /// server's table, and the server closes it when done. Without this,
    /// [`serve`] closes it, so a client cannot fill the server's handle
    /// table (or keep endpoints alive) by passing handles it does not want.
    pub fn keeping_handle(mut self) -> Reply {
        self.keep_handle = true;
        self
    }
}

/// A server: handles one request, writing any reply bytes into `buffer`.
pub trait Server {
    /// Answers `request`, whose bytes are `buffer[..request.len]`; the
    /// reply's bytes go into `buffer` too. Past the request's bytes the
    /// buffer holds zeros, or what this server wrote there itself.
    fn handle(&mut self, request: &Request, buffer: &mut [u8]) -> Reply;

    /// The reply to the last request did not reach the client, for
    /// `error`: ETOOLONG (more bytes than the client's buffer holds, or
    /// than the server's), ETABLEFULL (no room for the handle passed),
    /// EFAULT (the client's buffer is gone): the client's call ended with
    /// that error; EBADHANDLE, ENORIGHTS or EINVAL (a handle the server may
    /// not pass, a malformed message): the client got an error reply with
    /// that error. Does nothing unless the server overrides it (to count
    /// or log such replies).
    fn reply_refused(&mut self, error: Error) {
        let _ = error;
    }

    /// The notification bound to the endpoint was signalled with `bits`
    /// (the kernel's message with label `abi::message::NOTIFICATION_LABEL`;
    /// nobody waits for a reply to it). Does nothing unless the server
    /// overrides it.
    fn notification(&mut self, bits: u64) {
        let _ = bits;
    }
}

/// Serves requests on `endpoint` forever: one `reply_recv` per request,
/// the request's bytes and the reply's bytes in the same buffer. A handle
/// that came with a request is closed once it is handled, unless the reply
/// is [`Reply::keeping_handle`]. Panics (ending the program) only if the
/// endpoint cannot be received on.
pub fn serve(endpoint: Handle, server: &mut impl Server) -> ! {
    let mut buffer = [0u8; MAX_BUFFER];
    let mut exchange = Exchange::new(&mut buffer);
    let mut state = Loop::default();
    loop {
        if let Err(error) = state.step(&mut exchange, endpoint, server) {
            panic!("serving handle {endpoint:#x}: {error}");
        }
    }
}

/// What [`Loop`] needs of the kernel: the registers and buffer of one
/// exchange, `reply_recv` and `handle_close`. [`Exchange`] is the real one;
/// the tests use a model of the kernel.
trait Transport {
    fn info(&self) -> MsgInfo;
    fn set_info(&mut self, info: MsgInfo);
    fn words(&self) -> &[u64; MAX_WORDS];
    fn words_mut(&mut self) -> &mut [u64; MAX_WORDS];
    fn badge(&self) -> u64;
    fn buffer_mut(&mut self) -> &mut [u8];
    fn reply_recv(&mut self, endpoint: Handle) -> Result<(), Error>;
    fn close(&mut self, handle: Handle);
}

// Inlined as `Exchange`'s own methods are: the loop is every server's
// hot path (the `write_64_bytes` benchmark goes through it).
impl Transport for Exchange<'_> {
    #[inline(always)]
    fn info(&self) -> MsgInfo {
        Exchange::info(self)
    }
    #[inline(always)]
    fn set_info(&mut self, info: MsgInfo) {
        Exchange::set_info(self, info)
    }
    #[inline(always)]
    fn words(&self) -> &[u64; MAX_WORDS] {
        Exchange::words(self)
    }
    #[inline(always)]
    fn words_mut(&mut self) -> &mut [u64; MAX_WORDS] {
        Exchange::words_mut(self)
    }
    #[inline(always)]
    fn badge(&self) -> u64 {
        Exchange::badge(self)
    }
    #[inline(always)]
    fn buffer_mut(&mut self) -> &mut [u8] {
        Exchange::buffer_mut(self)
    }
    #[inline(always)]
    fn reply_recv(&mut self, endpoint: Handle) -> Result<(), Error> {
        Exchange::reply_recv(self, endpoint)
    }
    fn close(&mut self, handle: Handle) {
        // It was just installed in our table; closing it cannot fail.
        let _ = crate::sys::handle_close(handle);
    }
}

/// What goes out with the next `reply_recv`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Pending {
    /// Nothing (the first time, or after the call ended).
    #[default]
    Nothing,
    /// The server's reply; `passes` if it passes a handle.
    Reply { passes: bool },
    /// An error reply standing in for a refused reply.
    Error,
}

/// The state of [`serve`] between requests.
#[derive(Debug, Default)]
struct Loop {
    pending: Pending,
    /// The buffer may hold bytes other than zeros below this offset.
    dirty: usize,
}

impl Loop {
    /// Sends what is pending and handles the next request. An error is
    /// one `serve` cannot go on from.
    fn step(
        &mut self,
        transport: &mut impl Transport,
        endpoint: Handle,
        server: &mut impl Server,
    ) -> Result<(), Error> {
        if let Err(error) = transport.reply_recv(endpoint) {
            return self.refused(transport, server, error);
        }
        let request = Request::arrived(transport.badge(), transport.info(), transport.words());
        if request.from_kernel && request.label == NOTIFICATION_LABEL {
            // Nobody called: nothing goes back (`reply_recv` then only
            // receives).
            server.notification(request.word(0).unwrap_or(0));
            self.set(transport, Pending::Nothing, Reply::label(0));
            return Ok(());
        }
        let buffer = transport.buffer_mut();
        // No bytes of an earlier request past this one's.
        let len = request.len.min(buffer.len());
        if self.dirty > len {
            buffer[len..self.dirty].fill(0);
        }
        self.dirty = len;
        let reply = server.handle(&request, buffer);
        let capacity = buffer.len();
        if let Some(handle) = request.handle.filter(|_| !reply.keep_handle) {
            transport.close(handle);
        }
        if reply.len > capacity {
            server.reply_refused(Error::TOOLONG);
            self.set(transport, Pending::Error, Reply::error(Error::TOOLONG));
        } else {
            self.dirty = self.dirty.max(reply.len);
            let passes = reply.msg.handle.is_some();
            self.set(transport, Pending::Reply { passes }, reply);
        }
        Ok(())
    }

    /// `reply_recv` failed with `error` before receiving: decides whose
    /// mistake it was, and what goes out next.
    fn refused(&mut self, transport: &mut impl Transport, server: &mut impl Server, error: Error) -> Result<(), Error> {
        match (self.pending, error) {
            // The client could not take the reply: the kernel ended its
            // call with the error, and nobody waits for an answer any more.
            (Pending::Reply { .. }, Error::TOOLONG | Error::TABLEFULL | Error::FAULT) => {
                server.reply_refused(error);
                self.set(transport, Pending::Nothing, Reply::label(0));
            }
            (Pending::Error, Error::TOOLONG | Error::TABLEFULL | Error::FAULT) => {
                self.set(transport, Pending::Nothing, Reply::label(0));
            }
            // The server's own mistake: the client still waits, and gets an
            // error reply instead of nothing. (Without a handle to pass,
            // EBADHANDLE and ENORIGHTS are about the endpoint: fatal.)
            (Pending::Reply { passes: true }, Error::BADHANDLE | Error::NORIGHTS)
            | (Pending::Reply { .. }, Error::INVAL) => {
                server.reply_refused(error);
                self.set(transport, Pending::Error, Reply::error(error));
            }
            _ => return Err(error),
        }
        Ok(())
    }

    fn set(&mut self, transport: &mut impl Transport, pending: Pending, reply: Reply) {
        self.pending = pending;
        transport.set_info(reply.msg.info(reply.len));
        *transport.words_mut() = reply.msg.words;
    }
}

#[cfg(test)]
mod tests {
    //! `serve`'s decisions, against a model of what the kernel does with a
    //! reply (`messages.rs`: the server's own mistakes are refused with the
    //! caller still waiting; a reply the caller cannot take ends its call).

    use super::*;
    use abi::message::{ERROR_LABEL, reply_error};
    use std::collections::VecDeque;
    use std::vec::Vec;

    /// A client's request to the model.
    #[derive(Clone, Debug)]
    struct Call {
        label: u32,
        words: Vec<u64>,
        data: Vec<u8>,
        /// Room for reply bytes.
        capacity: usize,
        /// Passes this handle (which the model installs as `passed`).
        passes: Option<Handle>,
        /// Its handle table is full.
        table_full: bool,
        /// Not a call: the kernel's notification message (KERNEL flag,
        /// nobody to reply to).
        notification: bool,
    }

    impl Call {
        fn new(label: u32, words: &[u64], data: &[u8]) -> Call {
            Call {
                label,
                words: words.to_vec(),
                data: data.to_vec(),
                capacity: MAX_BUFFER,
                passes: None,
                table_full: false,
                notification: false,
            }
        }

        /// The kernel's message for a bound notification with `bits`.
        fn notification(bits: u64) -> Call {
            Call {
                notification: true,
                ..Call::new(NOTIFICATION_LABEL, &[bits], b"")
            }
        }
    }

    /// What a client got: the reply (label, words, bytes, passed a handle)
    /// or the error its `call` returned.
    type Answer = Result<(u32, Vec<u64>, Vec<u8>, bool), Error>;

    /// The kernel, as far as `serve` sees it.
    struct Model {
        info: MsgInfo,
        words: [u64; MAX_WORDS],
        badge: u64,
        buffer: Vec<u8>,
        calls: VecDeque<Call>,
        /// The call being served.
        current: Option<Call>,
        answers: Vec<Answer>,
        /// Handles the server may pass (TRANSFER).
        passable: Vec<Handle>,
        closed: Vec<Handle>,
    }

    impl Model {
        fn new(calls: &[Call]) -> Model {
            Model {
                info: MsgInfo::default(),
                words: [0; MAX_WORDS],
                badge: 0,
                buffer: vec![0; MAX_BUFFER],
                calls: calls.iter().cloned().collect(),
                current: None,
                answers: Vec::new(),
                passable: Vec::new(),
                closed: Vec::new(),
            }
        }

        /// The reply the server's registers describe.
        fn reply(&self) -> Answer {
            if let Some(error) = reply_error(self.info, self.words[0]) {
                return Err(error);
            }
            let words = self.words[..self.info.words()].to_vec();
            let data = self.buffer[..self.info.len()].to_vec();
            Ok((
                self.info.label(),
                words,
                data,
                self.info.flags().contains(MsgFlags::HANDLE),
            ))
        }
    }

    impl Transport for Model {
        fn info(&self) -> MsgInfo {
            self.info
        }
        fn set_info(&mut self, info: MsgInfo) {
            self.info = info;
        }
        fn words(&self) -> &[u64; MAX_WORDS] {
            &self.words
        }
        fn words_mut(&mut self) -> &mut [u64; MAX_WORDS] {
            &mut self.words
        }
        fn badge(&self) -> u64 {
            self.badge
        }
        fn buffer_mut(&mut self) -> &mut [u8] {
            &mut self.buffer
        }
        fn reply_recv(&mut self, _: Handle) -> Result<(), Error> {
            // The server's own mistakes: refused, the caller still waits.
            let info = self.info.check()?;
            if info.flags().contains(MsgFlags::HANDLE) && !self.passable.contains(&self.words[0]) {
                return Err(Error::BADHANDLE);
            }
            if let Some(call) = self.current.take() {
                // What the caller cannot take ends its call, on both sides.
                let refused = if info.len() > call.capacity {
                    Some(Error::TOOLONG)
                } else if info.flags().contains(MsgFlags::HANDLE) && call.table_full {
                    Some(Error::TABLEFULL)
                } else {
                    None
                };
                if let Some(error) = refused {
                    self.answers.push(Err(error));
                    return Err(error);
                }
                self.answers.push(self.reply());
            }
            // The next request; none left ends the test.
            let call = self.calls.pop_front().ok_or(Error::PEERGONE)?;
            let mut info = MsgInfo::new(call.label, call.words.len(), call.data.len());
            self.words[..call.words.len()].copy_from_slice(&call.words);
            if let Some(handle) = call.passes {
                info = info.with_flags(MsgFlags::HANDLE);
                self.words[0] = handle;
            }
            self.buffer[..call.data.len()].copy_from_slice(&call.data);
            if call.notification {
                self.info = info.with_flags(MsgFlags::KERNEL);
                self.badge = 0;
                return Ok(());
            }
            self.info = info;
            self.badge = 5;
            self.current = Some(call);
            Ok(())
        }
        fn close(&mut self, handle: Handle) {
            self.closed.push(handle);
        }
    }

    /// Answers each request with what the function makes of it, and
    /// remembers what it saw, what was refused and the notifications.
    struct Scripted<F: FnMut(&Request, &mut [u8]) -> Reply> {
        answer: F,
        seen: Vec<Request>,
        refused: Vec<Error>,
        notified: Vec<u64>,
    }

    impl<F: FnMut(&Request, &mut [u8]) -> Reply> Server for Scripted<F> {
        fn handle(&mut self, request: &Request, buffer: &mut [u8]) -> Reply {
            self.seen.push(*request);
            (self.answer)(request, buffer)
        }
        fn reply_refused(&mut self, error: Error) {
            self.refused.push(error);
        }
        fn notification(&mut self, bits: u64) {
            self.notified.push(bits);
        }
    }

    /// Serves `calls` until the model has none left.
    fn serve_all<F: FnMut(&Request, &mut [u8]) -> Reply>(model: &mut Model, answer: F) -> Scripted<F> {
        let mut server = Scripted {
            answer,
            seen: Vec::new(),
            refused: Vec::new(),
            notified: Vec::new(),
        };
        let mut state = Loop::default();
        for _ in 0..100 {
            match state.step(model, 1, &mut server) {
                Ok(()) => {}
                Err(Error::PEERGONE) => return server,
                Err(error) => panic!("serve gave up: {error}"),
            }
        }
        panic!("serve went round in circles");
    }

    fn mirror(request: &Request, _: &mut [u8]) -> Reply {
        Reply::with_words(request.label, request.words()).with_data(request.len)
    }

    #[test]
    fn replies_reach_their_callers() {
        let mut model = Model::new(&[Call::new(7, &[1, 2], b"abc"), Call::new(8, &[], b"")]);
        let server = serve_all(&mut model, mirror);
        assert_eq!(
            model.answers,
            [
                Ok((7, vec![1, 2], b"abc".to_vec(), false)),
                Ok((8, vec![], vec![], false))
            ]
        );
        assert!(server.refused.is_empty());
        assert_eq!(server.seen[0].badge, 5);
    }

    #[test]
    fn a_reply_the_client_cannot_take_is_its_error_and_reported() {
        let mut small = Call::new(7, &[], b"question");
        small.capacity = 4;
        let mut full = Call::new(9, &[], b"");
        full.table_full = true;
        let mut model = Model::new(&[small, full, Call::new(8, &[], b"")]);
        model.passable.push(0x42);
        let server = serve_all(&mut model, |request, _| match request.label {
            9 => Reply::label(9).passing(0x42),
            _ => mirror(request, &mut []),
        });
        // Never an empty success: the calls ended with the errors, the
        // server heard of both, and the next client is served.
        assert_eq!(
            model.answers,
            [
                Err(Error::TOOLONG),
                Err(Error::TABLEFULL),
                Ok((8, vec![], vec![], false))
            ]
        );
        assert_eq!(server.refused, [Error::TOOLONG, Error::TABLEFULL]);
    }

    #[test]
    fn a_reply_refused_for_the_servers_mistake_becomes_an_error_reply() {
        let mut model = Model::new(&[Call::new(1, &[], b""), Call::new(2, &[], b""), Call::new(3, &[], b"")]);
        let server = serve_all(&mut model, |request, _| match request.label {
            // A handle it may not pass.
            1 => Reply::label(1).passing(0x99),
            // A malformed message.
            2 => {
                let mut reply = Reply::label(2);
                reply.msg.word_count = 9;
                reply
            }
            _ => Reply::label(3),
        });
        assert_eq!(
            model.answers,
            [Err(Error::BADHANDLE), Err(Error::INVAL), Ok((3, vec![], vec![], false))]
        );
        assert_eq!(server.refused, [Error::BADHANDLE, Error::INVAL]);
    }

    #[test]
    fn data_beyond_the_buffer_is_refused_not_cut() {
        let mut model = Model::new(&[Call::new(1, &[], b"x"), Call::new(2, &[], b"")]);
        let server = serve_all(&mut model, |request, _| match request.label {
            1 => Reply::label(1).with_data(MAX_BUFFER + 1),
            _ => Reply::label(2).with_data(MAX_BUFFER),
        });
        assert_eq!(model.answers[0], Err(Error::TOOLONG));
        assert_eq!(server.refused, [Error::TOOLONG]);
        // The whole buffer is allowed; the first request's byte is gone.
        let Ok((2, _, data, _)) = &model.answers[1] else {
            panic!("{:?}", model.answers[1])
        };
        assert_eq!(data.len(), MAX_BUFFER);
        assert!(data.iter().all(|&b| b == 0));
    }

    #[test]
    fn no_earlier_request_shows_through() {
        let mut model = Model::new(&[
            Call::new(1, &[11, 12, 13, 14, 15, 16], &[b's'; 100]),
            Call::new(2, &[21], &[b'n'; 10]),
        ]);
        let server = serve_all(&mut model, |request, buffer| {
            if request.label == 2 {
                assert_eq!(&buffer[..10], [b'n'; 10]);
                assert!(buffer[10..].iter().all(|&b| b == 0), "stale bytes past the request");
            }
            Reply::label(request.label).with_data(100)
        });
        assert_eq!(server.seen[1].words(), [21]);
        assert_eq!(server.seen[1].word(1), None);
        // Not even Debug or equality see the first request's other words.
        assert_eq!(server.seen[1], Request::new(2, &[21], 10).with_badge(5));
        assert!(!std::format!("{:?}", server.seen[1]).contains("12"));
        let Ok((2, _, data, _)) = &model.answers[1] else {
            panic!("{:?}", model.answers[1])
        };
        assert_eq!(&data[..10], [b'n'; 10]);
        assert!(data[10..].iter().all(|&b| b == 0));
    }

    #[test]
    fn passed_handles_are_closed_unless_kept() {
        let mut first = Call::new(1, &[0], b"");
        first.passes = Some(0x103);
        let mut second = Call::new(2, &[0], b"");
        second.passes = Some(0x104);
        let mut model = Model::new(&[first, second]);
        let server = serve_all(&mut model, |request, _| match request.label {
            1 => Reply::label(1),
            _ => Reply::label(2).keeping_handle(),
        });
        assert_eq!(model.closed, [0x103]);
        assert_eq!(server.seen[0].handle, Some(0x103));
        assert_eq!(server.seen[0].words(), [0x103]);
    }

    #[test]
    fn notifications_reach_the_hook_and_are_answered_to_nobody() {
        // A forged notification (no KERNEL flag) is an ordinary request.
        let forged = Call::new(NOTIFICATION_LABEL, &[7], b"");
        let mut model = Model::new(&[
            Call::new(1, &[], b"a"),
            Call::notification(0b101),
            Call::new(2, &[], b""),
            Call::notification(1),
            forged,
        ]);
        let server = serve_all(&mut model, mirror);
        assert_eq!(server.notified, [0b101, 1]);
        assert_eq!(server.seen.len(), 3, "{:?}", server.seen);
        assert_eq!(server.seen[2].label, NOTIFICATION_LABEL);
        assert!(!server.seen[2].from_kernel);
        // Every caller got its own reply, in order; nothing went to the
        // notifications.
        assert_eq!(
            model.answers,
            [
                Ok((1, vec![], b"a".to_vec(), false)),
                Ok((2, vec![], vec![], false)),
                Ok((NOTIFICATION_LABEL, vec![7], vec![], false)),
            ]
        );
    }

    #[test]
    fn error_replies_have_the_documented_shape() {
        let reply = Reply::error(Error::NOTFOUND);
        let info = reply.msg.info(reply.len);
        assert_eq!(info.label(), ERROR_LABEL);
        assert_eq!(reply_error(info, reply.msg.words[0]), Some(Error::NOTFOUND));
    }
}
