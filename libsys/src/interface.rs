//! Typed IPC interfaces: an interface is declared once with
//! [`interface!`](crate::interface!), as Rust operations with typed
//! arguments and results, and the declaration gives both the client stub and
//! the server's dispatch, so the two cannot disagree on labels or message
//! layout.
//!
//! # Declaring an interface
//!
//! ```
//! use libsys::interface::{Bytes, PassedHandle};
//!
//! libsys::interface! {
//!     /// A key-value store.
//!     pub mod store {
//!         /// Stores `value` under `key`; returns the value it replaces.
//!         fn put(key: u32, value: u64) -> Option<u64> = 1;
//!         /// The value under `key`.
//!         fn get(key: u32) -> u64 = 2;
//!         /// Stores the bytes of `name` under `key`; returns how many.
//!         fn name(key: u32, name: &[u8]) -> usize = 3;
//!         /// The bytes stored under `key`.
//!         fn read_name(key: u32) -> Bytes<16> = 4;
//!         /// Keeps a handle for later (the server owns it from then on).
//!         fn subscribe(events: PassedHandle) = 5;
//!     }
//! }
//! # fn main() {}
//! ```
//!
//! `store` is a module holding:
//!
//! - `store::Client`: `Client::new(handle)`, then one method per operation,
//!   `client.put(7, 42)` returning `libsys::Result<Option<u64>>`;
//! - `store::Server`: a trait with one method per operation, `fn put(&mut
//!   self, key: u32, value: u64) -> libsys::Result<Option<u64>>`, and the
//!   hooks `mismatch` and `reply_refused` (both do nothing unless
//!   overridden);
//! - `store::serve(endpoint, &mut server)`: serves the interface forever
//!   ([`crate::server::serve`] with the dispatch);
//! - `store::dispatch(&mut server, &request, &mut buffer)`: one request,
//!   for servers that serve more than one interface, and for tests on the
//!   host;
//! - `store::label::put` (each operation's label) and `store::OPERATIONS`
//!   (names and labels).
//!
//! An operation is `fn NAME(ARGUMENT: TYPE, ...) -> RESULTS = LABEL;`
//! (without `-> RESULTS` it returns `()`). Labels are distinct integer
//! literals other than [`abi::message::ERROR_LABEL`]. Arguments are of
//! these types, results one of them, a tuple of up to six, or `()`:
//!
//! | type | travels as |
//! |---|---|
//! | `u8` to `u64`, `usize`, `i8` to `i64`, `isize`, `bool`, `Option` of one ([`Word`]) | one word |
//! | `[T; N]` of a [`Word`] type | `N` words |
//! | `&[u8]` (arguments only) | the message's bytes |
//! | [`Bytes<N>`] | the message's bytes, at most `N` (copied) |
//! | [`PassedHandle`] | a passed handle, in word 0 |
//!
//! A message has at most six words (a handle counts as one), one byte
//! slice and one handle; a declaration that needs more does not compile:
//!
//! ```compile_fail,E0080
//! libsys::interface! {
//!     mod too_big {
//!         /// Seven words: more than a message holds.
//!         fn seven(a: u64, b: u64, c: u64, d: u64, e: u64, f: u64, g: u64) = 1;
//!     }
//! }
//! # fn main() {}
//! ```
//!
//! Neither does one whose labels repeat (or use the error reply's):
//!
//! ```compile_fail,E0080
//! libsys::interface! {
//!     mod twice {
//!         fn one() = 1;
//!         fn other() = 1;
//!     }
//! }
//! # fn main() {}
//! ```
//!
//! An operation that returns bytes sends at most as many as it returns (its
//! client stub has a buffer of `N` bytes for both; more is ETOOLONG before
//! anything is sent).
//!
//! # On the wire, and when it goes wrong
//!
//! A request has the operation's label, the word arguments in order (after
//! the handle, if one is passed), and the byte argument as its bytes; the
//! reply has the same label and the results the same way. Nothing else is
//! accepted: word count, bytes and handle must be exactly what the
//! operation declares, and each word must be a value of its type.
//!
//! - A request with a label of no operation is answered with an ENOSYS
//!   error reply ([`Mismatch::UnknownOperation`]); one of the wrong shape
//!   with an EINVAL error reply ([`Mismatch::Shape`]). The client's call
//!   returns that error, and the server's `mismatch` hook hears of it.
//! - An operation that returns `Err(error)` is answered with an error reply
//!   carrying `error` (see [`crate::server::Reply::error`]); the client's
//!   call returns it.
//! - A reply of the wrong shape (another label, other words) is EINVAL for
//!   the client; errors of the call itself (EPEERGONE, ETOOLONG, ...) are
//!   returned as they come.
//! - A [`PassedHandle`] argument belongs to the operation once it is
//!   called: it keeps it or closes it, whatever it returns. A handle that
//!   comes with a request that does not fit is closed.

use crate::ipc::{self, Msg, Received};
use crate::server::{Reply, Request};
use abi::message::{ERROR_LABEL, MAX_BUFFER, MAX_WORDS};
use abi::{Error, Handle};
use core::fmt;

/// A value that travels as one message word.
pub trait Word: Copy + Default {
    /// The word.
    fn to_word(self) -> u64;
    /// The value of a word; `None` if the word is no value of this type.
    fn from_word(word: u64) -> Option<Self>;
}

macro_rules! unsigned_words {
    ($($type:ty),*) => {$(
        impl Word for $type {
            fn to_word(self) -> u64 {
                self as u64
            }
            fn from_word(word: u64) -> Option<Self> {
                <$type>::try_from(word).ok()
            }
        }
    )*};
}

macro_rules! signed_words {
    ($($type:ty),*) => {$(
        /// Sign-extended to 64 bits.
        impl Word for $type {
            fn to_word(self) -> u64 {
                self as i64 as u64
            }
            fn from_word(word: u64) -> Option<Self> {
                <$type>::try_from(word as i64).ok()
            }
        }
    )*};
}

unsigned_words!(u8, u16, u32, u64, usize);
signed_words!(i8, i16, i32, i64, isize);

/// 0 or 1.
impl Word for bool {
    fn to_word(self) -> u64 {
        self as u64
    }
    fn from_word(word: u64) -> Option<Self> {
        match word {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
}

/// One word: `None` is `u64::MAX`, which is therefore no value of `T`
/// (so `Option<u64>` cannot carry `u64::MAX`, nor `Option<i64>` -1).
impl<T: Word> Word for Option<T> {
    fn to_word(self) -> u64 {
        self.map_or(u64::MAX, |value| {
            let word = value.to_word();
            debug_assert_ne!(word, u64::MAX, "Some(value) whose word is the None word");
            word
        })
    }
    fn from_word(word: u64) -> Option<Self> {
        match word {
            u64::MAX => Some(None),
            word => T::from_word(word).map(Some),
        }
    }
}

/// A copy of one of the sender's handles, passed with a message (it needs
/// the TRANSFER right). The receiver finds its own handle number in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PassedHandle(pub Handle);

/// Up to `N` bytes, owned: the results' byte slice (and an argument's, when
/// it must be owned). `N` is at most 4096.
#[derive(Clone, Copy)]
pub struct Bytes<const N: usize> {
    data: [u8; N],
    len: usize,
}

impl<const N: usize> Bytes<N> {
    /// `N`, checked at compile time against the largest message.
    const CAPACITY: usize = {
        assert!(N <= MAX_BUFFER, "Bytes<N> holds at most 4096 bytes");
        N
    };

    /// No bytes.
    pub const fn new() -> Bytes<N> {
        Bytes { data: [0; N], len: 0 }
    }

    /// A copy of `bytes`; ETOOLONG if there are more than `N`.
    pub fn from_slice(bytes: &[u8]) -> Result<Bytes<N>, Error> {
        let mut out = Bytes::new();
        out.data
            .get_mut(..bytes.len())
            .ok_or(Error::TOOLONG)?
            .copy_from_slice(bytes);
        out.len = bytes.len();
        Ok(out)
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.data[..self.len]
    }
}

impl<const N: usize> Default for Bytes<N> {
    fn default() -> Self {
        Bytes::new()
    }
}

impl<const N: usize> core::ops::Deref for Bytes<N> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl<const N: usize> PartialEq for Bytes<N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<const N: usize> Eq for Bytes<N> {}

impl<const N: usize> fmt::Debug for Bytes<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_slice(), f)
    }
}

/// What a list of arguments or results takes of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Words (not counting a handle's).
    pub words: usize,
    /// Byte slices.
    pub slices: usize,
    /// Bytes the byte slice may have at most (0 when there is none, or when
    /// a borrowed slice may have any number).
    pub capacity: usize,
    /// Handles.
    pub handles: usize,
}

impl Shape {
    /// Nothing.
    pub const EMPTY: Shape = Shape {
        words: 0,
        slices: 0,
        capacity: 0,
        handles: 0,
    };

    /// This and `other` in one message.
    pub const fn and(self, other: Shape) -> Shape {
        Shape {
            words: self.words + other.words,
            slices: self.slices + other.slices,
            capacity: self.capacity + other.capacity,
            handles: self.handles + other.handles,
        }
    }

    /// Whether it fits one message: six words with the handle's, one byte
    /// slice, one handle.
    pub const fn fits(self) -> bool {
        self.words + self.handles <= MAX_WORDS && self.slices <= 1 && self.handles <= 1
    }

    /// The shape of `shapes` together.
    pub const fn all(shapes: &[Shape]) -> Shape {
        let mut sum = Shape::EMPTY;
        let mut i = 0;
        while i < shapes.len() {
            sum = sum.and(shapes[i]);
            i += 1;
        }
        sum
    }
}

/// Why a message does not fit an interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mismatch {
    /// No operation has the label. Answered with ENOSYS.
    UnknownOperation {
        /// The request's label.
        label: u32,
    },
    /// The message does not have the operation's shape. Answered with
    /// EINVAL.
    Shape {
        /// The operation's label.
        label: u32,
        /// What is wrong: `"words"`, `"bytes"`, `"handle"`, `"value"`.
        what: &'static str,
    },
}

impl Mismatch {
    /// The error both sides see: ENOSYS for an unknown operation, EINVAL
    /// for a message of the wrong shape.
    pub const fn error(self) -> Error {
        match self {
            Mismatch::UnknownOperation { .. } => Error::NOSYS,
            Mismatch::Shape { .. } => Error::INVAL,
        }
    }
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Mismatch::UnknownOperation { label } => write!(f, "no operation has label {label}"),
            Mismatch::Shape { label, what } => write!(f, "the message with label {label} has the wrong {what}"),
        }
    }
}

/// Builds a message from arguments or results.
#[derive(Clone, Copy, Debug)]
pub struct Encoder<'e> {
    label: u32,
    words: [u64; MAX_WORDS],
    count: usize,
    bytes: Option<&'e [u8]>,
    handle: Option<Handle>,
    overflow: bool,
}

impl<'e> Encoder<'e> {
    /// An empty message with `label`.
    pub const fn new(label: u32) -> Encoder<'e> {
        Encoder {
            label,
            words: [0; MAX_WORDS],
            count: 0,
            bytes: None,
            handle: None,
            overflow: false,
        }
    }

    /// Adds a word.
    pub fn word(&mut self, word: u64) {
        match self.words.get_mut(self.count) {
            Some(slot) => *slot = word,
            None => self.overflow = true,
        }
        self.count += 1;
    }

    /// Sets the bytes.
    pub fn bytes(&mut self, bytes: &'e [u8]) {
        self.overflow |= self.bytes.replace(bytes).is_some();
    }

    /// Sets the handle to pass.
    pub fn handle(&mut self, handle: Handle) {
        self.overflow |= self.handle.replace(handle).is_some();
    }

    /// The label.
    pub const fn label(&self) -> u32 {
        self.label
    }

    /// The bytes, if any were set.
    pub fn data(&self) -> Option<&'e [u8]> {
        self.bytes
    }

    /// The message (without its bytes); EINVAL if it does not fit one.
    pub fn msg(&self) -> Result<Msg, Error> {
        let with_handle = self.handle.is_some() as usize;
        if self.overflow || self.count + with_handle > MAX_WORDS {
            return Err(Error::INVAL);
        }
        let mut words = [0; MAX_WORDS];
        words[with_handle..with_handle + self.count].copy_from_slice(&self.words[..self.count]);
        let msg = Msg::with_words(self.label, &words[..with_handle + self.count]);
        Ok(match self.handle {
            Some(handle) => msg.passing(handle),
            None => msg,
        })
    }
}

/// Takes arguments or results out of a message, checking its shape.
#[derive(Clone, Debug)]
pub struct Decoder<'a> {
    label: u32,
    words: [u64; MAX_WORDS],
    count: usize,
    next: usize,
    bytes: &'a [u8],
    bytes_taken: bool,
    handle: Option<Handle>,
    handle_taken: bool,
}

impl<'a> Decoder<'a> {
    /// A decoder of a message with `label`, `words` (word 0 is the handle
    /// if one came), a handle and the bytes.
    pub fn new(label: u32, words: &[u64], handle: Option<Handle>, bytes: &'a [u8]) -> Decoder<'a> {
        let skip = (handle.is_some() as usize).min(words.len());
        let words = &words[skip..words.len().min(MAX_WORDS)];
        let mut array = [0; MAX_WORDS];
        array[..words.len()].copy_from_slice(words);
        Decoder {
            label,
            words: array,
            count: words.len(),
            next: 0,
            bytes,
            bytes_taken: false,
            handle,
            handle_taken: false,
        }
    }

    /// A decoder of a request whose bytes are `buffer[..request.len]`.
    pub fn request(request: &Request, buffer: &'a [u8]) -> Decoder<'a> {
        let len = request.len.min(buffer.len());
        Decoder::new(request.label, request.words(), request.handle, &buffer[..len])
    }

    /// A decoder of a reply.
    pub fn reply(reply: &Received<'a>) -> Decoder<'a> {
        Decoder::new(reply.label, reply.words(), reply.handle, reply.data)
    }

    fn mismatch(&self, what: &'static str) -> Mismatch {
        Mismatch::Shape {
            label: self.label,
            what,
        }
    }

    /// The next word.
    pub fn word(&mut self) -> Result<u64, Mismatch> {
        if self.next == self.count {
            return Err(self.mismatch("words"));
        }
        self.next += 1;
        Ok(self.words[self.next - 1])
    }

    /// The next word as a `T`.
    pub fn value<T: Word>(&mut self) -> Result<T, Mismatch> {
        let word = self.word()?;
        T::from_word(word).ok_or(self.mismatch("value"))
    }

    /// The bytes (once).
    pub fn bytes(&mut self) -> Result<&'a [u8], Mismatch> {
        if self.bytes_taken {
            return Err(self.mismatch("bytes"));
        }
        self.bytes_taken = true;
        Ok(self.bytes)
    }

    /// The passed handle.
    pub fn handle(&mut self) -> Result<Handle, Mismatch> {
        match self.handle {
            Some(handle) if !self.handle_taken => {
                self.handle_taken = true;
                Ok(handle)
            }
            _ => Err(self.mismatch("handle")),
        }
    }

    /// Checks that everything was taken: no words, bytes or handle more
    /// than the operation declares.
    pub fn finish(&self) -> Result<(), Mismatch> {
        if self.next != self.count {
            Err(self.mismatch("words"))
        } else if !self.bytes_taken && !self.bytes.is_empty() {
            Err(self.mismatch("bytes"))
        } else if self.handle.is_some() && !self.handle_taken {
            Err(self.mismatch("handle"))
        } else {
            Ok(())
        }
    }
}

/// A type an operation's arguments (and results) may have: how it goes into
/// a message and comes out of one.
pub trait Arg<'a>: Sized {
    /// What it takes of a message.
    const SHAPE: Shape;
    /// Puts it into a message.
    fn encode<'e>(&'e self, message: &mut Encoder<'e>);
    /// Takes it out of a message.
    fn decode(message: &mut Decoder<'a>) -> Result<Self, Mismatch>;
}

impl<'a, T: Word> Arg<'a> for T {
    const SHAPE: Shape = Shape {
        words: 1,
        ..Shape::EMPTY
    };

    fn encode<'e>(&'e self, message: &mut Encoder<'e>) {
        message.word(self.to_word());
    }

    fn decode(message: &mut Decoder<'a>) -> Result<Self, Mismatch> {
        message.value()
    }
}

impl<'a, T: Word, const N: usize> Arg<'a> for [T; N] {
    const SHAPE: Shape = Shape {
        words: N,
        ..Shape::EMPTY
    };

    fn encode<'e>(&'e self, message: &mut Encoder<'e>) {
        for value in self {
            message.word(value.to_word());
        }
    }

    fn decode(message: &mut Decoder<'a>) -> Result<Self, Mismatch> {
        let mut values = [T::default(); N];
        for value in &mut values {
            *value = message.value()?;
        }
        Ok(values)
    }
}

impl<'a> Arg<'a> for &'a [u8] {
    const SHAPE: Shape = Shape {
        slices: 1,
        ..Shape::EMPTY
    };

    fn encode<'e>(&'e self, message: &mut Encoder<'e>) {
        message.bytes(self);
    }

    fn decode(message: &mut Decoder<'a>) -> Result<Self, Mismatch> {
        message.bytes()
    }
}

impl<'a, const N: usize> Arg<'a> for Bytes<N> {
    const SHAPE: Shape = Shape {
        slices: 1,
        capacity: Bytes::<N>::CAPACITY,
        ..Shape::EMPTY
    };

    fn encode<'e>(&'e self, message: &mut Encoder<'e>) {
        message.bytes(self.as_slice());
    }

    fn decode(message: &mut Decoder<'a>) -> Result<Self, Mismatch> {
        let bytes = message.bytes()?;
        Bytes::from_slice(bytes).map_err(|_| message.mismatch("bytes"))
    }
}

impl<'a> Arg<'a> for PassedHandle {
    const SHAPE: Shape = Shape {
        handles: 1,
        ..Shape::EMPTY
    };

    fn encode<'e>(&'e self, message: &mut Encoder<'e>) {
        message.handle(self.0);
    }

    fn decode(message: &mut Decoder<'a>) -> Result<Self, Mismatch> {
        message.handle().map(PassedHandle)
    }
}

/// What an operation may return: `()`, one owned [`Arg`] type, or a tuple
/// of up to six.
pub trait Results: Sized {
    /// What it takes of a message.
    const SHAPE: Shape;
    /// Bytes its byte slice may have at most (the client's buffer).
    const BYTES: usize = Self::SHAPE.capacity;
    /// Puts it into a message.
    fn encode<'e>(&'e self, message: &mut Encoder<'e>);
    /// Takes it out of a message.
    fn decode(message: &mut Decoder<'_>) -> Result<Self, Mismatch>;
}

impl Results for () {
    const SHAPE: Shape = Shape::EMPTY;

    fn encode<'e>(&'e self, _: &mut Encoder<'e>) {}

    fn decode(_: &mut Decoder<'_>) -> Result<Self, Mismatch> {
        Ok(())
    }
}

impl<T: for<'a> Arg<'a>> Results for T {
    const SHAPE: Shape = <T as Arg<'static>>::SHAPE;

    fn encode<'e>(&'e self, message: &mut Encoder<'e>) {
        Arg::encode(self, message);
    }

    fn decode(message: &mut Decoder<'_>) -> Result<Self, Mismatch> {
        Arg::decode(message)
    }
}

macro_rules! tuple_results {
    ($($name:ident),+) => {
        impl<$($name: for<'a> Arg<'a>),+> Results for ($($name,)+) {
            const SHAPE: Shape = Shape::all(&[$(<$name as Arg<'static>>::SHAPE),+]);

            #[allow(non_snake_case)]
            fn encode<'e>(&'e self, message: &mut Encoder<'e>) {
                let ($($name,)+) = self;
                $(Arg::encode($name, message);)+
            }

            fn decode(message: &mut Decoder<'_>) -> Result<Self, Mismatch> {
                Ok(($(<$name as Arg>::decode(message)?,)+))
            }
        }
    };
}

tuple_results!(A);
tuple_results!(A, B);
tuple_results!(A, B, C);
tuple_results!(A, B, C, D);
tuple_results!(A, B, C, D, E);
tuple_results!(A, B, C, D, E, F);

/// Checks an interface's labels at compile time: distinct, and none is
/// [`ERROR_LABEL`].
pub const fn check_labels(labels: &[u32]) {
    let mut i = 0;
    while i < labels.len() {
        assert!(labels[i] != ERROR_LABEL, "an operation uses the error reply's label");
        let mut j = i + 1;
        while j < labels.len() {
            assert!(labels[i] != labels[j], "two operations have the same label");
            j += 1;
        }
        i += 1;
    }
}

/// Checks an operation's arguments and results at compile time: each fits
/// one message.
pub const fn check_operation(arguments: &[Shape], results: Shape) {
    let arguments = Shape::all(arguments);
    assert!(
        arguments.fits(),
        "an operation's arguments take more than one message: at most six words (a handle counts as one), \
         one byte slice, one handle"
    );
    assert!(
        results.fits(),
        "an operation's results take more than one message: at most six words (a handle counts as one), \
         one byte slice, one handle"
    );
}

/// The client side of an operation: sends `message` and decodes the reply
/// as `R`. `buffer` receives the reply's bytes (`R::BYTES` of them); an
/// operation with byte arguments and byte results sends its bytes from it
/// too.
pub fn call<R: Results>(handle: Handle, message: &Encoder<'_>, buffer: &mut [u8]) -> Result<R, Error> {
    let msg = message.msg()?;
    let reply = match (message.data(), buffer.is_empty()) {
        (None, true) => ipc::call_words(handle, &msg)?,
        (Some(bytes), true) => ipc::call_sending(handle, &msg, bytes)?,
        (bytes, false) => {
            let bytes = bytes.unwrap_or(&[]);
            buffer
                .get_mut(..bytes.len())
                .ok_or(Error::TOOLONG)?
                .copy_from_slice(bytes);
            ipc::call(handle, &msg, buffer, bytes.len())?
        }
    };
    decode_reply(message.label(), &reply)
}

/// The results a reply to the operation with `label` carries.
fn decode_reply<R: Results>(label: u32, reply: &Received<'_>) -> Result<R, Error> {
    if reply.label != label {
        return Err(Error::INVAL);
    }
    let mut decoder = Decoder::reply(reply);
    let results = R::decode(&mut decoder).map_err(Mismatch::error)?;
    decoder.finish().map_err(Mismatch::error)?;
    Ok(results)
}

/// The server side of an operation: the reply to the request with `label`
/// whose operation returned `result`. `keep_handle` keeps the handle that
/// came with the request (the operation took it).
pub fn reply<R: Results>(label: u32, result: Result<R, Error>, buffer: &mut [u8], keep_handle: bool) -> Reply {
    let reply = match result {
        Ok(results) => {
            let mut message = Encoder::new(label);
            results.encode(&mut message);
            let bytes = message.data().unwrap_or(&[]);
            match (message.msg(), buffer.get_mut(..bytes.len())) {
                (Ok(msg), Some(space)) => {
                    space.copy_from_slice(bytes);
                    Reply {
                        msg,
                        len: bytes.len(),
                        keep_handle: false,
                    }
                }
                (Err(error), _) => Reply::error(error),
                (_, None) => Reply::error(Error::TOOLONG),
            }
        }
        Err(error) => Reply::error(error),
    };
    Reply { keep_handle, ..reply }
}

/// Declares a typed IPC interface; see the [module documentation](mod@crate::interface).
///
/// ```
/// libsys::interface! {
///     /// Adds numbers.
///     pub mod adder {
///         /// `a + b`, or EINVAL if it overflows.
///         fn add(a: u64, b: u64) -> u64 = 1;
///     }
/// }
///
/// struct Adder;
///
/// impl adder::Server for Adder {
///     fn add(&mut self, a: u64, b: u64) -> libsys::Result<u64> {
///         a.checked_add(b).ok_or(libsys::Error::INVAL)
///     }
/// }
///
/// // A request as a client's `adder::Client::new(handle).add(2, 3)` sends it,
/// // dispatched here on the host:
/// use libsys::server::Request;
/// let mut buffer = [0u8; 16];
/// let reply = adder::dispatch(&mut Adder, &Request::new(adder::label::add, &[2, 3], 0), &mut buffer).unwrap();
/// assert_eq!(reply.msg.words[..reply.msg.word_count], [5]);
/// // Three words where `add` takes two: the client gets EINVAL.
/// let wrong = adder::dispatch(&mut Adder, &Request::new(adder::label::add, &[2, 3, 4], 0), &mut buffer);
/// assert_eq!(wrong.unwrap_err().error(), libsys::Error::INVAL);
/// ```
#[macro_export]
macro_rules! interface {
    (
        $(#[$meta:meta])*
        $vis:vis mod $name:ident {
            $(
                $(#[$op_meta:meta])*
                fn $op:ident ( $( $arg:ident : $arg_ty:ty ),* $(,)? ) $( -> $ret:ty )? = $label:literal ;
            )*
        }
    ) => {
        $(#[$meta])*
        $vis mod $name {
            #[allow(unused_imports)]
            use super::*;

            /// The label of each operation.
            pub mod label {
                $(
                    #[allow(non_upper_case_globals)]
                    #[doc = concat!("The label of `", stringify!($op), "`.")]
                    pub const $op: u32 = $label;
                )*
            }

            /// Every operation's name and label.
            pub const OPERATIONS: &[(&str, u32)] = &[$((stringify!($op), $label)),*];

            const _: () = {
                $crate::interface::check_labels(&[$($label),*]);
                $(
                    $crate::interface::check_operation(
                        &[$(<$arg_ty as $crate::interface::Arg>::SHAPE),*],
                        <$crate::__interface_results!($($ret)?) as $crate::interface::Results>::SHAPE,
                    );
                )*
            };

            /// A client of the interface: calls its operations through a
            /// SEND handle to a server of it.
            #[derive(Clone, Copy, Debug, PartialEq, Eq)]
            pub struct Client {
                handle: $crate::Handle,
            }

            impl Client {
                /// A client calling through `handle`.
                pub const fn new(handle: $crate::Handle) -> Client {
                    Client { handle }
                }

                /// The handle it calls through.
                pub const fn handle(&self) -> $crate::Handle {
                    self.handle
                }

                $(
                    $(#[$op_meta])*
                    pub fn $op(&self $(, $arg: $arg_ty)*) -> $crate::Result<$crate::__interface_results!($($ret)?)> {
                        type Results = $crate::__interface_results!($($ret)?);
                        #[allow(unused_mut)]
                        let mut message = $crate::interface::Encoder::new(label::$op);
                        $($crate::interface::Arg::encode(&$arg, &mut message);)*
                        let mut buffer = [0u8; <Results as $crate::interface::Results>::BYTES];
                        $crate::interface::call::<Results>(self.handle, &message, &mut buffer)
                    }
                )*
            }

            /// A server of the interface: one method per operation, and
            /// hooks for requests that do not fit, replies that were
            /// refused and notifications bound to its endpoint.
            pub trait Server {
                $(
                    $(#[$op_meta])*
                    fn $op(&mut self $(, $arg: $arg_ty)*) -> $crate::Result<$crate::__interface_results!($($ret)?)>;
                )*

                /// A request did not fit the interface; its client got
                /// `mismatch.error()`. Does nothing unless overridden.
                fn mismatch(&mut self, mismatch: $crate::interface::Mismatch) {
                    let _ = mismatch;
                }

                /// A reply was refused (see
                /// `libsys::server::Server::reply_refused`). Does nothing
                /// unless overridden.
                fn reply_refused(&mut self, error: $crate::Error) {
                    let _ = error;
                }

                /// The notification bound to the endpoint was signalled
                /// with `bits` (see `libsys::server::Server::notification`).
                /// Does nothing unless overridden.
                fn notification(&mut self, bits: u64) {
                    let _ = bits;
                }
            }

            /// Answers one request: decodes it, calls the operation of
            /// `server`, and returns the reply, whose bytes are in `buffer`.
            /// A request that does not fit the interface is an `Err`, to
            /// answer with an error reply of `mismatch.error()`.
            pub fn dispatch<S: Server + ?Sized>(
                server: &mut S,
                request: &$crate::server::Request,
                buffer: &mut [u8],
            ) -> ::core::result::Result<$crate::server::Reply, $crate::interface::Mismatch> {
                match request.label {
                    $(
                        $label => {
                            type Results = $crate::__interface_results!($($ret)?);
                            let result = {
                                #[allow(unused_mut)]
                                let mut decoder = $crate::interface::Decoder::request(request, buffer);
                                $(let $arg: $arg_ty = $crate::interface::Arg::decode(&mut decoder)?;)*
                                decoder.finish()?;
                                server.$op($($arg),*)
                            };
                            Ok($crate::interface::reply::<Results>(
                                label::$op,
                                result,
                                buffer,
                                request.handle.is_some(),
                            ))
                        }
                    )*
                    label => Err($crate::interface::Mismatch::UnknownOperation { label }),
                }
            }

            /// A [`Server`] of the interface as a `libsys::server::Server`:
            /// requests that do not fit get their error reply and go to
            /// [`Server::mismatch`].
            pub struct Dispatcher<'s, S: Server + ?Sized>(pub &'s mut S);

            impl<S: Server + ?Sized> $crate::server::Server for Dispatcher<'_, S> {
                fn handle(&mut self, request: &$crate::server::Request, buffer: &mut [u8]) -> $crate::server::Reply {
                    match dispatch(self.0, request, buffer) {
                        Ok(reply) => reply,
                        Err(mismatch) => {
                            self.0.mismatch(mismatch);
                            $crate::server::Reply::error(mismatch.error())
                        }
                    }
                }

                fn reply_refused(&mut self, error: $crate::Error) {
                    self.0.reply_refused(error);
                }

                fn notification(&mut self, bits: u64) {
                    self.0.notification(bits);
                }
            }

            /// Serves the interface on `endpoint` forever
            /// (`libsys::server::serve` with [`dispatch`]).
            pub fn serve(endpoint: $crate::Handle, server: &mut impl Server) -> ! {
                $crate::server::serve(endpoint, &mut Dispatcher(server))
            }
        }
    };
}

/// The results type of an operation: `()` when it declares none.
#[doc(hidden)]
#[macro_export]
macro_rules! __interface_results {
    () => {
        ()
    };
    ($ret:ty) => {
        $ret
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raw::IpcRegs;

    crate::interface! {
        /// Every kind of argument and result (the client and `serve` are
        /// not used on the host).
        #[allow(dead_code)]
        mod kinds {
            fn small(a: u8, b: i16, c: bool) -> (u8, i16, bool) = 1;
            fn maybe(value: Option<u64>) -> Option<u64> = 2;
            fn pair(values: [u32; 2]) -> [u32; 2] = 3;
            fn upper(text: &[u8]) -> Bytes<8> = 4;
            fn count(text: &[u8]) -> usize = 5;
            fn keep(handle: PassedHandle, tag: u64) -> (PassedHandle, u64) = 6;
            fn fail(code: u64) = 7;
            fn six(a: u64, b: u64, c: u64, d: u64, e: u64, f: u64) -> [u64; 6] = 8;
        }
    }

    #[derive(Default)]
    struct Kinds {
        mismatches: Vec<Mismatch>,
    }

    impl kinds::Server for Kinds {
        fn small(&mut self, a: u8, b: i16, c: bool) -> crate::Result<(u8, i16, bool)> {
            Ok((a + 1, -b, !c))
        }
        fn maybe(&mut self, value: Option<u64>) -> crate::Result<Option<u64>> {
            Ok(value.map(|v| v * 2))
        }
        fn pair(&mut self, [a, b]: [u32; 2]) -> crate::Result<[u32; 2]> {
            Ok([b, a])
        }
        fn upper(&mut self, text: &[u8]) -> crate::Result<Bytes<8>> {
            let mut out = Bytes::<8>::from_slice(text)?;
            out.data.iter_mut().for_each(|b| *b = b.to_ascii_uppercase());
            Ok(out)
        }
        fn count(&mut self, text: &[u8]) -> crate::Result<usize> {
            Ok(text.len())
        }
        fn keep(&mut self, handle: PassedHandle, tag: u64) -> crate::Result<(PassedHandle, u64)> {
            Ok((handle, tag))
        }
        fn fail(&mut self, code: u64) -> crate::Result<()> {
            Err(Error::from_code(code).unwrap_or(Error::INVAL))
        }
        fn six(&mut self, a: u64, b: u64, c: u64, d: u64, e: u64, f: u64) -> crate::Result<[u64; 6]> {
            Ok([f, e, d, c, b, a])
        }
        fn mismatch(&mut self, mismatch: Mismatch) {
            self.mismatches.push(mismatch);
        }
    }

    /// The request the kernel delivers for `message`, with its bytes in
    /// `buffer`.
    fn deliver(message: &Encoder<'_>, buffer: &mut [u8]) -> Request {
        let msg = message.msg().expect("a message that fits");
        let bytes = message.data().unwrap_or(&[]);
        buffer[..bytes.len()].copy_from_slice(bytes);
        let request = Request::new(msg.label, &msg.words[..msg.word_count], bytes.len());
        match msg.handle {
            Some(handle) => request.passing(handle),
            None => request,
        }
    }

    /// What the client's stub makes of `reply`: its error, or the results.
    fn receive<R: Results>(label: u32, reply: Reply, buffer: &[u8]) -> Result<R, Error> {
        let regs = IpcRegs {
            info: reply.msg.info(reply.len).0,
            words: reply.msg.words,
            ..IpcRegs::default()
        };
        let received = Received::new(&regs, buffer, 0);
        if let Some(error) = abi::message::reply_error(regs.info.into_info(), regs.words[0]) {
            return Err(error);
        }
        decode_reply(label, &received)
    }

    trait IntoInfo {
        fn into_info(self) -> abi::MsgInfo;
    }

    impl IntoInfo for u64 {
        fn into_info(self) -> abi::MsgInfo {
            abi::MsgInfo(self)
        }
    }

    /// A whole call on the host: the client's message, the server's
    /// dispatch (and its error reply for a mismatch), the client's decoding.
    fn round_trip<R: Results>(server: &mut Kinds, message: &Encoder<'_>) -> Result<R, Error> {
        let mut buffer = [0u8; 64];
        let request = deliver(message, &mut buffer);
        let reply = match kinds::dispatch(server, &request, &mut buffer) {
            Ok(reply) => reply,
            Err(mismatch) => {
                kinds::Server::mismatch(server, mismatch);
                Reply::error(mismatch.error())
            }
        };
        receive(message.label(), reply, &buffer)
    }

    macro_rules! message {
        ($label:expr $(, $arg:expr)*) => {{
            let mut message = Encoder::new($label);
            $(Arg::encode(&$arg, &mut message);)*
            message
        }};
    }

    #[test]
    fn every_kind_round_trips() {
        let mut server = Kinds::default();
        let s = &mut server;
        assert_eq!(
            round_trip::<(u8, i16, bool)>(s, &message!(kinds::label::small, 7u8, -300i16, true)),
            Ok((8, 300, false))
        );
        assert_eq!(round_trip::<Option<u64>>(s, &message!(2, Some(21u64))), Ok(Some(42)));
        assert_eq!(round_trip::<Option<u64>>(s, &message!(2, None::<u64>)), Ok(None));
        assert_eq!(round_trip::<[u32; 2]>(s, &message!(3, [1u32, 2])), Ok([2, 1]));
        let (abc, four): (&[u8], &[u8]) = (b"abc", b"four");
        let upper = round_trip::<Bytes<8>>(s, &message!(4, abc)).unwrap();
        assert_eq!(&*upper, b"ABC");
        assert_eq!(round_trip::<usize>(s, &message!(5, four)), Ok(4));
        assert_eq!(
            round_trip::<(PassedHandle, u64)>(s, &message!(6, PassedHandle(0x105), 9u64)),
            Ok((PassedHandle(0x105), 9))
        );
        assert_eq!(
            round_trip::<[u64; 6]>(s, &message!(8, 1u64, 2u64, 3u64, 4u64, 5u64, 6u64)),
            Ok([6, 5, 4, 3, 2, 1])
        );
        assert!(server.mismatches.is_empty());
    }

    #[test]
    fn an_operations_error_reaches_the_client() {
        let mut server = Kinds::default();
        assert_eq!(
            round_trip::<()>(&mut server, &message!(7, Error::DENIED as u64)),
            Err(Error::DENIED)
        );
        // Too many bytes for the results: an error too, not a cut.
        let nine: &[u8] = b"ninebytes";
        assert_eq!(
            round_trip::<Bytes<8>>(&mut server, &message!(4, nine)),
            Err(Error::TOOLONG)
        );
    }

    #[test]
    fn mismatches_are_errors_on_both_sides() {
        let mut server = Kinds::default();
        let x: &[u8] = b"x";
        let cases: [(Encoder<'_>, Mismatch); 7] = [
            (message!(99, 1u64), Mismatch::UnknownOperation { label: 99 }),
            (
                message!(1, 1u8, 2i16),
                Mismatch::Shape {
                    label: 1,
                    what: "words",
                },
            ),
            (
                message!(1, 1u8, 2i16, true, 4u64),
                Mismatch::Shape {
                    label: 1,
                    what: "words",
                },
            ),
            (
                message!(1, 300u64, 2i16, true),
                Mismatch::Shape {
                    label: 1,
                    what: "value",
                },
            ),
            (
                message!(1, 1u8, 2i16, 2u64),
                Mismatch::Shape {
                    label: 1,
                    what: "value",
                },
            ),
            (
                message!(2, 1u64, x),
                Mismatch::Shape {
                    label: 2,
                    what: "bytes",
                },
            ),
            (
                message!(2, 1u64, PassedHandle(3)),
                Mismatch::Shape {
                    label: 2,
                    what: "handle",
                },
            ),
        ];
        for (message, mismatch) in &cases {
            assert_eq!(
                round_trip::<()>(&mut server, message),
                Err(mismatch.error()),
                "{mismatch}"
            );
        }
        let seen: Vec<Mismatch> = cases.iter().map(|(_, m)| *m).collect();
        assert_eq!(server.mismatches, seen);
        assert_eq!(cases[0].1.error(), Error::NOSYS);
        assert_eq!(cases[1].1.error(), Error::INVAL);
        // A handle the operation does not take is not kept (serve closes
        // it); one it takes is.
        let mut buffer = [0u8; 8];
        let request = deliver(&message!(6, PassedHandle(5), 1u64), &mut buffer);
        assert!(kinds::dispatch(&mut server, &request, &mut buffer).unwrap().keep_handle);
    }

    #[test]
    fn a_reply_of_the_wrong_shape_is_einval_for_the_client() {
        let buffer = [0u8; 8];
        // Another label.
        assert_eq!(
            receive::<u64>(5, Reply::with_words(4, &[1]), &buffer),
            Err(Error::INVAL)
        );
        // Too few or too many words, a value out of range.
        assert_eq!(receive::<u64>(5, Reply::label(5), &buffer), Err(Error::INVAL));
        assert_eq!(
            receive::<u64>(5, Reply::with_words(5, &[1, 2]), &buffer),
            Err(Error::INVAL)
        );
        assert_eq!(
            receive::<u8>(5, Reply::with_words(5, &[256]), &buffer),
            Err(Error::INVAL)
        );
        // An error reply is its error.
        assert_eq!(
            receive::<u64>(5, Reply::error(Error::NOMEM), &buffer),
            Err(Error::NOMEM)
        );
        assert_eq!(receive::<u64>(5, Reply::with_words(5, &[1]), &buffer), Ok(1));
    }

    #[test]
    fn shapes_are_counted() {
        assert_eq!(
            <(u64, [u8; 3], Bytes<9>) as Results>::SHAPE,
            Shape {
                words: 4,
                slices: 1,
                capacity: 9,
                handles: 0
            }
        );
        assert_eq!(<Bytes<9> as Results>::BYTES, 9);
        assert_eq!(<(u64, PassedHandle) as Results>::BYTES, 0);
        assert!(
            Shape {
                words: 5,
                handles: 1,
                ..Shape::EMPTY
            }
            .fits()
        );
        assert!(
            !Shape {
                words: 6,
                handles: 1,
                ..Shape::EMPTY
            }
            .fits()
        );
        assert!(
            !Shape {
                slices: 2,
                ..Shape::EMPTY
            }
            .fits()
        );
        assert_eq!(kinds::OPERATIONS[3], ("upper", 4));
    }

    #[test]
    fn words_keep_their_values() {
        assert_eq!(i8::from_word((-5i8).to_word()), Some(-5));
        assert_eq!(i64::from_word(u64::MAX), Some(-1));
        assert_eq!(u8::from_word(256), None);
        assert_eq!(i8::from_word(200), None);
        assert_eq!(bool::from_word(2), None);
        assert_eq!(Option::<u8>::from_word(u64::MAX), Some(None));
        assert_eq!(Option::<u8>::from_word(7), Some(Some(7)));
        assert_eq!(Option::<u8>::from_word(300), None);
    }
}
