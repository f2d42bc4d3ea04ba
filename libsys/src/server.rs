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

use crate::ipc::{self, Msg};
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
}

impl Reply {
    /// A reply with a label only.
    pub const fn label(label: u32) -> Reply {
        Reply {
            msg: Msg::new(label),
            len: 0,
        }
    }

    /// A reply with a label and words.
    pub fn with_words(label: u32, words: &[u64]) -> Reply {
        Reply {
            msg: Msg::with_words(label, words),
            len: 0,
        }
    }

    /// Also returns the first `len` bytes of the buffer.
    pub fn with_data(mut self, len: usize) -> Reply {
        self.len = len;
        self
    }
}

/// A server: handles one request, writing any reply bytes into `buffer`.
pub trait Server {
    fn handle(&mut self, request: &Request, buffer: &mut [u8]) -> Reply;
}

/// Serves requests on `endpoint` forever.
pub fn serve(endpoint: Handle, server: &mut impl Server) -> ! {
    let mut buffer = [0u8; MAX_BUFFER];
    let mut reply = Reply::default();
    loop {
        let received = ipc::reply_recv(endpoint, &reply.msg, &mut buffer, reply.len);
        let request = match received {
            Ok(r) => Request {
                badge: r.badge,
                label: r.label,
                words: r.words,
                word_count: r.word_count,
                len: r.data.len(),
                from_kernel: r.from_kernel,
                handle: r.handle,
            },
            // Our reply was refused (too long for the caller, or a bad
            // handle): the caller is still waiting; drop the reply and go on.
            Err(Error::TOOLONG | Error::TABLEFULL | Error::BADHANDLE | Error::NORIGHTS | Error::INVAL)
                if reply != Reply::default() =>
            {
                reply = Reply::default();
                continue;
            }
            Err(error) => panic!("serving handle {endpoint:#x}: {error:?}"),
        };
        reply = server.handle(&request, &mut buffer);
        reply.len = reply.len.min(MAX_BUFFER);
    }
}
