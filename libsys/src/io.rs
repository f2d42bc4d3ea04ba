//! `print!`, `println!` and `eprintln!`: formatted output through `write`;
//! [`Stdin`]: lines typed on the console.
//!
//! Each macro call formats into a line buffer and writes it with as few
//! `write` syscalls as possible, so a line normally reaches the console
//! server in one message and stays whole among other programs' output.

use crate::ipc::{self, Msg};
use crate::process::Notification;
use crate::{Error, Handle, Rights, sys};
use abi::console::{ATTACH, INPUT_READY, INTERRUPT, READ};
use abi::message::MAX_BUFFER;
use core::fmt::{self, Write};

/// Bytes buffered before a write is forced.
const LINE: usize = 1024;

/// A formatter that buffers and writes to a file descriptor.
pub struct Writer {
    fd: u64,
    buffer: [u8; LINE],
    len: usize,
}

impl Writer {
    /// A writer to `fd` (1: output, 2: errors), with nothing buffered.
    pub const fn new(fd: u64) -> Writer {
        Writer {
            fd,
            buffer: [0; LINE],
            len: 0,
        }
    }

    /// Writes out what is buffered. Errors (no console) are dropped: output
    /// is best effort, as it is for a program whose stdout is closed.
    pub fn flush(&mut self) {
        let _ = crate::sys::write_all(self.fd, &self.buffer[..self.len]);
        self.len = 0;
    }
}

impl Write for Writer {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for &byte in text.as_bytes() {
            if self.len == LINE {
                self.flush();
            }
            self.buffer[self.len] = byte;
            self.len += 1;
        }
        Ok(())
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if self.len > 0 {
            self.flush();
        }
    }
}

#[doc(hidden)]
pub fn print_to(fd: u64, args: fmt::Arguments) {
    let mut writer = Writer::new(fd);
    let _ = writer.write_fmt(args);
}

/// Prints to the console (fd 1).
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::io::print_to(1, format_args!($($arg)*)) };
}

/// Prints a line to the console (fd 1).
#[macro_export]
macro_rules! println {
    () => { $crate::io::print_to(1, format_args!("\n")) };
    ($($arg:tt)*) => { $crate::io::print_to(1, format_args!("{}\n", format_args!($($arg)*))) };
}

/// Prints a line to the console's error stream (fd 2).
#[macro_export]
macro_rules! eprintln {
    () => { $crate::io::print_to(2, format_args!("\n")) };
    ($($arg:tt)*) => { $crate::io::print_to(2, format_args!("{}\n", format_args!($($arg)*))) };
}

/// Why [`Stdin::read_line`] returned no line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadError {
    /// Ctrl-C was typed: the line being typed is gone.
    Interrupted,
    /// A syscall failed, or the console refused (ENORIGHTS: another
    /// process holds the input now).
    Sys(Error),
}

impl From<Error> for ReadError {
    fn from(error: Error) -> Self {
        ReadError::Sys(error)
    }
}

/// `interrupted`, or the error's name.
impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Interrupted => f.write_str("interrupted"),
            ReadError::Sys(error) => f.write_str(error.name()),
        }
    }
}

/// The console's typed input, a line at a time (the console protocol's
/// `ATTACH` and `READ`, `abi::console`).
///
/// The first read attaches: it makes a notification, passes the console a
/// copy that may only signal it, and from then on the console signals it
/// when a line is ready or Ctrl-C is typed. [`Stdin::notification`] lends it
/// out, so that a program can also have children signal it
/// (`Child::watch`) and wait for "a child ended or Ctrl-C" in one wait;
/// bits other than the console's that [`Stdin::read_line`] finds are kept
/// for [`Stdin::take_signals`].
///
/// ```no_run
/// use libsys::io::{ReadError, Stdin};
///
/// let mut stdin = Stdin::new();
/// let mut line = [0u8; 128];
/// loop {
///     match stdin.read_line(&mut line) {
///         Ok(n) => libsys::print!("you typed {}", core::str::from_utf8(&line[..n]).unwrap_or("?")),
///         Err(ReadError::Interrupted) => libsys::println!("^C"),
///         Err(ReadError::Sys(error)) => break,
///     }
/// }
/// ```
#[derive(Debug)]
pub struct Stdin {
    console: Handle,
    notification: Option<Notification>,
    attached: bool,
    /// Bits of the notification that are not the console's, kept for the
    /// program.
    signals: u64,
    /// Input bytes the console dropped, as its reads reported.
    dropped: u64,
}

impl Default for Stdin {
    fn default() -> Self {
        Stdin::new()
    }
}

impl Stdin {
    /// Input from the console at handle 0 (not attached yet).
    pub const fn new() -> Stdin {
        Stdin::with_console(abi::handle::CONSOLE)
    }

    /// Input from the console at `console`.
    pub const fn with_console(console: Handle) -> Stdin {
        Stdin {
            console,
            notification: None,
            attached: false,
            signals: 0,
            dropped: 0,
        }
    }

    /// Attaches (again): this process takes the input, and a process that
    /// held it is set aside until this one ends. Makes the notification
    /// first if there is none.
    pub fn attach(&mut self) -> Result<(), Error> {
        let notification = match &self.notification {
            Some(notification) => notification,
            None => self.notification.insert(Notification::new()?),
        };
        // The console may only signal it.
        let copy = sys::handle_dup(notification.handle(), Rights::SIGNAL | Rights::TRANSFER, 0)?;
        let msg = Msg::with_words(ATTACH, &[0, u64::from(sys::get_pid())]).passing(copy);
        let result = ipc::call_words(self.console, &msg);
        let _ = sys::handle_close(copy);
        result?;
        self.attached = true;
        Ok(())
    }

    /// The notification the console signals (`abi::console::INPUT_READY`,
    /// `INTERRUPT`); attaches first if this has not attached yet. Bits of
    /// the program's own (a child's watch) may share it.
    pub fn notification(&mut self) -> Result<&Notification, Error> {
        if !self.attached {
            self.attach()?;
        }
        self.notification.as_ref().ok_or(Error::INVAL)
    }

    /// Reads one line into `buffer` and returns its length, with its `\n`.
    /// A line longer than `buffer` comes in pieces of `buffer.len()` bytes
    /// (only the last ends in `\n`). Waits until a line is ready;
    /// [`ReadError::Interrupted`] when Ctrl-C is typed instead.
    pub fn read_line(&mut self, buffer: &mut [u8]) -> Result<usize, ReadError> {
        loop {
            if let Some(len) = self.try_read_line(buffer)? {
                return Ok(len);
            }
            let bits = self.notification()?.wait()?;
            self.signals |= bits & !(INPUT_READY | INTERRUPT);
            if bits & INTERRUPT != 0 {
                return Err(ReadError::Interrupted);
            }
        }
    }

    /// A line if one is ready (see [`Stdin::read_line`]), without waiting.
    pub fn try_read_line(&mut self, buffer: &mut [u8]) -> Result<Option<usize>, ReadError> {
        if !self.attached {
            self.attach()?;
        }
        let room = buffer.len().min(MAX_BUFFER);
        let msg = Msg::with_words(READ, &[room as u64, 1]);
        let reply = match ipc::call(self.console, &msg, &mut buffer[..room], 0) {
            Ok(reply) => reply,
            Err(error) => {
                if error == Error::NORIGHTS {
                    self.attached = false;
                }
                return Err(ReadError::Sys(error));
            }
        };
        self.dropped += reply.word(0).unwrap_or(0);
        Ok((!reply.data.is_empty()).then_some(reply.data.len()))
    }

    /// Takes the bits other than the console's that reads found on the
    /// notification (a watched child ended, say).
    pub fn take_signals(&mut self) -> u64 {
        core::mem::take(&mut self.signals)
    }

    /// Input bytes the console dropped so far, as its reads reported
    /// (typed while nobody held the input, past the longest line, ...).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}
