//! `print!`, `println!` and `eprintln!`: formatted output through `write`.
//!
//! Each macro call formats into a line buffer and writes it with as few
//! `write` syscalls as possible, so a line normally reaches the console
//! server in one message and stays whole among other programs' output.

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
