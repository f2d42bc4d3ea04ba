//! The GDT: its layout (the selectors), its descriptors, and the STAR value
//! derived from it. Each CPU's GDT lives in its per-CPU block (`percpu`),
//! which fills it from [`descriptors`] and [`tss_descriptor`] and loads it.
//!
//! `syscall` loads CS from STAR[47:32] and SS from that plus 8; `sysretq` loads
//! CS from STAR[63:48] plus 16 and SS from STAR[63:48] plus 8, both with RPL 3.
//! So the GDT must hold kernel code, kernel data, then user data, user code:
//! 0x08, 0x10, 0x18, 0x20. Pure arithmetic, tested on the host.

/// Kernel code segment (GDT index 1).
pub const KERNEL_CODE: u16 = 0x08;
/// Kernel data segment (GDT index 2).
pub const KERNEL_DATA: u16 = 0x10;
/// User data segment (GDT index 3), with RPL 3.
pub const USER_DATA: u16 = 0x18 | 3;
/// User code segment (GDT index 4), with RPL 3.
pub const USER_CODE: u16 = 0x20 | 3;
/// The TSS descriptor (GDT indices 5 and 6: a 16-byte system descriptor).
pub const TSS: u16 = 0x28;

/// Builds STAR from the selector `syscall` loads into CS and the base from
/// which `sysretq` derives its selectors.
pub const fn star(syscall_cs: u16, sysret_base: u16) -> u64 {
    ((sysret_base as u64) << 48) | ((syscall_cs as u64) << 32)
}

/// STAR for this GDT: `syscall` enters with KERNEL_CODE/KERNEL_DATA and
/// `sysretq` leaves with USER_CODE/USER_DATA. The base is user data minus 8,
/// with RPL 3: 0x13.
pub const STAR: u64 = star(KERNEL_CODE, ((USER_DATA & !3) - 8) | 3);

// The CPU's selector arithmetic applied to STAR gives back our segments.
const _: () = {
    let (cs, ss) = syscall_selectors(STAR);
    assert!(cs == KERNEL_CODE && ss == KERNEL_DATA);
    let (cs, ss) = sysret_selectors(STAR);
    assert!(cs == USER_CODE && ss == USER_DATA);
};

/// The selectors `syscall` loads, computed the way the CPU does.
pub const fn syscall_selectors(star: u64) -> (u16, u16) {
    let cs = ((star >> 32) & 0xfffc) as u16;
    (cs, cs + 8)
}

/// The selectors 64-bit `sysretq` loads, computed the way the CPU does.
pub const fn sysret_selectors(star: u64) -> (u16, u16) {
    let base = ((star >> 48) & 0xffff) as u16;
    ((base + 16) | 3, (base + 8) | 3)
}

/// The 64-bit GDT entries for indices 0 to 4 (the TSS follows).
pub const fn descriptors() -> [u64; 5] {
    [
        0,
        // Present, DPL 0, code, readable, accessed, long mode.
        0x00af_9b00_0000_ffff,
        // Present, DPL 0, data, writable, accessed.
        0x00cf_9300_0000_ffff,
        // Present, DPL 3, data, writable, accessed.
        0x00cf_f300_0000_ffff,
        // Present, DPL 3, code, readable, accessed, long mode.
        0x00af_fb00_0000_ffff,
    ]
}

/// The two GDT words of an available 64-bit TSS at `base` with `limit`.
pub const fn tss_descriptor(base: u64, limit: u32) -> [u64; 2] {
    let low = (limit as u64 & 0xffff)
        | ((base & 0xff_ffff) << 16)
        | (0x89 << 40) // present, DPL 0, type 9: available 64-bit TSS
        | (((limit as u64 >> 16) & 0xf) << 48)
        | (((base >> 24) & 0xff) << 56);
    [low, base >> 32]
}

/// The operand of `lgdt` and `lidt`.
#[repr(C, packed(2))]
pub struct DescriptorPointer {
    /// Size of the table in bytes, minus one.
    pub limit: u16,
    /// Address of the table.
    pub base: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_matches_the_documented_value() {
        assert_eq!(STAR, (0x13 << 48) | (0x08 << 32));
    }

    #[test]
    fn syscall_and_sysret_land_on_our_segments() {
        assert_eq!(syscall_selectors(STAR), (KERNEL_CODE, KERNEL_DATA));
        assert_eq!(sysret_selectors(STAR), (USER_CODE, USER_DATA));
    }

    #[test]
    fn descriptors_have_the_right_privilege() {
        let gdt = descriptors();
        let dpl = |d: u64| (d >> 45) & 3;
        let long_mode = |d: u64| (d >> 53) & 1;
        assert_eq!(dpl(gdt[(KERNEL_CODE >> 3) as usize]), 0);
        assert_eq!(long_mode(gdt[(KERNEL_CODE >> 3) as usize]), 1);
        assert_eq!(dpl(gdt[(USER_DATA >> 3) as usize]), 3);
        assert_eq!(dpl(gdt[(USER_CODE >> 3) as usize]), 3);
        assert_eq!(long_mode(gdt[(USER_CODE >> 3) as usize]), 1);
    }

    #[test]
    fn tss_descriptor_splits_the_base() {
        let [low, high] = tss_descriptor(0xffff_ffff_8012_3456, 0x2067);
        assert_eq!(low & 0xffff, 0x2067);
        assert_eq!((low >> 16) & 0xff_ffff, 0x12_3456);
        assert_eq!((low >> 56) & 0xff, 0x80);
        assert_eq!((low >> 40) & 0xff, 0x89);
        assert_eq!(high, 0xffff_ffff);
    }
}
