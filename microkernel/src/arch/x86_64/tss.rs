//! The task state segment: the stacks the CPU switches to (RSP0 and the
//! interrupt stack table) and the I/O permission bitmap. Each CPU's lives
//! in its per-CPU block (`percpu`), which loads it.

use core::mem::{offset_of, size_of};

/// I/O ports the permission bitmap covers; ports above are always denied.
pub const IO_BITMAP_PORTS: usize = 0x400;

/// The 64-bit task state segment followed by its I/O permission bitmap.
#[repr(C, packed(4))]
pub struct Tss {
    reserved0: u32,
    /// RSP0 is where the CPU switches to on an interrupt from ring 3.
    pub rsp: [u64; 3],
    reserved1: u64,
    /// Interrupt stack table: stacks for NMI, #DF and #MC.
    pub ist: [u64; 7],
    reserved2: u64,
    reserved3: u16,
    /// Offset of the I/O bitmap; pointing past the limit denies every port.
    pub iomap_base: u16,
    /// One bit per port, set = denied; the extra final byte must be 0xff.
    pub io_bitmap: [u8; IO_BITMAP_PORTS / 8 + 1],
}

/// `iomap_base` that lets the bitmap decide.
pub const IOMAP_ALLOWED: u16 = offset_of!(Tss, io_bitmap) as u16;
/// `iomap_base` beyond the TSS limit: every port is denied.
pub const IOMAP_DENIED: u16 = size_of::<Tss>() as u16;

/// IST slots (1-based, as the IDT encodes them).
pub const IST_NMI: u8 = 1;
pub const IST_DOUBLE_FAULT: u8 = 2;
pub const IST_MACHINE_CHECK: u8 = 3;

impl Tss {
    /// A TSS with no stacks and every port denied.
    pub const fn new() -> Tss {
        Tss {
            reserved0: 0,
            rsp: [0; 3],
            reserved1: 0,
            ist: [0; 7],
            reserved2: 0,
            reserved3: 0,
            iomap_base: IOMAP_DENIED,
            io_bitmap: [0xff; IO_BITMAP_PORTS / 8 + 1],
        }
    }

    /// Clears the bitmap bits of `[first, first + count)`, so a process that
    /// runs with [`IOMAP_ALLOWED`] may use those ports.
    pub fn allow_ports(&mut self, first: u16, count: u16) {
        for port in first..first + count {
            let port = port as usize;
            if port < IO_BITMAP_PORTS {
                self.io_bitmap[port / 8] &= !(1 << (port % 8));
            }
        }
    }
}
