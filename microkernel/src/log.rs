//! The kernel log: leveled lines on the serial port, each prefixed
//! `[kernel] LEVEL`, so they stand apart from program output (which the
//! console server prefixes with the program's name).

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU8, Ordering};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
    Error = 0,
    Warn = 1,
    Info = 2,
    Debug = 3,
    Trace = 4,
}

impl Level {
    const fn label(self) -> &'static str {
        match self {
            Level::Error => "ERROR",
            Level::Warn => "WARN ",
            Level::Info => "INFO ",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        }
    }
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Info as u8);
static LOCK: spin::Mutex<()> = spin::Mutex::new(());

/// Applies `log=error|warn|info|debug|trace` from the command line.
pub fn configure(cmdline: &str) {
    let level = match crate::cmdline::option(cmdline, "log") {
        Some("error") => Level::Error,
        Some("warn") => Level::Warn,
        Some("debug") => Level::Debug,
        Some("trace") => Level::Trace,
        _ => Level::Info,
    };
    LEVEL.store(level as u8, Ordering::Relaxed);
}

/// Whether lines of `level` are printed.
pub fn enabled(level: Level) -> bool {
    level as u8 <= LEVEL.load(Ordering::Relaxed)
}

struct Serial;

impl Write for Serial {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        crate::arch::serial_write(text.as_bytes());
        Ok(())
    }
}

/// Prints one log line.
pub fn log(level: Level, args: fmt::Arguments) {
    if !enabled(level) {
        return;
    }
    let _guard = LOCK.lock();
    let _ = writeln!(Serial, "[kernel] {} {}", level.label(), args);
}

/// Releases the log lock after a panic or fault interrupted a line, so the
/// report can be printed.
pub fn force_unlock() {
    if LOCK.is_locked() {
        // SAFETY: called only on the way to stopping the machine, with
        // interrupts off on the only CPU: the holder will never run again.
        unsafe { LOCK.force_unlock() };
        crate::arch::serial_write(b"\n");
    }
}

#[macro_export]
macro_rules! error {
    ($($arg:tt)*) => { $crate::log::log($crate::log::Level::Error, format_args!($($arg)*)) };
}
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => { $crate::log::log($crate::log::Level::Warn, format_args!($($arg)*)) };
}
#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => { $crate::log::log($crate::log::Level::Info, format_args!($($arg)*)) };
}
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => { $crate::log::log($crate::log::Level::Debug, format_args!($($arg)*)) };
}
#[macro_export]
macro_rules! trace {
    ($($arg:tt)*) => { $crate::log::log($crate::log::Level::Trace, format_args!($($arg)*)) };
}
