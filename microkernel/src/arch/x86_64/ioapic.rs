//! The I/O APIC: routes device interrupt lines (GSIs 0 to 23 of the first
//! I/O APIC) to vectors [`IRQ_BASE_VECTOR`]` + line` on the boot CPU. Every
//! line starts masked; the kernel unmasks a line only while a driver has it
//! bound and acknowledged (`kernel_core::irq`).

use super::idt::IRQ_BASE_VECTOR;
use super::layout::phys_to_virt;
use core::sync::atomic::{AtomicU64, Ordering};
use kernel_core::irq::LINES;

/// Where the first I/O APIC's registers are on QEMU's machines (the MADT
/// says the same).
const IOAPIC_PHYS: u64 = 0xfec0_0000;
const REG_SELECT: u64 = 0x00;
const REG_WINDOW: u64 = 0x10;
const REG_VERSION: u32 = 0x01;
const REDIRECTION_TABLE: u32 = 0x10;
const MASKED: u32 = 1 << 16;
const LEVEL_TRIGGERED: u32 = 1 << 15;
const ACTIVE_LOW: u32 = 1 << 13;

/// The direct-map address of the registers; 0 when there is no I/O APIC.
static BASE: AtomicU64 = AtomicU64::new(0);

fn read(register: u32) -> u32 {
    let base = BASE.load(Ordering::Relaxed);
    // SAFETY: `base` is the direct-map (uncached) address of the I/O APIC's
    // registers, set by `init` after it answered. Only the kernel reaches
    // them (`init` at boot, `Machine::irq_mask` under the kernel lock), with
    // interrupts off and one CPU in the kernel at a time, so the
    // select-then-access pair is not interleaved.
    unsafe {
        core::ptr::write_volatile((base + REG_SELECT) as *mut u32, register);
        core::ptr::read_volatile((base + REG_WINDOW) as *const u32)
    }
}

fn write(register: u32, value: u32) {
    let base = BASE.load(Ordering::Relaxed);
    // SAFETY: as for `read`; the registers written are redirection entries,
    // which only route interrupts.
    unsafe {
        core::ptr::write_volatile((base + REG_SELECT) as *mut u32, register);
        core::ptr::write_volatile((base + REG_WINDOW) as *mut u32, value);
    }
}

/// Finds the I/O APIC and masks every line, each routed to its vector on
/// the boot CPU (local APIC id 0). Returns how many lines it has, or
/// `None` when nothing answers at its address.
pub fn init() -> Option<u32> {
    BASE.store(phys_to_virt(IOAPIC_PHYS), Ordering::Relaxed);
    let version = read(REG_VERSION);
    if version == u32::MAX {
        BASE.store(0, Ordering::Relaxed);
        return None;
    }
    let lines = ((version >> 16) & 0xff) + 1;
    for line in 0..lines.min(LINES as u32) {
        // ISA lines (below 16) are edge-triggered and active high; PCI
        // lines are level-triggered and active low.
        let mode = if line < 16 { 0 } else { LEVEL_TRIGGERED | ACTIVE_LOW };
        write(REDIRECTION_TABLE + 2 * line + 1, 0);
        write(
            REDIRECTION_TABLE + 2 * line,
            MASKED | mode | (IRQ_BASE_VECTOR as u32 + line),
        );
    }
    Some(lines)
}

/// Masks or unmasks `line`.
pub fn set_masked(line: usize, masked: bool) {
    if BASE.load(Ordering::Relaxed) == 0 || line >= LINES {
        return;
    }
    let register = REDIRECTION_TABLE + 2 * line as u32;
    let entry = read(register);
    write(register, if masked { entry | MASKED } else { entry & !MASKED });
}
