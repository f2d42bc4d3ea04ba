//! The boot memory map, normalised: which physical ranges are usable RAM.
//!
//! Firmware maps can list overlapping, unaligned, zero-sized or wrapping
//! entries. [`usable_ram`] turns them into sorted, disjoint, page-aligned RAM
//! ranges, removing anything that any non-RAM entry also claims.

use heapless::Vec;

/// Entries of the boot map the kernel keeps.
pub const MAX_REGIONS: usize = 64;

/// What a memory map entry describes. Only [`RegionKind::Ram`] is ever
/// handed out; every other kind is a hole [`usable_ram`] cuts out of RAM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionKind {
    /// Usable RAM (E820 type 1).
    Ram,
    /// Reserved by the firmware or a device (E820 type 2, and any type this
    /// kernel does not know).
    Reserved,
    /// ACPI tables (E820 type 3): RAM once the tables are read, but the
    /// kernel does not parse ACPI and never reclaims it.
    AcpiReclaimable,
    /// ACPI non-volatile storage (E820 type 4): the firmware's, for good.
    AcpiNvs,
    /// RAM with detected errors (E820 type 5).
    Unusable,
}

impl RegionKind {
    /// Decodes an E820 type (as PVH's `hvm_memmap_table_entry` uses).
    pub const fn from_e820(kind: u32) -> RegionKind {
        match kind {
            1 => RegionKind::Ram,
            3 => RegionKind::AcpiReclaimable,
            4 => RegionKind::AcpiNvs,
            5 => RegionKind::Unusable,
            _ => RegionKind::Reserved,
        }
    }
}

/// One entry of the boot memory map: `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// Physical address of the first byte; need not be page-aligned.
    pub start: u64,
    /// Physical address one past the last byte; `end <= start` makes the
    /// entry empty.
    pub end: u64,
    /// What the range holds.
    pub kind: RegionKind,
}

impl Region {
    /// Builds a region from a base and a size, clamping a wrapping end.
    pub const fn from_base_size(base: u64, size: u64, kind: RegionKind) -> Region {
        Region {
            start: base,
            end: base.saturating_add(size),
            kind,
        }
    }
}

const PAGE: u64 = 4096;

/// Page-aligned `[start, end)` ranges of RAM that no other entry claims,
/// sorted and disjoint. Ranges that do not fit are dropped; the second value
/// counts them.
pub fn usable_ram(map: &[Region]) -> (Vec<(u64, u64), MAX_REGIONS>, usize) {
    let mut out: Vec<(u64, u64), MAX_REGIONS> = Vec::new();
    let mut dropped = 0;
    for ram in map.iter().filter(|r| r.kind == RegionKind::Ram) {
        let start = ram.start.checked_next_multiple_of(PAGE).unwrap_or(u64::MAX);
        let end = ram.end & !(PAGE - 1);
        if start >= end {
            continue;
        }
        // Cut out every non-RAM entry, widened to whole pages.
        let mut pieces: Vec<(u64, u64), MAX_REGIONS> = Vec::new();
        let _ = pieces.push((start, end));
        for hole in map.iter().filter(|r| r.kind != RegionKind::Ram && r.start < r.end) {
            let hole_start = hole.start & !(PAGE - 1);
            let hole_end = hole.end.checked_next_multiple_of(PAGE).unwrap_or(u64::MAX);
            let mut next: Vec<(u64, u64), MAX_REGIONS> = Vec::new();
            for &(s, e) in &pieces {
                if hole_end <= s || e <= hole_start {
                    keep(&mut next, (s, e), &mut dropped);
                    continue;
                }
                if s < hole_start {
                    keep(&mut next, (s, hole_start), &mut dropped);
                }
                if hole_end < e {
                    keep(&mut next, (hole_end, e), &mut dropped);
                }
            }
            pieces = next;
        }
        for piece in pieces {
            keep(&mut out, piece, &mut dropped);
        }
    }
    out.sort_unstable();
    // Merge RAM entries that overlap or touch each other.
    let mut merged: Vec<(u64, u64), MAX_REGIONS> = Vec::new();
    for (s, e) in out {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => keep(&mut merged, (s, e), &mut dropped),
        }
    }
    (merged, dropped)
}

fn keep(list: &mut Vec<(u64, u64), MAX_REGIONS>, range: (u64, u64), dropped: &mut usize) {
    if list.push(range).is_err() {
        *dropped += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RegionKind::*;

    fn region(start: u64, end: u64, kind: RegionKind) -> Region {
        Region { start, end, kind }
    }

    #[test]
    fn qemu_like_map() {
        let map = [
            region(0, 0x9fc00, Ram),
            region(0x9fc00, 0xa0000, Reserved),
            region(0xf0000, 0x100000, Reserved),
            region(0x100000, 0x8000000, Ram),
            region(0xfffc0000, 0x1_0000_0000, Reserved),
        ];
        let (ram, dropped) = usable_ram(&map);
        assert_eq!(ram.as_slice(), &[(0, 0x9f000), (0x100000, 0x8000000)]);
        assert_eq!(dropped, 0);
    }

    #[test]
    fn unaligned_zero_and_wrapping_entries() {
        let map = [
            region(0x1001, 0x2fff, Ram),                              // no whole page
            region(0x5000, 0x5000, Ram),                              // empty
            Region::from_base_size(u64::MAX - 0x1000, 0x10_000, Ram), // wraps: clamped
            region(0x10_800, 0x13_800, Ram),                          // one whole page after trimming both ends
        ];
        let (ram, _) = usable_ram(&map);
        assert_eq!(ram.as_slice(), &[(0x11_000, 0x13_000)]);
    }

    #[test]
    fn reserved_entries_punch_holes_and_overlaps_merge() {
        let map = [
            region(0x0, 0x10_000, Ram),
            region(0x8000, 0x20_000, Ram),    // overlaps the first
            region(0x3800, 0x4200, Reserved), // widened to 0x3000..0x5000
            region(0x1f_000, 0x30_000, AcpiNvs),
        ];
        let (ram, _) = usable_ram(&map);
        assert_eq!(ram.as_slice(), &[(0, 0x3000), (0x5000, 0x1f_000)]);
    }

    #[test]
    fn too_many_pieces_are_counted_not_lost_silently() {
        let mut map = std::vec![region(0, 0x1000_0000, Ram)];
        for i in 0..100u64 {
            map.push(region(i * 0x20_000 + 0x10_000, i * 0x20_000 + 0x11_000, Reserved));
        }
        let (ram, dropped) = usable_ram(&map);
        assert_eq!(ram.len(), MAX_REGIONS);
        assert!(dropped > 0);
    }

    #[test]
    fn e820_types() {
        assert_eq!(RegionKind::from_e820(1), Ram);
        assert_eq!(RegionKind::from_e820(2), Reserved);
        assert_eq!(RegionKind::from_e820(99), Reserved);
    }
}
