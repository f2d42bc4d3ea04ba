//! A server loop: one `reply_recv` per request, dispatching on the label.
//!
//! ```ignore
//! struct Echo;
//! impl libsys::server::Server for Echo {
//!     fn handle(&mut self, request: &Request, _buffer: &mut [u8]) -> Reply {
//!         Reply::with_words(request.label, &request.words[..request.word_count])
//!     }
//! }
//! libsys::server::serve(ENDPOINT, &mut Echo)
//! ```

use crate::ipc::{Exchange, Msg};
use abi::MsgInfo;
use abi::message::MsgFlags;
use abi::message::{MAX_BUFFER, MAX_WORDS};
use abi::{Error, Handle};

/// A request as the server sees it; its bytes are `buffer[..len]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    pub badge: u64,
    pub label: u32,
    pub words: [u64; MAX_WORDS],
    pub word_count: usize,
    pub len: usize,
    pub from_kernel: bool,
    pub handle: Option<Handle>,
}

/// The reply to send; its bytes are `buffer[..len]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reply {
    pub msg: Msg,
    pub len: usize,
    /// Keep the handle that came with the request (see [`Reply::keeping_handle`]).
    pub keep_handle: bool,
}

impl Reply {
    /// A reply with a label only.
    pub const fn label(label: u32) -> Reply {
        Reply {
            msg: Msg::new(label),
            len: 0,
            keep_handle: false,
        }
    }

    /// A reply with a label and words.
    pub fn with_words(label: u32, words: &[u64]) -> Reply {
        Reply {
            msg: Msg::with_words(label, words),
            len: 0,
            keep_handle: false,
        }
    }

    /// Also returns the first `len` bytes of the buffer.
    pub fn with_data(mut self, len: usize) -> Reply {
        self.len = len;
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
    fn handle(&mut self, request: &Request, buffer: &mut [u8]) -> Reply;
}

/// Serves requests on `endpoint` forever: one `reply_recv` per request,
/// the request's bytes and the reply's bytes in the same buffer. A handle
/// that came with a request is closed once it is handled, unless the reply
/// is [`Reply::keeping_handle`].
pub fn serve(endpoint: Handle, server: &mut impl Server) -> ! {
    let mut buffer = [0u8; MAX_BUFFER];
    let mut exchange = Exchange::new(&mut buffer);
    loop {
        match exchange.reply_recv(endpoint) {
            Ok(()) => {}
            // The caller could not take the reply (too long for its buffer,
            // no room for a handle): that ended its call with the error.
            // Or the reply was the server's mistake (a bad handle to pass):
            // the caller still waits, and gets an empty reply.
            Err(Error::TOOLONG | Error::TABLEFULL | Error::BADHANDLE | Error::NORIGHTS | Error::INVAL)
                if exchange.info() != MsgInfo::default() =>
            {
                exchange.set_info(MsgInfo::default());
                continue;
            }
            Err(error) => panic!("serving handle {endpoint:#x}: {error:?}"),
        }
        let info = exchange.info();
        let flags = info.flags();
        let request = Request {
            badge: exchange.badge(),
            label: info.label(),
            words: *exchange.words(),
            word_count: info.words(),
            len: info.len(),
            from_kernel: flags.contains(MsgFlags::KERNEL),
            handle: flags.contains(MsgFlags::HANDLE).then_some(exchange.words()[0]),
        };
        let reply = server.handle(&request, exchange.buffer_mut());
        if let Some(handle) = request.handle.filter(|_| !reply.keep_handle) {
            // It was just installed in our table; closing it cannot fail.
            let _ = crate::sys::handle_close(handle);
        }
        exchange.set_info(reply.msg.info(reply.len.min(MAX_BUFFER)));
        *exchange.words_mut() = reply.msg.words;
    }
}
