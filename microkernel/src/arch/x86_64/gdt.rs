//! The GDT and TSS of a CPU, and the TSS I/O permission bitmap.

use super::percpu::PerCpu;
use super::selectors;
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

unsafe extern "C" {
    static nmi_stack_top: u8;
    static double_fault_stack_top: u8;
    static machine_check_stack_top: u8;
    static cpu0_stack_top: u8;
}

/// Fills in and loads this CPU's GDT and TSS, then reloads every segment.
///
/// # Safety
/// `cpu` must be the calling CPU's block, not yet in use by GS.
pub unsafe fn load(cpu: *mut PerCpu) {
    // SAFETY: the caller hands us exclusive use of the block; the stack
    // symbols are defined in boot.rs and never move.
    unsafe {
        let tss_base = &raw const (*cpu).tss as u64;
        let gdt = &raw mut (*cpu).gdt;
        let [null, kernel_code, kernel_data, user_data, user_code] = selectors::descriptors();
        let [tss_low, tss_high] = selectors::tss_descriptor(tss_base, size_of::<Tss>() as u32 - 1);
        *gdt = [null, kernel_code, kernel_data, user_data, user_code, tss_low, tss_high];
        (*cpu).tss.ist[(IST_NMI - 1) as usize] = &raw const nmi_stack_top as u64;
        (*cpu).tss.ist[(IST_DOUBLE_FAULT - 1) as usize] = &raw const double_fault_stack_top as u64;
        (*cpu).tss.ist[(IST_MACHINE_CHECK - 1) as usize] = &raw const machine_check_stack_top as u64;
        (*cpu).kernel_stack_top = &raw const cpu0_stack_top as u64;
        (*cpu).tss.rsp[0] = (*cpu).kernel_stack_top;

        let pointer = DescriptorPointer {
            limit: (size_of::<[u64; 7]>() - 1) as u16,
            base: gdt as u64,
        };
        core::arch::asm!(
            "lgdt [{pointer}]",
            // Reload CS with a far return, then the data segments.
            "push {code}",
            "lea {tmp}, [rip + 2f]",
            "push {tmp}",
            "retfq",
            "2:",
            "mov ds, {data:x}",
            "mov es, {data:x}",
            "mov ss, {data:x}",
            "xor {tmp:e}, {tmp:e}",
            "mov fs, {tmp:x}",
            "mov gs, {tmp:x}",
            "ltr {tss:x}",
            pointer = in(reg) &pointer,
            code = const selectors::KERNEL_CODE as u64,
            data = in(reg) selectors::KERNEL_DATA as u64,
            tss = in(reg) selectors::TSS as u64,
            tmp = out(reg) _,
        );
    }
}

/// The operand of `lgdt` and `lidt`.
#[repr(C, packed(2))]
pub struct DescriptorPointer {
    pub limit: u16,
    pub base: u64,
}
