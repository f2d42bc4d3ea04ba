//! The kernel log: leveled lines, written wherever the kernel binary says
//! (its serial port, as `[kernel] LEVEL ...` lines). The core only formats;
//! the sink is set once at boot with [`set_sink`]. Until then, and on the
//! host unless a test sets one, lines go nowhere.

use core::fmt;
use core::sync::atomic::{AtomicU8, Ordering};

/// How important a line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
    /// Something is broken.
    Error = 0,
    /// Something was refused or ignored.
    Warn = 1,
    /// What the system is doing (the default level).
    Info = 2,
    /// Every refused syscall, every process start.
    Debug = 3,
    /// Everything.
    Trace = 4,
}

impl Level {
    /// The label printed in front of a line, padded to five characters.
    pub const fn label(self) -> &'static str {
        match self {
            Level::Error => "ERROR",
            Level::Warn => "WARN ",
            Level::Info => "INFO ",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        }
    }

    /// The level a `log=` word of the command line names (default `Info`).
    pub fn from_cmdline(cmdline: &str) -> Level {
        match crate::cmdline::option(cmdline, "log") {
            Some("error") => Level::Error,
            Some("warn") => Level::Warn,
            Some("debug") => Level::Debug,
            Some("trace") => Level::Trace,
            _ => Level::Info,
        }
    }
}

/// Where log lines go.
pub type Sink = fn(Level, fmt::Arguments);

static LEVEL: AtomicU8 = AtomicU8::new(Level::Info as u8);
static SINK: spin::Once<Sink> = spin::Once::new();

/// Sets where log lines go (once; later calls are ignored) and the level.
pub fn set_sink(sink: Sink, level: Level) {
    SINK.call_once(|| sink);
    LEVEL.store(level as u8, Ordering::Relaxed);
}

/// Whether lines of `level` are printed.
#[inline]
pub fn enabled(level: Level) -> bool {
    level as u8 <= LEVEL.load(Ordering::Relaxed)
}

/// Writes one line.
pub fn log(level: Level, args: fmt::Arguments) {
    if enabled(level)
        && let Some(sink) = SINK.get()
    {
        sink(level, args);
    }
}

/// Logs at [`Level::Error`].
#[macro_export]
macro_rules! error {
    ($($arg:tt)*) => { $crate::log::log($crate::log::Level::Error, format_args!($($arg)*)) };
}
/// Logs at [`Level::Warn`].
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => { $crate::log::log($crate::log::Level::Warn, format_args!($($arg)*)) };
}
/// Logs at [`Level::Info`].
#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => { $crate::log::log($crate::log::Level::Info, format_args!($($arg)*)) };
}
/// Logs at [`Level::Debug`].
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => { $crate::log::log($crate::log::Level::Debug, format_args!($($arg)*)) };
}
