//! How the kernel reports the end of a run to the host: the value it writes to
//! QEMU's `isa-debug-exit` device. QEMU exits with `(value << 1) | 1`, and
//! `cargo xtask run` turns that back into `value` for its own exit status.

/// I/O port of the `isa-debug-exit` device (`-device isa-debug-exit,iobase=0xf4,iosize=4`).
pub const DEBUG_EXIT_PORT: u16 = 0xf4;

/// Every remaining program is waiting for a message that no one can send: the
/// system has finished its work.
pub const EXIT_SUCCESS: u32 = 0;
/// The kernel panicked.
pub const EXIT_KERNEL_PANIC: u32 = 0x10;
/// The kernel took an exception it did not expect.
pub const EXIT_KERNEL_FAULT: u32 = 0x11;
/// Every thread is blocked and at least one waits on a send or call that
/// can never complete.
pub const EXIT_DEADLOCK: u32 = 0x12;
/// The boot image could not be used (no initrd, bad manifest, no programs).
pub const EXIT_BAD_IMAGE: u32 = 0x13;
/// The host stopped a run that timed out; the kernel printed every thread's state first.
pub const EXIT_DUMPED: u32 = 0x14;

/// What an exit value means, for host tools.
pub fn describe(value: u32) -> &'static str {
    match value {
        EXIT_SUCCESS => "all programs finished",
        EXIT_KERNEL_PANIC => "kernel panic",
        EXIT_KERNEL_FAULT => "unexpected exception in the kernel",
        EXIT_DEADLOCK => "deadlock: threads wait on IPC that can never complete",
        EXIT_BAD_IMAGE => "unusable boot image",
        EXIT_DUMPED => "timed out; thread states dumped",
        _ => "unknown exit value",
    }
}
