//! The interrupt descriptor table: the 32 exception vectors, the timer, the
//! device interrupt lines, the `int 0x80` syscall gate and the
//! spurious-interrupt vector.

use super::gdt::{DescriptorPointer, KERNEL_CODE};
use super::tss::{IST_DOUBLE_FAULT, IST_MACHINE_CHECK, IST_NMI};

/// Vector of the timer interrupt.
pub const TIMER_VECTOR: u8 = 32;
/// Vector of interrupt line 0; line `n` uses `IRQ_BASE_VECTOR + n`.
pub const IRQ_BASE_VECTOR: u8 = 48;
/// Device interrupt lines with a vector.
pub const IRQ_VECTORS: u8 = kernel_core::irq::LINES as u8;
/// Vector of the `int 0x80` syscall gate.
pub const SYSCALL_INT_VECTOR: u8 = 0x80;
/// Vector of the inter-processor interrupt that makes a CPU pick again.
pub const RESCHEDULE_VECTOR: u8 = 0xf0;
/// Vector of the inter-processor interrupt that makes a CPU forget
/// mappings (a TLB shootdown).
pub const SHOOTDOWN_VECTOR: u8 = 0xf1;
/// Vector the local APIC uses for spurious interrupts.
pub const SPURIOUS_VECTOR: u8 = 0xff;

#[repr(C)]
#[derive(Clone, Copy)]
struct Gate {
    offset_low: u16,
    selector: u16,
    ist: u8,
    attributes: u8,
    offset_middle: u16,
    offset_high: u32,
    reserved: u32,
}

impl Gate {
    const MISSING: Gate = Gate {
        offset_low: 0,
        selector: 0,
        ist: 0,
        attributes: 0,
        offset_middle: 0,
        offset_high: 0,
        reserved: 0,
    };

    /// A present 64-bit interrupt gate (IF cleared on entry) with `dpl`.
    fn interrupt(handler: u64, dpl: u8, ist: u8) -> Gate {
        Gate {
            offset_low: handler as u16,
            selector: KERNEL_CODE,
            ist,
            attributes: 0x80 | (dpl << 5) | 0x0e,
            offset_middle: (handler >> 16) as u16,
            offset_high: (handler >> 32) as u32,
            reserved: 0,
        }
    }
}

static mut IDT: [Gate; 256] = [Gate::MISSING; 256];

unsafe extern "C" {
    /// Addresses of the stubs for vectors 0 to 31 (entry.rs).
    static trap_stub_table: [u64; 32];
    /// Addresses of the stubs for the device lines (entry.rs).
    static irq_stub_table: [u64; IRQ_VECTORS as usize];
    fn trap_stub_32();
    fn trap_stub_128();
    fn trap_stub_240();
    fn trap_stub_241();
    fn trap_stub_255();
}

/// Fills the IDT (once, on the boot CPU) and loads it.
pub fn init() {
    // SAFETY: runs once at boot before interrupts are enabled, so nothing
    // reads the IDT while it is written; the stubs are defined in entry.rs.
    unsafe {
        let idt = &raw mut IDT;
        for vector in 0..32u8 {
            let handler = trap_stub_table[vector as usize];
            let ist = match vector {
                2 => IST_NMI,
                8 => IST_DOUBLE_FAULT,
                18 => IST_MACHINE_CHECK,
                _ => 0,
            };
            // `int3` and `into` may be used from ring 3, so they report as
            // breakpoint and overflow instead of as #GP.
            let dpl = if vector == 3 || vector == 4 { 3 } else { 0 };
            (*idt)[vector as usize] = Gate::interrupt(handler, dpl, ist);
        }
        (*idt)[TIMER_VECTOR as usize] = Gate::interrupt(trap_stub_32 as *const () as u64, 0, 0);
        for line in 0..IRQ_VECTORS {
            let vector = (IRQ_BASE_VECTOR + line) as usize;
            (*idt)[vector] = Gate::interrupt(irq_stub_table[line as usize], 0, 0);
        }
        (*idt)[SYSCALL_INT_VECTOR as usize] = Gate::interrupt(trap_stub_128 as *const () as u64, 3, 0);
        (*idt)[RESCHEDULE_VECTOR as usize] = Gate::interrupt(trap_stub_240 as *const () as u64, 0, 0);
        (*idt)[SHOOTDOWN_VECTOR as usize] = Gate::interrupt(trap_stub_241 as *const () as u64, 0, 0);
        (*idt)[SPURIOUS_VECTOR as usize] = Gate::interrupt(trap_stub_255 as *const () as u64, 0, 0);
        let pointer = DescriptorPointer {
            limit: (size_of::<[Gate; 256]>() - 1) as u16,
            base: idt as u64,
        };
        core::arch::asm!("lidt [{}]", in(reg) &pointer, options(readonly, nostack, preserves_flags));
    }
}

/// Loads the IDT the boot CPU filled, on another CPU.
pub fn load() {
    // SAFETY: `init` filled the table before any other CPU started; it is
    // never written again, so loading it is all another CPU does.
    unsafe {
        let pointer = DescriptorPointer {
            limit: (size_of::<[Gate; 256]>() - 1) as u16,
            base: &raw const IDT as u64,
        };
        core::arch::asm!("lidt [{}]", in(reg) &pointer, options(readonly, nostack, preserves_flags));
    }
}
