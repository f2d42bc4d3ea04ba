//! ELF checks: decides whether a program image may be loaded, and how.
//!
//! The bytes come from the initrd and are treated as hostile. elf_rs reads
//! the headers; this module checks everything the loader relies on (class,
//! machine, type, segment ranges inside user space, no overlap, W^X) and
//! produces a [`LoadPlan`] the loader follows without further checks.

use abi::{PAGE_SIZE, USER_BASE};
use core::fmt;
use elf_rs::{Elf, ElfClass, ElfEndian, ElfFile, ElfMachine, ElfType, ProgramHeaderFlags, ProgramType};
use heapless::Vec;

/// Loadable segments one program may have.
pub const MAX_SEGMENTS: usize = 8;
/// Bytes of headers (ELF header and program headers) that are examined.
const HEADER_WINDOW: usize = 1024;

/// One segment to map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Virtual address of the first byte (not necessarily page-aligned).
    pub vaddr: u64,
    /// Bytes in memory; the part beyond `file_len` is zero.
    pub mem_len: u64,
    /// Offset in the image of the bytes copied to `vaddr` (`p_offset`).
    pub file_offset: u64,
    /// Bytes copied from the image (`p_filesz`): at most `mem_len`, and
    /// `file_offset + file_len` lies inside the image.
    pub file_len: u64,
    /// Mapped writable (`PF_W`). Never set together with `executable`.
    pub writable: bool,
    /// Mapped executable (`PF_X`). Never set together with `writable`.
    pub executable: bool,
}

impl Segment {
    /// Page-aligned `[start, end)` the segment occupies.
    pub fn pages(&self) -> (u64, u64) {
        let start = self.vaddr & !(PAGE_SIZE - 1);
        let end = (self.vaddr + self.mem_len).next_multiple_of(PAGE_SIZE);
        (start, end)
    }
}

/// What the loader needs: the entry point and the segments to map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadPlan {
    /// Virtual address the program starts at (`e_entry`); it lies inside an
    /// executable segment.
    pub entry: u64,
    /// The `PT_LOAD` segments with a non-zero memory size, in program header
    /// order: at least one, each inside user space, no two sharing a page.
    pub segments: Vec<Segment, MAX_SEGMENTS>,
}

/// Why an image was refused.
///
/// The `index` of the per-segment errors is the header's position in the
/// program header table, counting every entry, loadable or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElfError {
    /// The image does not start with the magic bytes `\x7fELF`.
    NotElf,
    /// The ELF header or the program header table extends past the end of
    /// the image or past its first 1024 bytes, the only ones examined.
    Truncated,
    /// Not `ELFCLASS64`.
    NotElf64,
    /// Not `ELFDATA2LSB`.
    NotLittleEndian,
    /// `e_machine` is not `EM_X86_64`.
    NotX86_64,
    /// `e_type` is not `ET_EXEC`: the loader does not relocate, so
    /// position-independent (`ET_DYN`) images are refused too.
    NotExecutable,
    /// `e_phentsize` is not 56, the size of an ELF64 program header.
    BadProgramHeaderSize,
    /// The program header table's offset is not a multiple of 8.
    MisalignedProgramHeaders,
    /// There is a `PT_INTERP` or `PT_DYNAMIC` header: the program needs a
    /// dynamic linker, and there is none.
    Dynamic,
    /// No `PT_LOAD` header with a non-zero memory size.
    NoLoadableSegments,
    /// More than [`MAX_SEGMENTS`] loadable segments.
    TooManySegments,
    /// The segment's file bytes (`p_offset .. p_offset + p_filesz`) extend
    /// past the end of the image.
    SegmentOutsideFile {
        /// The segment's index in the program header table.
        index: usize,
    },
    /// `p_filesz` is larger than `p_memsz`.
    FileLargerThanMemory {
        /// The segment's index in the program header table.
        index: usize,
    },
    /// The segment's memory (`p_vaddr .. p_vaddr + p_memsz`) starts below
    /// [`USER_BASE`] or ends above the limit the caller gave [`check`].
    SegmentOutsideUserSpace {
        /// The segment's index in the program header table.
        index: usize,
    },
    /// The segment asks for both `PF_W` and `PF_X` (W^X).
    WritableAndExecutable {
        /// The segment's index in the program header table.
        index: usize,
    },
    /// Two loadable segments touch the same page, which could be mapped with
    /// only one set of permissions. Unlike the other errors, the indexes
    /// count loadable segments only (positions in [`LoadPlan::segments`]).
    Overlap {
        /// The earlier of the two segments.
        first: usize,
        /// The later of the two segments (`second > first`).
        second: usize,
    },
    /// `e_entry` is not inside an executable segment.
    EntryNotExecutable,
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElfError::NotElf => f.write_str("not an ELF file"),
            ElfError::Truncated => f.write_str("headers are truncated"),
            ElfError::NotElf64 => f.write_str("not a 64-bit ELF"),
            ElfError::NotLittleEndian => f.write_str("not little-endian"),
            ElfError::NotX86_64 => f.write_str("not an x86-64 program"),
            ElfError::NotExecutable => f.write_str("not a static executable (ET_EXEC)"),
            ElfError::BadProgramHeaderSize => f.write_str("unexpected program header size"),
            ElfError::MisalignedProgramHeaders => f.write_str("program header table is not 8-byte aligned"),
            ElfError::Dynamic => f.write_str("dynamically linked (has PT_INTERP or PT_DYNAMIC)"),
            ElfError::NoLoadableSegments => f.write_str("no loadable segments"),
            ElfError::TooManySegments => write!(f, "more than {MAX_SEGMENTS} loadable segments"),
            ElfError::SegmentOutsideFile { index } => write!(f, "segment {index} lies outside the file"),
            ElfError::FileLargerThanMemory { index } => write!(f, "segment {index} has filesz > memsz"),
            ElfError::SegmentOutsideUserSpace { index } => {
                write!(f, "segment {index} lies outside user space")
            }
            ElfError::WritableAndExecutable { index } => {
                write!(f, "segment {index} is both writable and executable (W^X)")
            }
            ElfError::Overlap { first, second } => write!(f, "segments {first} and {second} share a page"),
            ElfError::EntryNotExecutable => f.write_str("entry point is not in an executable segment"),
        }
    }
}

/// A copy of the header bytes with the alignment elf_rs's `repr(C)` casts
/// need: initrd files are only 4-byte aligned.
#[repr(C, align(8))]
struct HeaderWindow([u8; HEADER_WINDOW]);

/// Checks `image` for loading below `user_end` (the lowest address the
/// loader reserves, e.g. for the stack) and returns how to load it.
pub fn check(image: &[u8], user_end: u64) -> Result<LoadPlan, ElfError> {
    if image.len() < 4 || &image[..4] != b"\x7fELF" {
        return Err(ElfError::NotElf);
    }
    let mut window = HeaderWindow([0; HEADER_WINDOW]);
    let header_len = image.len().min(HEADER_WINDOW);
    window.0[..header_len].copy_from_slice(&image[..header_len]);
    let headers = &window.0[..header_len];

    let elf = match Elf::from_bytes(headers) {
        Ok(Elf::Elf64(elf)) => elf,
        Ok(Elf::Elf32(_)) => return Err(ElfError::NotElf64),
        Err(elf_rs::Error::InvalidClass) => return Err(ElfError::NotElf64),
        Err(elf_rs::Error::InvalidMagic) => return Err(ElfError::NotElf),
        Err(elf_rs::Error::BufferTooShort) => return Err(ElfError::Truncated),
    };
    let header = elf.elf_header();
    if header.class() != ElfClass::Elf64 {
        return Err(ElfError::NotElf64);
    }
    if header.endianness() != ElfEndian::LittleEndian {
        return Err(ElfError::NotLittleEndian);
    }
    if header.machine() != ElfMachine::x86_64 {
        return Err(ElfError::NotX86_64);
    }
    if header.elftype() != ElfType::ET_EXEC {
        return Err(ElfError::NotExecutable);
    }
    if header.program_header_entry_size() != 56 {
        return Err(ElfError::BadProgramHeaderSize);
    }
    let count = header.program_header_entry_num() as u64;
    let table_end = header
        .program_header_offset()
        .checked_add(count * 56)
        .ok_or(ElfError::Truncated)?;
    if table_end > header_len as u64 {
        return Err(ElfError::Truncated);
    }
    // elf_rs reads the table as a slice of `repr(C)` headers: the copy above
    // aligns the file's start, so the offset must be aligned too (a
    // misaligned slice would be undefined behaviour).
    if !header.program_header_offset().is_multiple_of(8) {
        return Err(ElfError::MisalignedProgramHeaders);
    }

    let mut segments: Vec<Segment, MAX_SEGMENTS> = Vec::new();
    for (index, ph) in elf.program_header_iter().enumerate() {
        match ph.ph_type() {
            ProgramType::LOAD => {}
            ProgramType::DYNAMIC => return Err(ElfError::Dynamic),
            ProgramType::INTERP => return Err(ElfError::Dynamic),
            _ => continue,
        }
        if ph.memsz() == 0 {
            continue;
        }
        let file_end = ph
            .offset()
            .checked_add(ph.filesz())
            .ok_or(ElfError::SegmentOutsideFile { index })?;
        if file_end > image.len() as u64 {
            return Err(ElfError::SegmentOutsideFile { index });
        }
        if ph.filesz() > ph.memsz() {
            return Err(ElfError::FileLargerThanMemory { index });
        }
        let end = ph
            .vaddr()
            .checked_add(ph.memsz())
            .ok_or(ElfError::SegmentOutsideUserSpace { index })?;
        if ph.vaddr() < USER_BASE || end > user_end {
            return Err(ElfError::SegmentOutsideUserSpace { index });
        }
        let flags = ph.flags();
        let writable = flags.contains(ProgramHeaderFlags::WRITE);
        let executable = flags.contains(ProgramHeaderFlags::EXECUTE);
        if writable && executable {
            return Err(ElfError::WritableAndExecutable { index });
        }
        let segment = Segment {
            vaddr: ph.vaddr(),
            mem_len: ph.memsz(),
            file_offset: ph.offset(),
            file_len: ph.filesz(),
            writable,
            executable,
        };
        segments.push(segment).map_err(|_| ElfError::TooManySegments)?;
    }
    if segments.is_empty() {
        return Err(ElfError::NoLoadableSegments);
    }
    for (first, a) in segments.iter().enumerate() {
        for (offset, b) in segments[first + 1..].iter().enumerate() {
            let (a_start, a_end) = a.pages();
            let (b_start, b_end) = b.pages();
            if a_start < b_end && b_start < a_end {
                return Err(ElfError::Overlap {
                    first,
                    second: first + 1 + offset,
                });
            }
        }
    }
    let entry = header.entry_point();
    let in_code = segments
        .iter()
        .any(|s| s.executable && s.vaddr <= entry && entry < s.vaddr + s.mem_len);
    if !in_code {
        return Err(ElfError::EntryNotExecutable);
    }
    Ok(LoadPlan { entry, segments })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec as StdVec;

    const USER_END: u64 = 0x7fff_0000_0000;

    struct Ph {
        kind: u32,
        flags: u32,
        offset: u64,
        vaddr: u64,
        filesz: u64,
        memsz: u64,
    }

    fn load(flags: u32, offset: u64, vaddr: u64, filesz: u64, memsz: u64) -> Ph {
        Ph {
            kind: 1,
            flags,
            offset,
            vaddr,
            filesz,
            memsz,
        }
    }

    /// Builds a minimal ELF64 executable image with the given headers.
    fn image(entry: u64, phs: &[Ph], total: usize) -> StdVec<u8> {
        let mut bytes = StdVec::new();
        bytes.extend_from_slice(b"\x7fELF");
        bytes.extend_from_slice(&[2, 1, 1, 0]); // 64-bit, little-endian, version, SysV
        bytes.extend_from_slice(&[0; 8]);
        bytes.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
        bytes.extend_from_slice(&62u16.to_le_bytes()); // x86-64
        bytes.extend_from_slice(&1u32.to_le_bytes());
        bytes.extend_from_slice(&entry.to_le_bytes());
        bytes.extend_from_slice(&64u64.to_le_bytes()); // phoff
        bytes.extend_from_slice(&0u64.to_le_bytes()); // shoff
        bytes.extend_from_slice(&0u32.to_le_bytes());
        bytes.extend_from_slice(&64u16.to_le_bytes()); // ehsize
        bytes.extend_from_slice(&56u16.to_le_bytes()); // phentsize
        bytes.extend_from_slice(&(phs.len() as u16).to_le_bytes());
        bytes.extend_from_slice(&[0; 6]);
        for ph in phs {
            bytes.extend_from_slice(&ph.kind.to_le_bytes());
            bytes.extend_from_slice(&ph.flags.to_le_bytes());
            for value in [ph.offset, ph.vaddr, ph.vaddr, ph.filesz, ph.memsz, 0x1000] {
                bytes.extend_from_slice(&value.to_le_bytes());
            }
        }
        bytes.resize(total.max(bytes.len()), 0xcc);
        bytes
    }

    const R: u32 = 4;
    const W: u32 = 2;
    const X: u32 = 1;

    fn good() -> StdVec<u8> {
        image(
            0x40_1000,
            &[
                load(R, 0, 0x40_0000, 0x200, 0x200),
                load(R | X, 0x1000, 0x40_1000, 0x100, 0x100),
                load(R | W, 0x2000, 0x40_2000, 0x10, 0x3000),
            ],
            0x3000,
        )
    }

    #[test]
    fn accepts_a_static_executable() {
        let plan = check(&good(), USER_END).unwrap();
        assert_eq!(plan.entry, 0x40_1000);
        assert_eq!(plan.segments.len(), 3);
        assert!(plan.segments[1].executable && !plan.segments[1].writable);
        assert_eq!(plan.segments[2].pages(), (0x40_2000, 0x40_5000));
    }

    #[test]
    fn works_from_a_misaligned_buffer() {
        let mut shifted = std::vec![0u8; 4];
        shifted.extend_from_slice(&good());
        assert!(check(&shifted[4..], USER_END).is_ok());
    }

    #[test]
    fn refuses_malformed_headers() {
        assert_eq!(check(b"", USER_END), Err(ElfError::NotElf));
        assert_eq!(check(b"MZ\x90\x00", USER_END), Err(ElfError::NotElf));
        assert_eq!(check(&good()[..40], USER_END), Err(ElfError::Truncated));
        let mut bad = good();
        bad[4] = 1; // ELFCLASS32
        assert!(matches!(
            check(&bad, USER_END),
            Err(ElfError::NotElf64 | ElfError::Truncated)
        ));
        let mut bad = good();
        bad[5] = 2;
        assert_eq!(check(&bad, USER_END), Err(ElfError::NotLittleEndian));
        let mut bad = good();
        bad[18] = 3; // EM_386
        assert_eq!(check(&bad, USER_END), Err(ElfError::NotX86_64));
        let mut bad = good();
        bad[16] = 3; // ET_DYN
        assert_eq!(check(&bad, USER_END), Err(ElfError::NotExecutable));
        let mut bad = good();
        bad[54] = 32; // phentsize
        assert_eq!(check(&bad, USER_END), Err(ElfError::BadProgramHeaderSize));
        let mut bad = good();
        bad[56] = 200; // phnum beyond the file
        assert_eq!(check(&bad, USER_END), Err(ElfError::Truncated));
    }

    #[test]
    fn refuses_bad_segments() {
        let cases: [(StdVec<Ph>, u64, usize, ElfError); 8] = [
            (
                std::vec![load(R | X, 0x1000, 0x40_0000, 0x10, 0x10)],
                0x40_0000,
                0x100,
                ElfError::SegmentOutsideFile { index: 0 },
            ),
            (
                std::vec![load(R | X, 0, 0x40_0000, 0x20, 0x10)],
                0x40_0000,
                0x1000,
                ElfError::FileLargerThanMemory { index: 0 },
            ),
            (
                std::vec![load(R | X, 0, 0x1000, 0x10, 0x10)],
                0x1000,
                0x1000,
                ElfError::SegmentOutsideUserSpace { index: 0 },
            ),
            (
                std::vec![load(R | X, 0, USER_END - 0x10, 0x10, 0x20)],
                USER_END - 0x10,
                0x1000,
                ElfError::SegmentOutsideUserSpace { index: 0 },
            ),
            (
                std::vec![load(R | X, 0, u64::MAX - 0x10, 0x10, 0x20)],
                u64::MAX - 0x10,
                0x1000,
                ElfError::SegmentOutsideUserSpace { index: 0 },
            ),
            (
                std::vec![load(R | W | X, 0, 0x40_0000, 0x10, 0x10)],
                0x40_0000,
                0x1000,
                ElfError::WritableAndExecutable { index: 0 },
            ),
            (
                std::vec![
                    load(R | X, 0, 0x40_0000, 0x10, 0x10),
                    load(R | W, 0, 0x40_0800, 0x10, 0x10)
                ],
                0x40_0000,
                0x1000,
                ElfError::Overlap { first: 0, second: 1 },
            ),
            (
                std::vec![load(R, 0, 0x40_0000, 0x10, 0x10)],
                0x40_0000,
                0x1000,
                ElfError::EntryNotExecutable,
            ),
        ];
        for (phs, entry, total, expected) in cases {
            assert_eq!(check(&image(entry, &phs, total), USER_END), Err(expected));
        }
        let dynamic = image(
            0x40_0000,
            &[Ph {
                kind: 2,
                flags: R,
                offset: 0,
                vaddr: 0x40_0000,
                filesz: 0,
                memsz: 0,
            }],
            0x100,
        );
        assert_eq!(check(&dynamic, USER_END), Err(ElfError::Dynamic));
        assert_eq!(
            check(&image(0x40_0000, &[], 0x100), USER_END),
            Err(ElfError::NoLoadableSegments)
        );
        let many: StdVec<Ph> = (0..9)
            .map(|i| load(R | X, 0, 0x40_0000 + i * 0x1000, 0x10, 0x10))
            .collect();
        assert_eq!(
            check(&image(0x40_0000, &many, 0x1000), USER_END),
            Err(ElfError::TooManySegments)
        );
    }
}
