//! Just enough ACPI to find the CPUs: the RSDP, the RSDT or XSDT it points
//! to, and the MADT's local APIC entries.
//!
//! Every table is checked (signature, length, checksum) before it is
//! believed; the parsers never panic on what they read, whatever the
//! firmware (or a fuzzer) put there. The caller reads physical memory
//! through a closure, so the same code runs on the host under test.

use heapless::Vec;

/// Most CPUs the parser reports (the kernel brings up at most
/// `config::MAX_CPUS` of them).
pub const MAX_APICS: usize = 32;

/// Where the firmware may keep the RSDP when nobody says: the BIOS area.
pub const RSDP_SCAN: (u64, u64) = (0xe0000, 0x100000);

/// Why the CPUs could not be found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcpiError {
    /// No valid RSDP.
    NoRsdp,
    /// The RSDT or XSDT is missing or corrupt.
    BadRootTable,
    /// No valid MADT.
    NoMadt,
}

impl core::fmt::Display for AcpiError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            AcpiError::NoRsdp => "no valid RSDP",
            AcpiError::BadRootTable => "the RSDT/XSDT is missing or corrupt",
            AcpiError::NoMadt => "no valid MADT",
        })
    }
}

/// What the RSDP points to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rsdp {
    /// Physical address of the RSDT.
    pub rsdt: u32,
    /// Physical address of the XSDT (ACPI 2.0 and later).
    pub xsdt: Option<u64>,
}

fn checksum_ok(bytes: &[u8]) -> bool {
    bytes.iter().fold(0u8, |sum, &b| sum.wrapping_add(b)) == 0
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

/// Parses an RSDP (the 20-byte ACPI 1.0 part, and the 36-byte extension
/// when its revision says there is one).
pub fn parse_rsdp(bytes: &[u8; 36]) -> Option<Rsdp> {
    if &bytes[..8] != b"RSD PTR " || !checksum_ok(&bytes[..20]) {
        return None;
    }
    let rsdt = u32_at(bytes, 16)?;
    let xsdt = if bytes[15] >= 2 {
        let length = u32_at(bytes, 20)? as usize;
        (length >= 36 && checksum_ok(&bytes[..36]))
            .then(|| u64_at(bytes, 24))
            .flatten()
    } else {
        None
    };
    Some(Rsdp {
        rsdt,
        xsdt: xsdt.filter(|&address| address != 0),
    })
}

/// The signature and length of the table header at the start of `bytes`
/// (36 bytes), if the length is sane.
pub fn header(bytes: &[u8]) -> Option<([u8; 4], usize)> {
    let signature: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
    let length = u32_at(bytes, 4)? as usize;
    (36..=1 << 20).contains(&length).then_some((signature, length))
}

/// A whole table checked: its bytes, signature and checksum.
pub fn check_table<'a>(bytes: &'a [u8], signature: &[u8; 4]) -> Option<&'a [u8]> {
    let (found, length) = header(bytes)?;
    let table = bytes.get(..length)?;
    (found == *signature && checksum_ok(table)).then_some(table)
}

/// The entries of a root table (RSDT: 4-byte addresses, XSDT: 8-byte).
pub fn root_entries(table: &[u8], wide: bool) -> impl Iterator<Item = u64> + '_ {
    let width = if wide { 8 } else { 4 };
    table.get(36..).unwrap_or(&[]).chunks_exact(width).map(move |entry| {
        if wide {
            u64::from_le_bytes(entry.try_into().expect("8 bytes"))
        } else {
            u64::from(u32::from_le_bytes(entry.try_into().expect("4 bytes")))
        }
    })
}

/// One CPU the MADT lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalApic {
    /// Its local APIC id (what inter-processor interrupts address).
    pub apic_id: u32,
    /// Its ACPI processor id.
    pub processor: u32,
}

/// The CPUs of a MADT (`table`, checked): local APIC (type 0) and x2APIC
/// (type 9) entries that are enabled or may be brought online, in table
/// order, at most [`MAX_APICS`].
pub fn madt_cpus(table: &[u8]) -> Vec<LocalApic, MAX_APICS> {
    let mut cpus = Vec::new();
    // The MADT's own fields (local APIC address, flags) take 8 bytes after
    // the header.
    let mut at = 44;
    while let (Some(&kind), Some(&length)) = (table.get(at), table.get(at + 1)) {
        let length = length as usize;
        if length < 2 || at + length > table.len() {
            break;
        }
        let entry = &table[at..at + length];
        let found = match (kind, length) {
            (0, 8..) => {
                let flags = u32_at(entry, 4).unwrap_or(0);
                (flags & 0b11 != 0).then_some(LocalApic {
                    apic_id: u32::from(entry[3]),
                    processor: u32::from(entry[2]),
                })
            }
            (9, 16..) => {
                let flags = u32_at(entry, 8).unwrap_or(0);
                (flags & 0b11 != 0).then_some(LocalApic {
                    apic_id: u32_at(entry, 4).unwrap_or(0),
                    processor: u32_at(entry, 12).unwrap_or(0),
                })
            }
            _ => None,
        };
        if let Some(cpu) = found
            && !cpus.iter().any(|c: &LocalApic| c.apic_id == cpu.apic_id)
            && cpus.push(cpu).is_err()
        {
            break;
        }
        at += length;
    }
    cpus
}

/// Finds the CPUs: the RSDP at `rsdp` (or, if that is 0, the first one
/// found in the BIOS area), its XSDT (or RSDT), and the MADT it lists.
/// `read(address, buffer)` fills `buffer` from physical memory.
pub fn find_cpus(rsdp: u64, read: &mut dyn FnMut(u64, &mut [u8])) -> Result<Vec<LocalApic, MAX_APICS>, AcpiError> {
    let mut buffer = [0u8; 36];
    let rsdp = if rsdp != 0 {
        read(rsdp, &mut buffer);
        parse_rsdp(&buffer).ok_or(AcpiError::NoRsdp)?
    } else {
        let mut found = None;
        let mut address = RSDP_SCAN.0;
        while address < RSDP_SCAN.1 && found.is_none() {
            read(address, &mut buffer);
            found = parse_rsdp(&buffer);
            address += 16;
        }
        found.ok_or(AcpiError::NoRsdp)?
    };
    let (root, wide) = match rsdp.xsdt {
        Some(xsdt) => (xsdt, true),
        None => (u64::from(rsdp.rsdt), false),
    };
    let mut table = [0u8; 4096];
    let root_table =
        read_table(root, &mut table, if wide { b"XSDT" } else { b"RSDT" }, read).ok_or(AcpiError::BadRootTable)?;
    let mut entries: Vec<u64, 64> = Vec::new();
    for entry in root_entries(root_table, wide) {
        if entries.push(entry).is_err() {
            break;
        }
    }
    for entry in entries {
        let mut madt = [0u8; 4096];
        if let Some(madt) = read_table(entry, &mut madt, b"APIC", read) {
            return Ok(madt_cpus(madt));
        }
    }
    Err(AcpiError::NoMadt)
}

/// Reads the table at `address` into `buffer` (up to its size) and checks
/// it.
fn read_table<'a>(
    address: u64,
    buffer: &'a mut [u8; 4096],
    signature: &[u8; 4],
    read: &mut dyn FnMut(u64, &mut [u8]),
) -> Option<&'a [u8]> {
    read(address, &mut buffer[..36]);
    let (_, length) = header(&buffer[..36])?;
    let length = length.min(buffer.len());
    read(address, &mut buffer[..length]);
    check_table(&buffer[..length], signature)
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::vec::Vec as StdVec;

    fn fix_checksum(bytes: &mut [u8], at: usize) {
        bytes[at] = 0;
        let sum = bytes.iter().fold(0u8, |s, &b| s.wrapping_add(b));
        bytes[at] = sum.wrapping_neg();
    }

    fn table(signature: &[u8; 4], body: &[u8]) -> StdVec<u8> {
        let mut bytes = StdVec::from(&signature[..]);
        bytes.extend_from_slice(&((36 + body.len()) as u32).to_le_bytes());
        bytes.resize(36, 0);
        bytes.extend_from_slice(body);
        fix_checksum(&mut bytes, 9);
        bytes
    }

    fn madt(entries: &[&[u8]]) -> StdVec<u8> {
        let mut body = StdVec::from(&0xfee0_0000u32.to_le_bytes()[..]);
        body.extend_from_slice(&1u32.to_le_bytes());
        for entry in entries {
            body.extend_from_slice(entry);
        }
        table(b"APIC", &body)
    }

    /// A physical memory of a few tables: RSDP at 0xe0010, XSDT at
    /// 0x1000, a FACP-like table at 0x2000 and the MADT at 0x3000.
    fn memory(madt: &[u8]) -> impl FnMut(u64, &mut [u8]) + '_ {
        let mut rsdp = [0u8; 36];
        rsdp[..8].copy_from_slice(b"RSD PTR ");
        rsdp[15] = 2;
        rsdp[16..20].copy_from_slice(&0x4000u32.to_le_bytes());
        rsdp[20..24].copy_from_slice(&36u32.to_le_bytes());
        rsdp[24..32].copy_from_slice(&0x1000u64.to_le_bytes());
        fix_checksum(&mut rsdp[..20], 8);
        fix_checksum(&mut rsdp, 32);
        let mut xsdt_body = StdVec::new();
        xsdt_body.extend_from_slice(&0x2000u64.to_le_bytes());
        xsdt_body.extend_from_slice(&0x3000u64.to_le_bytes());
        let xsdt = table(b"XSDT", &xsdt_body);
        let facp = table(b"FACP", &[0; 8]);
        move |address, out: &mut [u8]| {
            out.fill(0);
            let (base, bytes): (u64, &[u8]) = match address {
                0xe0010..0xe0040 => (0xe0010, &rsdp),
                0x1000..0x2000 => (0x1000, &xsdt),
                0x2000..0x3000 => (0x2000, &facp),
                0x3000..0x4000 => (0x3000, madt),
                _ => return,
            };
            let from = (address - base) as usize;
            let n = out.len().min(bytes.len().saturating_sub(from));
            out[..n].copy_from_slice(&bytes[from..from + n]);
        }
    }

    #[test]
    fn cpus_come_from_the_madt_found_by_scanning() {
        let madt = madt(&[
            &[0, 8, 0, 0, 1, 0, 0, 0],                          // CPU 0, APIC 0, enabled
            &[1, 12, 0, 0, 0, 0, 0xc0, 0xfe, 0, 0, 0, 0],       // an I/O APIC
            &[0, 8, 1, 2, 1, 0, 0, 0],                          // CPU 1, APIC 2
            &[0, 8, 2, 3, 0, 0, 0, 0],                          // disabled, not online-capable
            &[0, 8, 3, 4, 2, 0, 0, 0],                          // online-capable
            &[9, 16, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0], // x2APIC 9
        ]);
        let cpus = find_cpus(0, &mut memory(&madt)).unwrap();
        let ids: StdVec<u32> = cpus.iter().map(|c| c.apic_id).collect();
        assert_eq!(ids, [0, 2, 4, 9]);
        assert_eq!(cpus[3].processor, 7);
        // Given the RSDP's address, no scan.
        assert_eq!(find_cpus(0xe0010, &mut memory(&madt)).unwrap().len(), 4);
    }

    #[test]
    fn corrupt_tables_are_refused() {
        let mut madt = madt(&[&[0, 8, 0, 0, 1, 0, 0, 0]]);
        let last = madt.len() - 1;
        madt[last] ^= 1;
        assert_eq!(find_cpus(0, &mut memory(&madt)), Err(AcpiError::NoMadt));
        assert_eq!(find_cpus(0x5000, &mut memory(&madt)), Err(AcpiError::NoRsdp));
        // Entries that run past the table, or claim length 0, stop the walk.
        let madt = madt_cpus(&madt_raw(&[
            &[0, 8, 0, 1, 1, 0, 0, 0],
            &[0, 0],
            &[0, 8, 1, 2, 1, 0, 0, 0],
        ]));
        assert_eq!(madt.len(), 1);
        let madt = madt_cpus(&madt_raw(&[&[0, 40, 0, 1, 1, 0, 0, 0]]));
        assert!(madt.is_empty());
    }

    fn madt_raw(entries: &[&[u8]]) -> StdVec<u8> {
        madt(entries)
    }

    #[test]
    fn rsdp_checksums_and_revisions() {
        let mut bytes = [0u8; 36];
        bytes[..8].copy_from_slice(b"RSD PTR ");
        bytes[16..20].copy_from_slice(&0x1234u32.to_le_bytes());
        fix_checksum(&mut bytes[..20], 8);
        assert_eq!(
            parse_rsdp(&bytes),
            Some(Rsdp {
                rsdt: 0x1234,
                xsdt: None
            })
        );
        bytes[16] ^= 1;
        assert_eq!(parse_rsdp(&bytes), None);
    }
}
