//! Where the kernel log goes: lines on the serial port (COM1), each
//! prefixed `[kernel] LEVEL`, so they stand apart from program output
//! (which the console server prefixes with the program's name).

use core::fmt::{self, Write};
use kernel_core::log::Level;

static LOCK: spin::Mutex<()> = spin::Mutex::new(());

struct Serial;

impl Write for Serial {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        super::serial::write_bytes(text.as_bytes());
        Ok(())
    }
}

fn write_line(level: Level, args: fmt::Arguments) {
    let _guard = LOCK.lock();
    let _ = writeln!(Serial, "[kernel] {} {}", level.label(), args);
}

/// Sends the kernel log to the serial port, at the level the command line's
/// `log=` asks for.
pub fn init_log(cmdline: &str) {
    kernel_core::log::set_sink(write_line, Level::from_cmdline(cmdline));
}

/// Releases the log lock after a panic or fault interrupted a line, so the
/// report can be printed, and ends the line the serial port shows: the
/// report starts a line of its own (the build tool trusts only lines that
/// start with `[kernel] `) even when it cut into a line of the kernel or of
/// the console (which writes COM1 from ring 3, maybe on another CPU).
pub fn force_unlock_log() {
    if LOCK.is_locked() {
        // SAFETY: called only on the way to stopping the machine, with
        // interrupts off on the only CPU: the holder will never run again.
        unsafe { LOCK.force_unlock() };
    }
    super::serial::write_bytes(b"\n");
}
