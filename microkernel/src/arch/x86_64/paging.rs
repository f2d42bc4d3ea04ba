//! Physical memory through the direct map, and the kernel's address layout.
//!
//! All physical memory is mapped at [`DIRECT_MAP_BASE`]; the kernel image
//! runs at [`KERNEL_VIRT_BASE`]. Both live in the upper half, which every
//! address space shares.

/// Virtual address of physical address 0 in the direct map (PML4 slot 256).
pub const DIRECT_MAP_BASE: u64 = 0xffff_8000_0000_0000;
/// Physical memory the direct map (and the frame allocator) covers.
pub const DIRECT_MAP_SIZE: u64 = 4 << 30;
/// Virtual address the kernel image is linked at, minus its physical load address.
pub const KERNEL_VIRT_BASE: u64 = 0xffff_ffff_8000_0000;

/// The direct-map address of physical address `phys`.
pub const fn phys_to_virt(phys: u64) -> u64 {
    DIRECT_MAP_BASE + phys
}

/// The physical address of a kernel-image or direct-map virtual address.
pub const fn virt_to_phys(virt: u64) -> u64 {
    if virt >= KERNEL_VIRT_BASE { virt - KERNEL_VIRT_BASE } else { virt - DIRECT_MAP_BASE }
}
