//! COM1, polled: the kernel's log before and beside the console server.
//!
//! After boot the console server owns the UART through the I/O permission
//! bitmap; the kernel still writes here for its own log lines, panics and
//! fault reports, which are rare and never interleave with a line in progress
//! because user code cannot run while the kernel does.

use x86_64::instructions::port::Port;

/// Base I/O port of COM1.
pub const COM1: u16 = 0x3f8;
/// Number of I/O ports the UART decodes.
pub const COM1_PORTS: u16 = 8;

const DATA: u16 = COM1;
const INTERRUPT_ENABLE: u16 = COM1 + 1;
const FIFO_CONTROL: u16 = COM1 + 2;
const LINE_CONTROL: u16 = COM1 + 3;
const MODEM_CONTROL: u16 = COM1 + 4;
const LINE_STATUS: u16 = COM1 + 5;
const TRANSMIT_EMPTY: u8 = 1 << 5;

fn out8(port: u16, value: u8) {
    // SAFETY: the ports written are COM1's registers, which only the UART
    // decodes; writing them has no effect on memory.
    unsafe { Port::new(port).write(value) }
}

fn in8(port: u16) -> u8 {
    // SAFETY: reading COM1's line status register has no side effect.
    unsafe { Port::new(port).read() }
}

/// Programs 115200 baud, 8N1, FIFOs on, no interrupts.
pub fn init() {
    out8(INTERRUPT_ENABLE, 0x00);
    out8(LINE_CONTROL, 0x80); // divisor latch
    out8(DATA, 0x01); // divisor 1 = 115200 baud
    out8(INTERRUPT_ENABLE, 0x00);
    out8(LINE_CONTROL, 0x03); // 8 bits, no parity, one stop bit
    out8(FIFO_CONTROL, 0xc7);
    out8(MODEM_CONTROL, 0x03);
}

/// Writes bytes, waiting for room in the transmitter.
pub fn write_bytes(bytes: &[u8]) {
    for &byte in bytes {
        while in8(LINE_STATUS) & TRANSMIT_EMPTY == 0 {
            core::hint::spin_loop();
        }
        out8(DATA, byte);
    }
}
