//! Leaving QEMU: the `isa-debug-exit` device turns a write into QEMU's exit
//! status `(value << 1) | 1`.

use x86_64::instructions::port::Port;

/// Ends the run with `value` (see `abi::machine`). If no debug-exit device is
/// present, halts forever.
pub fn exit(value: u32) -> ! {
    // SAFETY: port 0xf4 is QEMU's debug-exit device; writing it stops the
    // machine. On a machine without it the write is ignored.
    unsafe { Port::new(abi::machine::DEBUG_EXIT_PORT).write(value) };
    super::halt_forever()
}
