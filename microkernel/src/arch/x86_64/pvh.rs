//! The PVH start info QEMU passes in EBX: memory map, command line, modules.
//!
//! Read once at boot through the direct map and copied into [`BootInfo`], so
//! nothing later depends on the firmware's memory.

use super::layout::phys_to_virt;
use heapless::{String, Vec};
use kernel_core::memmap::{MAX_REGIONS, Region, RegionKind};

const MAGIC: u32 = 0x336e_c578;

#[repr(C)]
struct StartInfo {
    magic: u32,
    version: u32,
    flags: u32,
    nr_modules: u32,
    modlist_paddr: u64,
    cmdline_paddr: u64,
    rsdp_paddr: u64,
    memmap_paddr: u64,
    memmap_entries: u32,
    reserved: u32,
}

#[repr(C)]
struct ModlistEntry {
    paddr: u64,
    size: u64,
    cmdline_paddr: u64,
    reserved: u64,
}

#[repr(C)]
struct MemmapEntry {
    addr: u64,
    size: u64,
    kind: u32,
    reserved: u32,
}

/// Longest kernel command line kept.
pub const MAX_CMDLINE: usize = 256;

/// What the boot loader told the kernel.
pub struct BootInfo {
    /// Physical address of the start info itself (reserved from allocation).
    pub start_info: u64,
    pub memory_map: Vec<Region, MAX_REGIONS>,
    pub cmdline: String<MAX_CMDLINE>,
    /// Physical `[start, end)` of the initrd, if QEMU was given one.
    pub initrd: Option<(u64, u64)>,
    /// Physical address of the ACPI RSDP (0: not given; scan for it).
    pub rsdp: u64,
}

/// Why the start info could not be used.
#[derive(Debug)]
pub enum BootInfoError {
    BadMagic(u32),
    NoMemoryMap,
}

impl core::fmt::Display for BootInfoError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            BootInfoError::BadMagic(magic) => write!(f, "bad magic {magic:#x} (not booted through PVH?)"),
            BootInfoError::NoMemoryMap => f.write_str("no memory map (PVH start info version 0)"),
        }
    }
}

/// Reads the start info at physical address `address`.
pub fn read(address: u64) -> Result<BootInfo, BootInfoError> {
    // SAFETY: QEMU's PVH loader places the start info in RAM below 4 GiB,
    // which the boot page tables map at the direct map; it stays untouched
    // until the frame allocator is built (which reserves it).
    let info = unsafe { &*(phys_to_virt(address) as *const StartInfo) };
    if info.magic != MAGIC {
        return Err(BootInfoError::BadMagic(info.magic));
    }
    if info.version < 1 || info.memmap_entries == 0 {
        return Err(BootInfoError::NoMemoryMap);
    }
    let mut boot = BootInfo {
        start_info: address,
        memory_map: Vec::new(),
        cmdline: String::new(),
        initrd: None,
        rsdp: info.rsdp_paddr,
    };
    for index in 0..info.memmap_entries as u64 {
        let entry_address = info.memmap_paddr + index * core::mem::size_of::<MemmapEntry>() as u64;
        // SAFETY: the memory map lies in firmware-provided RAM below 4 GiB,
        // mapped by the direct map, with `memmap_entries` entries.
        let entry = unsafe { &*(phys_to_virt(entry_address) as *const MemmapEntry) };
        let region = Region::from_base_size(entry.addr, entry.size, RegionKind::from_e820(entry.kind));
        if boot.memory_map.push(region).is_err() {
            kernel_core::warn!("boot: memory map has more than {MAX_REGIONS} entries; the rest are ignored");
            break;
        }
    }
    if info.cmdline_paddr != 0 {
        // SAFETY: the command line is a NUL-terminated string in low RAM; at
        // most MAX_CMDLINE bytes of it are read.
        let bytes = unsafe { c_string(info.cmdline_paddr, MAX_CMDLINE) };
        for &byte in bytes {
            let _ = boot
                .cmdline
                .push(if byte.is_ascii_graphic() { byte as char } else { ' ' });
        }
    }
    if info.nr_modules > 0 && info.modlist_paddr != 0 {
        // SAFETY: the module list has `nr_modules` entries in low RAM; only
        // the first (the initrd) is read.
        let module = unsafe { &*(phys_to_virt(info.modlist_paddr) as *const ModlistEntry) };
        if module.size > 0 {
            boot.initrd = Some((module.paddr, module.paddr.saturating_add(module.size)));
        }
    }
    Ok(boot)
}

/// The bytes of the NUL-terminated string at physical `address`, at most
/// `max` of them.
///
/// # Safety
/// `address..address + max` (or up to the NUL) must be mapped RAM.
unsafe fn c_string(address: u64, max: usize) -> &'static [u8] {
    let start = phys_to_virt(address) as *const u8;
    let mut len = 0;
    // SAFETY: the caller guarantees the bytes up to the NUL or `max` are readable.
    while len < max && unsafe { *start.add(len) } != 0 {
        len += 1;
    }
    // SAFETY: the `len` bytes just read are valid and never written later.
    unsafe { core::slice::from_raw_parts(start, len) }
}
