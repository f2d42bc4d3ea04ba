//! Host-side fuzzing of the kernel's parsers of untrusted input: program
//! images ([`elf::check`]), the firmware memory map ([`memmap::usable_ram`]),
//! the command line ([`cmdline`]) and handle values user programs pass
//! ([`HandleTable`]).
//!
//! Deterministic and dependency-free: a splitmix64 generator drives mutation
//! of valid seeds and generation of valid-looking inputs, and every input is
//! checked against the parser's documented invariants and against a small
//! independent model of what it should accept, not just for "no panic".
//!
//! `cargo test -p kernel-core --test parsers` runs a short campaign.
//! Environment:
//!
//! - `FUZZ_ITERATIONS=N`: iterations of every target (default: per target);
//! - `FUZZ_SEED=S`: base seed (decimal or `0x…`);
//! - `FUZZ_ONLY=I`: run only iteration `I`. Every iteration derives its own
//!   generator from the seed and its number, so the `FUZZ_SEED=… FUZZ_ONLY=…`
//!   a failure prints replays that one input alone (it is also saved to a
//!   file, whose path is printed);
//!
//! Long run, optimised but with overflow checks and debug assertions kept:
//!
//! ```text
//! CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS=true CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS=true \
//!   FUZZ_ITERATIONS=10000000 cargo test -p kernel-core --release --test parsers -- --nocapture
//! ```
//!
//! One target alone: `cargo test -p kernel-core --test parsers elf_mutation`.
//!
//! Regression inputs live in `microkernel/core/tests/corpus/`: in `elf/`, `ok-*`
//! files must be accepted and `err-*` refused; inputs that once exposed a
//! bug also have a `regression_*` test naming the exact error. The
//! `memmap/*.map` files are maps in a text format (`start end kind` lines,
//! optional `expect start end` lines for the exact result). Every file also seeds the mutation targets.

use abi::Error;
use abi::handle::{MAX_HANDLES, Rights};
use abi::{PAGE_SIZE, USER_BASE, USER_END};
use kernel_core::cmdline;
use kernel_core::config::USER_IMAGE_END;
use kernel_core::elf::{self, LoadPlan, MAX_SEGMENTS, Segment};
use kernel_core::handles::{HandleEntry, HandleTable, Object};
use kernel_core::memmap::{self, MAX_REGIONS, Region, RegionKind};
use std::collections::BTreeMap;
use std::fmt;

// ------------------------------------------------------------------ harness

use fuzzing::{Input, Mutation, Outcome, Rng, Suite, escape};

const SUITE: Suite = Suite {
    default_seed: 0x6d69_6372_6f6b_726e,
    corpus_dir: concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus"),
    save_dir: "microkernel-fuzz",
};

fn fuzz<T: Input>(
    target: &'static str,
    iterations: u64,
    generate: impl Fn(&mut Rng) -> T,
    check: impl Fn(&T) -> Outcome,
) {
    SUITE.fuzz(target, iterations, generate, check);
}

fn corpus(kind: &str) -> Vec<(String, Vec<u8>)> {
    SUITE.corpus(kind)
}

fn corpus_file(kind: &str, name: &str) -> Vec<u8> {
    SUITE.corpus_file(kind, name)
}

/// The byte-level mutations of the kernel's parsers: positions mostly in
/// the first `hot` bytes (the headers).
fn mutation(hot: usize) -> Mutation {
    Mutation {
        interesting: &[
            0, 0xff, 0x7f, 0x80, 1, 0xfe, 0x40, 0x38, b'0', b'9', b'a', b'f', b'\n', b'#', b' ', 0x20,
        ],
        hot: Some(hot),
        duplicate: 64,
    }
}

// ---------------------------------------------------------------------- ELF
//
// Bugs this fuzzer found, now fixed (their regression tests are below):
//
// 1. PT_INTERP was not refused: `check` matched `ProgramType::Unknown(3)`,
//    but elf_rs decodes type 3 as `ProgramType::INTERP`.
// 2. A program header table at an offset that is not a multiple of 8 made
//    elf_rs build a misaligned `&[ProgramHeader64]` (undefined behaviour,
//    an abort in debug builds): `check` now refuses such a table.

const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;
const PF_X: u32 = 1;
const PF_W: u32 = 2;
const PF_R: u32 = 4;
const PH_SIZE: u64 = 56;
const HEADER_WINDOW: u64 = 1024;

#[derive(Clone, Copy, Debug)]
struct Ph {
    kind: u32,
    flags: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
    memsz: u64,
}

#[derive(Clone, Copy, Debug)]
struct Ehdr {
    class: u8,
    data: u8,
    elf_type: u16,
    machine: u16,
    entry: u64,
    phoff: u64,
    ehsize: u16,
    phentsize: u16,
    phnum: u16,
}

impl Ehdr {
    fn valid(entry: u64, phnum: usize) -> Ehdr {
        Ehdr {
            class: 2,
            data: 1,
            elf_type: 2,
            machine: 62,
            entry,
            phoff: 64,
            ehsize: 64,
            phentsize: 56,
            phnum: phnum as u16,
        }
    }
}

fn put(bytes: &mut [u8], at: u64, value: &[u8]) {
    let Ok(at) = usize::try_from(at) else { return };
    if let Some(end) = at.checked_add(value.len())
        && end <= bytes.len()
    {
        bytes[at..end].copy_from_slice(value);
    }
}

/// An ELF64 image of `len` bytes (filled with 0xcc) with these headers; a
/// table that does not fit is cut.
fn build_elf(header: &Ehdr, phs: &[Ph], len: usize) -> Vec<u8> {
    let table_end = header
        .phoff
        .saturating_add(PH_SIZE * phs.len() as u64)
        .min(HEADER_WINDOW + 4096);
    let mut bytes = vec![0xccu8; len.max(64).max(table_end as usize)];
    bytes[..64].fill(0);
    put(&mut bytes, 0, b"\x7fELF");
    put(&mut bytes, 4, &[header.class, header.data, 1, 0]);
    put(&mut bytes, 16, &header.elf_type.to_le_bytes());
    put(&mut bytes, 18, &header.machine.to_le_bytes());
    put(&mut bytes, 20, &1u32.to_le_bytes());
    put(&mut bytes, 24, &header.entry.to_le_bytes());
    put(&mut bytes, 32, &header.phoff.to_le_bytes());
    put(&mut bytes, 52, &header.ehsize.to_le_bytes());
    put(&mut bytes, 54, &header.phentsize.to_le_bytes());
    put(&mut bytes, 56, &header.phnum.to_le_bytes());
    for (index, ph) in phs.iter().enumerate() {
        let at = header.phoff.saturating_add(PH_SIZE * index as u64);
        put(&mut bytes, at, &ph.kind.to_le_bytes());
        put(&mut bytes, at.saturating_add(4), &ph.flags.to_le_bytes());
        for (field, value) in [ph.offset, ph.vaddr, ph.vaddr, ph.filesz, ph.memsz, 0x1000]
            .into_iter()
            .enumerate()
        {
            put(
                &mut bytes,
                at.saturating_add(8 + 8 * field as u64),
                &value.to_le_bytes(),
            );
        }
    }
    bytes.truncate(len);
    bytes
}

/// A small valid image: R, R+X and R+W segments on separate pages.
fn handmade_elf() -> Vec<u8> {
    let phs = [
        Ph {
            kind: PT_LOAD,
            flags: PF_R,
            offset: 0,
            vaddr: 0x40_0000,
            filesz: 0x200,
            memsz: 0x200,
        },
        Ph {
            kind: PT_LOAD,
            flags: PF_R | PF_X,
            offset: 0x1000,
            vaddr: 0x40_1000,
            filesz: 0x100,
            memsz: 0x100,
        },
        Ph {
            kind: PT_LOAD,
            flags: PF_R | PF_W,
            offset: 0x2000,
            vaddr: 0x40_2000,
            filesz: 0x10,
            memsz: 0x3000,
        },
    ];
    build_elf(&Ehdr::valid(0x40_1000, phs.len()), &phs, 0x2010)
}

struct ElfCase {
    image: Vec<u8>,
    user_end: u64,
}

impl fmt::Debug for ElfCase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "user_end {:#x}, {} bytes: {}",
            self.user_end,
            self.image.len(),
            escape(&self.image)
        )
    }
}

impl Input for ElfCase {
    fn raw(&self) -> Vec<u8> {
        self.image.clone()
    }
}

fn u16_at(bytes: &[u8], at: u64) -> u16 {
    u16::from_le_bytes([bytes[at as usize], bytes[at as usize + 1]])
}

fn u32_at(bytes: &[u8], at: u64) -> u32 {
    u32::from_le_bytes(bytes[at as usize..at as usize + 4].try_into().expect("4 bytes"))
}

fn u64_at(bytes: &[u8], at: u64) -> u64 {
    u64::from_le_bytes(bytes[at as usize..at as usize + 8].try_into().expect("8 bytes"))
}

/// The program header table, if the ELF header passes every check that
/// comes before the segments: `(phoff, phnum)`. Written from the ELF
/// specification and `check`'s documentation, independently of elf_rs.
fn model_table(image: &[u8]) -> Option<(u64, u64)> {
    let window = image.len().min(HEADER_WINDOW as usize);
    if image.len() < 4 || &image[..4] != b"\x7fELF" || window < 64 {
        return None;
    }
    let ehsize = u16_at(image, 52);
    let ok = image[4] == 2
        && image[5] == 1
        && u16_at(image, 18) == 62
        && u16_at(image, 16) == 2
        && u16_at(image, 54) == PH_SIZE as u16
        && usize::from(ehsize) <= window;
    let phoff = u64_at(image, 32);
    let phnum = u64::from(u16_at(image, 56));
    let table_end = phoff.checked_add(phnum * PH_SIZE)?;
    (ok && table_end <= window as u64 && phoff.is_multiple_of(8)).then_some((phoff, phnum))
}

/// What `check` should return, as the segments of the plan; `Err(())` for a
/// refusal.
fn model_elf(image: &[u8], user_end: u64) -> Result<Vec<Segment>, ()> {
    let (phoff, phnum) = model_table(image).ok_or(())?;
    let mut segments = Vec::new();
    for index in 0..phnum {
        let at = phoff + index * PH_SIZE;
        let kind = u32_at(image, at);
        let flags = u32_at(image, at + 4);
        let offset = u64_at(image, at + 8);
        let vaddr = u64_at(image, at + 16);
        let filesz = u64_at(image, at + 32);
        let memsz = u64_at(image, at + 40);
        match kind {
            PT_LOAD => {}
            PT_DYNAMIC => return Err(()),
            PT_INTERP => return Err(()),
            _ => continue,
        }
        if memsz == 0 {
            continue;
        }
        let file_end = offset.checked_add(filesz).ok_or(())?;
        let end = vaddr.checked_add(memsz).ok_or(())?;
        let writable = flags & PF_W != 0;
        let executable = flags & PF_X != 0;
        if file_end > image.len() as u64
            || filesz > memsz
            || vaddr < USER_BASE
            || end > user_end
            || (writable && executable)
            || segments.len() == MAX_SEGMENTS
        {
            return Err(());
        }
        segments.push(Segment {
            vaddr,
            mem_len: memsz,
            file_offset: offset,
            file_len: filesz,
            writable,
            executable,
        });
    }
    let page = |s: &Segment| (s.vaddr / PAGE_SIZE, (s.vaddr + s.mem_len - 1) / PAGE_SIZE);
    for (i, a) in segments.iter().enumerate() {
        for b in &segments[i + 1..] {
            let ((a0, a1), (b0, b1)) = (page(a), page(b));
            if a0 <= b1 && b0 <= a1 {
                return Err(());
            }
        }
    }
    let entry = u64_at(image, 24);
    let in_code = segments
        .iter()
        .any(|s| s.executable && (s.vaddr..s.vaddr + s.mem_len).contains(&entry));
    if segments.is_empty() || !in_code {
        return Err(());
    }
    Ok(segments)
}

/// The documented guarantees of a plan `check` accepted.
fn check_plan(plan: &LoadPlan, image: &[u8], user_end: u64, entry: u64) {
    assert!(!plan.segments.is_empty() && plan.segments.len() <= MAX_SEGMENTS);
    assert_eq!(plan.entry, entry, "the entry point is the header's");
    for s in &plan.segments {
        let file_end = s.file_offset.checked_add(s.file_len).expect("file range wraps");
        assert!(file_end <= image.len() as u64, "segment outside the file: {s:?}");
        assert!(s.file_len <= s.mem_len && s.mem_len > 0, "bad sizes: {s:?}");
        let end = s.vaddr.checked_add(s.mem_len).expect("memory range wraps");
        assert!(s.vaddr >= USER_BASE && end <= user_end, "outside user space: {s:?}");
        assert!(!(s.writable && s.executable), "W+X: {s:?}");
        let (start, stop) = s.pages();
        assert!(start.is_multiple_of(PAGE_SIZE) && stop.is_multiple_of(PAGE_SIZE));
        assert!(start <= s.vaddr && end <= stop && start >= USER_BASE && stop <= user_end);
    }
    for (i, a) in plan.segments.iter().enumerate() {
        for b in &plan.segments[i + 1..] {
            let ((a0, a1), (b0, b1)) = (a.pages(), b.pages());
            assert!(a1 <= b0 || b1 <= a0, "segments share a page: {a:?} {b:?}");
        }
    }
    assert!(
        plan.segments
            .iter()
            .any(|s| s.executable && s.vaddr <= plan.entry && plan.entry - s.vaddr < s.mem_len),
        "entry {:#x} outside every executable segment",
        plan.entry
    );
}

fn check_elf(case: &ElfCase) -> Outcome {
    let (image, user_end) = (&case.image[..], case.user_end);
    let result = elf::check(image, user_end);
    assert_eq!(elf::check(image, user_end), result, "not deterministic");
    // The buffer's own alignment must not matter.
    let mut shifted = vec![0u8; image.len() + 3];
    shifted[3..].copy_from_slice(image);
    assert_eq!(
        elf::check(&shifted[3..], user_end),
        result,
        "depends on buffer alignment"
    );

    let model = model_elf(image, user_end);
    match (&result, &model) {
        (Ok(plan), Ok(segments)) => {
            assert_eq!(
                plan.segments.as_slice(),
                segments.as_slice(),
                "plan differs from the model"
            );
            check_plan(plan, image, user_end, u64_at(image, 24));
        }
        (Err(_), Err(())) => {}
        (Ok(plan), Err(())) => panic!("accepted, but the model refuses: {plan:?}"),
        (Err(error), Ok(_)) => panic!("refused with {error:?}, but the model accepts"),
    }
    match result {
        Ok(_) => Outcome::Accepted,
        Err(error) => {
            let _ = format!("{error}");
            Outcome::Refused(elf_error_name(error))
        }
    }
}

fn elf_error_name(error: elf::ElfError) -> &'static str {
    use elf::ElfError::*;
    match error {
        NotElf => "NotElf",
        Truncated => "Truncated",
        NotElf64 => "NotElf64",
        NotLittleEndian => "NotLittleEndian",
        NotX86_64 => "NotX86_64",
        NotExecutable => "NotExecutable",
        BadProgramHeaderSize => "BadProgramHeaderSize",
        MisalignedProgramHeaders => "MisalignedProgramHeaders",
        Dynamic => "Dynamic",
        NoLoadableSegments => "NoLoadableSegments",
        TooManySegments => "TooManySegments",
        SegmentOutsideFile { .. } => "SegmentOutsideFile",
        FileLargerThanMemory { .. } => "FileLargerThanMemory",
        SegmentOutsideUserSpace { .. } => "SegmentOutsideUserSpace",
        WritableAndExecutable { .. } => "WritableAndExecutable",
        Overlap { .. } => "Overlap",
        EntryNotExecutable => "EntryNotExecutable",
    }
}

/// Values near every boundary `check` compares against.
fn interesting_u64(rng: &mut Rng) -> u64 {
    let base = rng.pick(&[
        0,
        1,
        0xfff,
        PAGE_SIZE,
        USER_BASE,
        USER_BASE + PAGE_SIZE,
        0x40_0000,
        USER_IMAGE_END,
        USER_END,
        0x7fff_ffff_ffff,
        0x8000_0000_0000,
        0xffff_8000_0000_0000,
        1 << 63,
        u64::MAX,
        u64::MAX - PAGE_SIZE + 1,
        u32::MAX as u64,
        HEADER_WINDOW,
    ]);
    match rng.below(4) {
        0 => base,
        1 => base.wrapping_add(rng.below(16)),
        2 => base.wrapping_sub(rng.below(16)),
        _ => base.wrapping_add(rng.below(3 * PAGE_SIZE)).wrapping_sub(PAGE_SIZE),
    }
}

fn random_user_end(rng: &mut Rng) -> u64 {
    match rng.below(8) {
        0 => USER_END,
        1 => USER_BASE + rng.below(0x400) * PAGE_SIZE,
        2 => (USER_BASE + rng.below(USER_END - USER_BASE)) & !(PAGE_SIZE - 1),
        _ => USER_IMAGE_END,
    }
}

fn random_elf(rng: &mut Rng) -> ElfCase {
    // Percent of choices that go wild: a quarter of the images are sane
    // throughout, so that the checks after the header see plenty of input.
    let wildness = rng.pick(&[0, 3, 10, 30]);
    let wild = |rng: &mut Rng| rng.below(100) < wildness;
    let user_end = if wild(rng) {
        random_user_end(rng)
    } else {
        USER_IMAGE_END
    };
    let count = if wild(rng) { rng.index(14) } else { 1 + rng.index(6) };
    let mut phs: Vec<Ph> = Vec::new();
    let mut vaddr = if wild(rng) {
        interesting_u64(rng)
    } else {
        USER_BASE + rng.below(64) * PAGE_SIZE
    };
    let mut offset = 0u64;
    for index in 0..count {
        let kind = if !wild(rng) {
            if rng.one_in(6) {
                rng.pick(&[4, 6, 0x6474_e550, 0x6474_e551, 0x6474_e552])
            } else {
                PT_LOAD
            }
        } else {
            match rng.below(4) {
                0 => PT_DYNAMIC,
                1 => PT_INTERP,
                2 => rng.pick(&[0, 7, 0x6000_0000, 0x7000_0000]),
                _ => rng.u64() as u32,
            }
        };
        let flags = if !wild(rng) {
            match (index, rng.below(3)) {
                (0, _) | (_, 0) => PF_R | PF_X,
                (_, 1) => PF_R,
                _ => PF_R | PF_W,
            }
        } else {
            {
                let junk = rng.u64() as u32;
                rng.pick(&[PF_R | PF_W | PF_X, PF_W | PF_X, PF_X, PF_W, 0, junk])
            }
        };
        let memsz = if !wild(rng) {
            1 + rng.below(3 * PAGE_SIZE)
        } else {
            match rng.below(4) {
                0 => 0,
                1 => interesting_u64(rng),
                2 => 0u64.wrapping_sub(vaddr).wrapping_add(rng.below(4)), // reaches 2^64 exactly, or wraps
                _ => user_end.wrapping_sub(vaddr).wrapping_add(rng.below(3)).wrapping_sub(1), // at user_end
            }
        };
        let filesz = if !wild(rng) {
            {
                let some = 1 + rng.below(PAGE_SIZE);
                memsz.min(rng.pick(&[0, memsz, some]))
            }
        } else {
            {
                let (boundary, junk) = (interesting_u64(rng), rng.u64());
                rng.pick(&[memsz.wrapping_add(1), boundary, junk])
            }
        };
        let seg_offset = if !wild(rng) {
            offset + rng.below(PAGE_SIZE / 8) * 8
        } else if rng.one_in(2) {
            interesting_u64(rng)
        } else {
            0u64.wrapping_sub(filesz).wrapping_add(rng.below(4))
        };
        phs.push(Ph {
            kind,
            flags,
            offset: seg_offset,
            vaddr,
            filesz,
            memsz,
        });
        offset = seg_offset.saturating_add(filesz).min(0x10_0000);
        vaddr = if !wild(rng) {
            vaddr
                .wrapping_add(memsz)
                .checked_next_multiple_of(PAGE_SIZE)
                .unwrap_or(USER_BASE)
                .wrapping_add(rng.below(3) * PAGE_SIZE)
        } else {
            match rng.below(3) {
                0 => interesting_u64(rng),
                1 => vaddr.wrapping_add(memsz), // shares the page of the last byte before it
                _ => vaddr.wrapping_add(rng.below(2 * PAGE_SIZE)),
            }
        };
    }
    let code: Vec<Ph> = phs.iter().copied().filter(|ph| ph.flags & PF_X != 0).collect();
    let entry = match code.first() {
        Some(_) if !wild(rng) => {
            let ph = rng.pick(&code);
            ph.vaddr.wrapping_add(rng.below(ph.memsz.max(1)))
        }
        _ if phs.is_empty() || rng.one_in(3) => interesting_u64(rng),
        _ => {
            let ph = rng.pick(&phs);
            match rng.below(4) {
                0 => ph.vaddr.wrapping_add(ph.memsz),
                1 => ph.vaddr.wrapping_add(ph.memsz).wrapping_sub(1),
                2 => ph.vaddr.wrapping_sub(1),
                _ => ph.vaddr.wrapping_add(rng.below(ph.memsz.max(1))),
            }
        }
    };
    let mut header = Ehdr::valid(entry, phs.len());
    if wild(rng) {
        match rng.below(12) {
            0 => header.class = rng.pick(&[0, 1, 3, 0xff]),
            1 => header.data = rng.pick(&[0, 2, 3]),
            2 => header.elf_type = rng.pick(&[0, 1, 3, 4, 0xfe00, 0xffff]),
            3 => header.machine = rng.pick(&[0, 3, 40, 183, 243, 0xffff]),
            4 => header.phentsize = rng.pick(&[0, 32, 55, 57, 64, 0xffff]),
            5 => header.ehsize = rng.pick(&[0, 52, 65, 1024, 1025, 0xffff]),
            6 => header.phnum = rng.u64() as u16,
            7 => header.phnum = header.phnum.wrapping_add(1 + rng.below(3) as u16),
            8 => header.phoff = interesting_u64(rng),
            9 => header.phoff = (HEADER_WINDOW - PH_SIZE * phs.len() as u64).wrapping_add(rng.pick(&[0, 8, 16])),
            10 => header.phoff = 64 + rng.below(64),
            _ => header.phoff = 64 + 8 * rng.below(64),
        }
    }
    let covered = phs
        .iter()
        .filter(|ph| ph.offset < 0x10_0000 && ph.filesz < 0x10_0000)
        .map(|ph| (ph.offset + ph.filesz) as usize)
        .max()
        .unwrap_or(0)
        .max(64 + phs.len() * 56);
    let len = if !wild(rng) {
        covered + rng.index(64)
    } else {
        match rng.below(3) {
            0 => rng.index(200),
            1 => covered.saturating_sub(1 + rng.index(4)),
            _ => rng.index(0x4000),
        }
    };
    ElfCase {
        image: build_elf(&header, &phs, len),
        user_end,
    }
}

fn elf_seeds() -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = corpus("elf").into_iter().map(|(_, bytes)| bytes).collect();
    seeds.push(handmade_elf());
    seeds
}

/// Overwrites one header or program header field with a boundary value.
fn mutate_elf_field(rng: &mut Rng, image: &mut [u8]) {
    if image.len() < 64 {
        return;
    }
    let phoff = u64_at(image, 32);
    let phnum = u64::from(u16_at(image, 56)).max(1);
    let (at, width) = if rng.one_in(3) {
        rng.pick(&[
            (16u64, 2usize),
            (18, 2),
            (24, 8),
            (32, 8),
            (52, 2),
            (54, 2),
            (56, 2),
            (4, 1),
            (5, 1),
        ])
    } else {
        let (field, width) = rng.pick(&[(0u64, 4usize), (4, 4), (8, 8), (16, 8), (32, 8), (40, 8)]);
        (
            phoff.wrapping_add(PH_SIZE * rng.below(phnum)).wrapping_add(field),
            width,
        )
    };
    let Some(end) = at.checked_add(width as u64).filter(|end| *end <= image.len() as u64) else {
        return;
    };
    let old = {
        let mut word = [0u8; 8];
        word[..width].copy_from_slice(&image[at as usize..end as usize]);
        u64::from_le_bytes(word)
    };
    let value = match rng.below(5) {
        0 => old.wrapping_add(rng.below(2 * PAGE_SIZE)).wrapping_sub(PAGE_SIZE),
        1 => rng.u64(),
        2 => old ^ (1 << rng.below(64)),
        _ => interesting_u64(rng),
    };
    image[at as usize..end as usize].copy_from_slice(&value.to_le_bytes()[..width]);
}

#[test]
fn elf_mutation() {
    let seeds = elf_seeds();
    let others: Vec<&[u8]> = seeds.iter().map(Vec::as_slice).collect();
    fuzz(
        "elf_mutation",
        100_000,
        |rng| {
            let mut image = rng.pick(&others).to_vec();
            let rounds = 1 + rng.index(4);
            for _ in 0..rounds {
                if rng.one_in(2) {
                    mutate_elf_field(rng, &mut image);
                } else {
                    mutation(1100).apply(rng, &mut image, &others, 0x8000);
                }
            }
            ElfCase {
                image,
                user_end: random_user_end(rng),
            }
        },
        check_elf,
    );
}

#[test]
fn elf_generation() {
    fuzz("elf_generation", 60_000, random_elf, check_elf);
}

#[test]
fn elf_truncation_at_every_length() {
    for seed in elf_seeds() {
        for len in 0..=seed.len() {
            let case = ElfCase {
                image: seed[..len].to_vec(),
                user_end: USER_IMAGE_END,
            };
            check_elf(&case);
        }
    }
}

#[test]
fn elf_corpus() {
    for (name, image) in corpus("elf") {
        let case = ElfCase {
            image,
            user_end: USER_IMAGE_END,
        };
        let outcome = check_elf(&case);
        if name.starts_with("ok-") {
            assert_eq!(
                outcome,
                Outcome::Accepted,
                "{name}: {:?}",
                elf::check(&case.image, USER_IMAGE_END)
            );
        } else {
            assert!(name.starts_with("err-"), "{name}: corpus files are ok-* or err-*");
            assert!(matches!(outcome, Outcome::Refused(_)), "{name}: {outcome:?}");
        }
    }
}

#[test]
fn regression_pt_interp_is_refused() {
    let image = corpus_file("elf", "err-pt-interp.elf");
    assert_eq!(elf::check(&image, USER_IMAGE_END), Err(elf::ElfError::Dynamic));
}

#[test]
fn regression_misaligned_program_header_table() {
    // Before the fix this made elf_rs build a misaligned slice: undefined
    // behaviour, an abort of the whole test binary in debug builds.
    let image = corpus_file("elf", "err-misaligned-phdrs.elf");
    assert_eq!(
        elf::check(&image, USER_IMAGE_END),
        Err(elf::ElfError::MisalignedProgramHeaders)
    );
}

// ------------------------------------------------------------------- memmap

#[derive(Clone, PartialEq, Eq)]
struct Map(Vec<Region>);

fn kind_name(kind: RegionKind) -> &'static str {
    match kind {
        RegionKind::Ram => "ram",
        RegionKind::Reserved => "reserved",
        RegionKind::AcpiReclaimable => "acpi-reclaimable",
        RegionKind::AcpiNvs => "acpi-nvs",
        RegionKind::Unusable => "unusable",
    }
}

/// The corpus format: `start end kind` per line (hex), `expect start end`
/// lines for the exact expected output, `#` comments.
impl fmt::Debug for Map {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.0 {
            writeln!(f, "{:#x} {:#x} {}", r.start, r.end, kind_name(r.kind))?;
        }
        Ok(())
    }
}

impl Input for Map {
    fn raw(&self) -> Vec<u8> {
        format!("{self:?}").into_bytes()
    }
}

fn parse_hex(word: &str) -> u64 {
    let digits = word.strip_prefix("0x").unwrap_or(word).replace('_', "");
    u64::from_str_radix(&digits, 16).unwrap_or_else(|_| panic!("bad hex number {word}"))
}

/// Parses a corpus map: the regions and the expected output, if given.
fn parse_map(text: &str) -> (Map, Option<Vec<(u64, u64)>>) {
    let mut regions = Vec::new();
    let mut expected: Option<Vec<(u64, u64)>> = None;
    for line in text.lines() {
        let words: Vec<&str> = line.split('#').next().unwrap_or("").split_whitespace().collect();
        match words.as_slice() {
            [] => {}
            ["expect", start, end] => expected
                .get_or_insert_default()
                .push((parse_hex(start), parse_hex(end))),
            ["expect"] => {
                expected.get_or_insert_default();
            }
            [start, end, kind] => {
                let kind = match *kind {
                    "ram" => RegionKind::Ram,
                    "reserved" => RegionKind::Reserved,
                    "acpi-reclaimable" => RegionKind::AcpiReclaimable,
                    "acpi-nvs" => RegionKind::AcpiNvs,
                    "unusable" => RegionKind::Unusable,
                    other => panic!("unknown region kind {other}"),
                };
                regions.push(Region {
                    start: parse_hex(start),
                    end: parse_hex(end),
                    kind,
                });
            }
            _ => panic!("bad memory map line: {line}"),
        }
    }
    (Map(regions), expected)
}

fn align_up(value: u64) -> Option<u64> {
    value.checked_next_multiple_of(PAGE_SIZE)
}

/// The usable RAM, computed differently from `usable_ram`: the union of the
/// RAM entries (each shrunk to whole pages) minus the union of the other
/// entries (each grown to whole pages). Sorted, merged, unbounded in count.
fn model_usable(map: &[Region]) -> Vec<(u64, u64)> {
    let union = |mut ranges: Vec<(u64, u64)>| {
        ranges.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::new();
        for (s, e) in ranges {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        merged
    };
    let ram = union(
        map.iter()
            .filter(|r| r.kind == RegionKind::Ram)
            .filter_map(|r| Some((align_up(r.start)?, r.end & !(PAGE_SIZE - 1))))
            .filter(|(s, e)| s < e)
            .collect(),
    );
    let holes = union(
        map.iter()
            .filter(|r| r.kind != RegionKind::Ram && r.start < r.end)
            .map(|r| (r.start & !(PAGE_SIZE - 1), align_up(r.end).unwrap_or(u64::MAX)))
            .collect(),
    );
    let mut out = Vec::new();
    for (start, end) in ram {
        let mut cursor = start;
        for &(hole_start, hole_end) in holes.iter().filter(|(hs, he)| *he > start && *hs < end) {
            if hole_start > cursor {
                out.push((cursor, hole_start));
            }
            cursor = cursor.max(hole_end);
        }
        if cursor < end {
            out.push((cursor, end));
        }
    }
    out
}

fn check_map(map: &Map) -> Outcome {
    let map = &map.0[..];
    let (ram, dropped) = memmap::usable_ram(map);
    assert!(ram.len() <= MAX_REGIONS);
    for &(s, e) in &ram {
        assert!(s < e, "empty range {s:#x}..{e:#x}");
        assert!(
            s.is_multiple_of(PAGE_SIZE) && e.is_multiple_of(PAGE_SIZE),
            "unaligned {s:#x}..{e:#x}"
        );
        for r in map.iter().filter(|r| r.kind != RegionKind::Ram) {
            assert!(
                r.start >= r.end || e <= r.start || r.end <= s,
                "{s:#x}..{e:#x} overlaps non-RAM entry {r:?}"
            );
        }
        // Inside RAM: every byte is in some RAM entry (entries that touch
        // are merged, so not necessarily in a single one).
        let mut cursor = s;
        while cursor < e {
            let next = map
                .iter()
                .filter(|r| r.kind == RegionKind::Ram && r.start <= cursor && cursor < r.end)
                .map(|r| r.end)
                .max();
            cursor = next.unwrap_or_else(|| panic!("{cursor:#x} of {s:#x}..{e:#x} is not RAM"));
        }
    }
    for pair in ram.windows(2) {
        assert!(
            pair[0].1 < pair[1].0,
            "not sorted, disjoint and merged: {:x?}",
            &ram[..]
        );
    }
    let model = model_usable(map);
    if dropped == 0 {
        assert_eq!(ram.as_slice(), model.as_slice(), "differs from the model");
    } else {
        for &(s, e) in &ram {
            assert!(
                model.iter().any(|&(ms, me)| ms <= s && e <= me),
                "{s:#x}..{e:#x} is not usable RAM according to the model"
            );
        }
    }
    if ram.is_empty() {
        Outcome::Refused("no usable RAM")
    } else {
        Outcome::Accepted
    }
}

fn qemu_map() -> Vec<Region> {
    use RegionKind::*;
    vec![
        Region::from_base_size(0, 0x9fc00, Ram),
        Region::from_base_size(0x9fc00, 0x400, Reserved),
        Region::from_base_size(0xf0000, 0x10000, Reserved),
        Region::from_base_size(0x10_0000, 0x7ee_0000, Ram),
        Region::from_base_size(0x7fe_0000, 0x2_0000, Reserved),
        Region::from_base_size(0xfeff_c000, 0x4000, Reserved),
        Region::from_base_size(0xfffc_0000, 0x4_0000, Reserved),
        Region::from_base_size(0x1_0000_0000, 0x8000_0000, Ram),
    ]
}

fn random_kind(rng: &mut Rng) -> RegionKind {
    if rng.one_in(2) {
        RegionKind::Ram
    } else {
        RegionKind::from_e820(rng.pick(&[2, 3, 4, 5, 0, 7, 12, 20, u32::MAX]))
    }
}

fn random_base(rng: &mut Rng, previous: Option<Region>) -> u64 {
    match (rng.below(10), previous) {
        (0..=2, Some(p)) => match rng.below(4) {
            0 => p.end,
            1 => p.start,
            2 => p.start.wrapping_add(rng.below(p.end.wrapping_sub(p.start).max(1))),
            _ => p.end.wrapping_add(rng.below(3 * PAGE_SIZE)),
        },
        (3, _) => rng.u64(),
        (4, _) => rng.below(1 << 20),
        (5, _) => u64::MAX - rng.below(3 * PAGE_SIZE),
        _ => {
            let base = rng.pick(&[0, 0x9fc00, 0xa0000, 0xf0000, 0x10_0000, 0xfffc_0000, 1 << 32, 1 << 40]);
            base + rng.below(0x40) * PAGE_SIZE + if rng.one_in(3) { rng.below(PAGE_SIZE) } else { 0 }
        }
    }
}

fn random_size(rng: &mut Rng, base: u64) -> u64 {
    match rng.below(10) {
        0 => 0,
        1 => rng.pick(&[1, 0xfff, PAGE_SIZE, PAGE_SIZE + 1, 2 * PAGE_SIZE - 1]),
        2 => (u64::MAX - base).wrapping_add(rng.below(3)), // ends at 2^64 - 1, exactly 2^64, or wraps
        3 => rng.u64(),
        4 => rng.pick(&[u64::MAX, 1 << 63, 1 << 32]),
        _ => rng.below(0x100) * PAGE_SIZE + if rng.one_in(3) { rng.below(PAGE_SIZE) } else { 0 },
    }
}

fn random_region(rng: &mut Rng, previous: Option<Region>) -> Region {
    let kind = random_kind(rng);
    let base = random_base(rng, previous);
    let size = random_size(rng, base);
    if rng.one_in(6) {
        // Raw, possibly inverted.
        Region {
            start: base,
            end: base.wrapping_add(size),
            kind,
        }
    } else {
        Region::from_base_size(base, size, kind)
    }
}

fn random_map(rng: &mut Rng) -> Map {
    let count = match rng.below(10) {
        0 => rng.index(100),
        1 => 0,
        _ => 1 + rng.index(10),
    };
    let mut map: Vec<Region> = Vec::new();
    for _ in 0..count {
        let region = random_region(rng, map.last().copied());
        map.push(region);
    }
    Map(map)
}

fn mutated_map(rng: &mut Rng, seeds: &[Map]) -> Map {
    // Large maps cost ~1 ms each in a debug build: mutate them less often.
    let mut map = loop {
        let seed = &seeds[rng.index(seeds.len())].0;
        if seed.len() <= 16 || rng.one_in(8) {
            break seed.clone();
        }
    };
    let rounds = 1 + rng.index(6);
    for _ in 0..rounds {
        let len = map.len();
        match rng.below(8) {
            0 | 1 if len > 0 => {
                let i = rng.index(len);
                let delta = match rng.below(3) {
                    0 => rng.below(2 * PAGE_SIZE).wrapping_sub(PAGE_SIZE),
                    1 => rng.below(32).wrapping_sub(16),
                    _ => rng.u64(),
                };
                if rng.one_in(2) {
                    map[i].start = map[i].start.wrapping_add(delta);
                } else {
                    map[i].end = map[i].end.wrapping_add(delta);
                }
            }
            2 if len > 0 => {
                let i = rng.index(len);
                map[i].kind = random_kind(rng);
            }
            3 if len > 0 => {
                let i = rng.index(len);
                let copy = map[i];
                map.insert(rng.index(len + 1), copy);
            }
            4 if len > 0 => {
                map.remove(rng.index(len));
            }
            5 if len > 1 => {
                let (i, j) = (rng.index(len), rng.index(len));
                map.swap(i, j);
            }
            6 if len > 0 => {
                // Split an entry in two at a random point.
                let i = rng.index(len);
                let r = map[i];
                let cut = r.start.wrapping_add(rng.below(r.end.wrapping_sub(r.start).max(1)));
                map[i].end = cut;
                map.insert(i + 1, Region { start: cut, ..r });
            }
            _ => {
                let previous = map.last().copied();
                let region = random_region(rng, previous);
                map.insert(rng.index(len + 1), region);
            }
        }
    }
    Map(map)
}

fn map_seeds() -> Vec<Map> {
    let mut seeds: Vec<Map> = corpus("memmap")
        .iter()
        .map(|(_, text)| parse_map(std::str::from_utf8(text).expect("UTF-8 map")).0)
        .collect();
    seeds.push(Map(qemu_map()));
    seeds
}

#[test]
fn memmap_generation() {
    fuzz("memmap_generation", 40_000, random_map, check_map);
}

#[test]
fn memmap_mutation() {
    let seeds = map_seeds();
    fuzz("memmap_mutation", 30_000, |rng| mutated_map(rng, &seeds), check_map);
}

#[test]
fn memmap_corpus() {
    for (name, text) in corpus("memmap") {
        let (map, expected) = parse_map(std::str::from_utf8(&text).expect("UTF-8 map"));
        check_map(&map);
        if let Some(expected) = expected {
            let (ram, _) = memmap::usable_ram(&map.0);
            assert_eq!(ram.as_slice(), expected.as_slice(), "{name}");
        }
    }
}

// ------------------------------------------------------------------ cmdline

struct Cmdline {
    line: String,
    key: String,
}

impl fmt::Debug for Cmdline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {:?}, key {:?}", self.line, self.key)
    }
}

impl Input for Cmdline {
    fn raw(&self) -> Vec<u8> {
        self.line.clone().into_bytes()
    }
}

const CMDLINE_TOKENS: [&str; 32] = [
    "log",
    "trace",
    "fault",
    "probe",
    "=",
    "==",
    "debug",
    "pf",
    "1",
    "on",
    "yes",
    "true",
    "0",
    " ",
    "  ",
    "\t",
    "\n",
    "\r",
    "\u{a0}",
    "\u{3000}",
    "é",
    "\0",
    "log=",
    "=x",
    "abi_version=",
    ".",
    "65535",
    "65536",
    "+",
    "-",
    "01",
    "99999999999",
];

fn check_cmdline(input: &Cmdline) -> Outcome {
    let (line, key) = (input.line.as_str(), input.key.as_str());
    let value = cmdline::option(line, key);
    // The model: the first whitespace-separated word that is `key=value`,
    // where the key is everything before the word's first `=`.
    let expected = line
        .split(|c: char| c.is_ascii_whitespace())
        .filter(|w| !w.is_empty() && !key.contains('='))
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='));
    assert_eq!(value, expected);
    if let Some(value) = value {
        let range = line.as_bytes().as_ptr_range();
        assert!(
            range.contains(&value.as_ptr()) || value.is_empty(),
            "value not borrowed from the line"
        );
        assert!(!value.bytes().any(|b| b.is_ascii_whitespace()));
    }
    let flag = cmdline::flag(line, key);
    let bare = line.split_ascii_whitespace().any(|w| w == key);
    assert_eq!(flag, bare || matches!(expected, Some("1" | "on" | "yes" | "true")));
    // `abi_version=MAJOR.MINOR`: the line and the value, as text.
    for text in [line, value.unwrap_or("")] {
        let version = cmdline::version(text);
        let model = text.split_once('.').and_then(|(major, minor)| {
            let number = |t: &str| t.parse::<u16>().ok();
            Some(u32::from(number(major)?) << 16 | u32::from(number(minor)?))
        });
        assert_eq!(version, model, "version({text:?})");
        if let Some(v) = version {
            let canonical = format!("{}.{}", v >> 16, v & 0xffff);
            assert_eq!(cmdline::version(&canonical), Some(v));
        }
    }
    if flag || value.is_some() {
        Outcome::Accepted
    } else {
        Outcome::Refused("absent")
    }
}

#[test]
fn cmdline_generation() {
    fuzz(
        "cmdline_generation",
        100_000,
        |rng| {
            let mut line = String::new();
            for _ in 0..rng.index(16) {
                if rng.one_in(8) {
                    line.push(char::from(rng.byte() & 0x7f));
                } else {
                    line.push_str(rng.pick(&CMDLINE_TOKENS));
                }
            }
            let key = match rng.below(4) {
                0 => String::new(),
                1 => String::from(rng.pick(&CMDLINE_TOKENS)),
                _ => String::from(rng.pick(&["log", "trace", "fault", "probe", "abi_version"])),
            };
            Cmdline { line, key }
        },
        check_cmdline,
    );
}

// ------------------------------------------------------------------ handles

/// One operation on a handle table, with the raw register values a user
/// program would pass.
#[derive(Clone, Copy, Debug)]
enum HandleOp {
    Insert { rights: u64, badge: u64 },
    Get(u64),
    Require(u64, u64),
    Remove(u64),
    Duplicate(u64, u64, u64),
}

#[derive(Debug)]
struct HandleOps(Vec<HandleOp>);

impl Input for HandleOps {
    fn raw(&self) -> Vec<u8> {
        format!("{self:#x?}").into_bytes()
    }
}

/// Handle values worth trying: live ones, stale ones, neighbours of both
/// with other index, generation or high bits, and junk.
fn handle_value(rng: &mut Rng, live: &[u64], stale: &[u64]) -> u64 {
    let base = match rng.below(4) {
        0 | 1 if !live.is_empty() => rng.pick(live),
        2 if !stale.is_empty() => rng.pick(stale),
        _ => {
            let junk = rng.u64();
            rng.pick(&[0, 1, 31, 32, 255, 256, u64::MAX, 1 << 32, junk])
        }
    };
    match rng.below(6) {
        0 => base ^ (1 << rng.below(64)),
        1 => base.wrapping_add(1 << 8),
        _ => base,
    }
}

fn random_handle_ops(rng: &mut Rng) -> HandleOps {
    // Values are chosen against a shadow of the table, so they hit live and
    // stale handles; the checker recomputes everything independently.
    let mut live: Vec<u64> = Vec::new();
    let mut stale: Vec<u64> = Vec::new();
    let mut table = HandleTable::new();
    let mut ops = Vec::new();
    for _ in 0..rng.index(200) {
        let rights = if rng.one_in(4) { rng.u64() & 0x3f } else { rng.below(32) };
        let badge = rng.pick(&[0, 0, 1, 7, u64::MAX]);
        let op = match rng.below(8) {
            0 | 1 => HandleOp::Insert { rights, badge },
            2 => HandleOp::Get(handle_value(rng, &live, &stale)),
            3 => HandleOp::Require(handle_value(rng, &live, &stale), rights),
            4 | 5 => HandleOp::Remove(handle_value(rng, &live, &stale)),
            _ => HandleOp::Duplicate(handle_value(rng, &live, &stale), rights, badge),
        };
        match op {
            HandleOp::Insert { rights, badge } => {
                let entry = HandleEntry {
                    object: Object::Endpoint(0),
                    rights: Rights::from_bits_retain(rights & Rights::all().bits()),
                    badge,
                };
                if let Ok(h) = table.insert(entry) {
                    live.push(h);
                }
            }
            HandleOp::Remove(h) if table.remove(h).is_ok() => {
                live.retain(|&l| l != h);
                stale.push(h);
            }
            HandleOp::Duplicate(h, rights, badge) => {
                if let Ok(new) = table.duplicate(h, rights, badge) {
                    live.push(new);
                }
            }
            _ => {}
        }
        ops.push(op);
    }
    HandleOps(ops)
}

/// Replays the operations on a real table and on a model written from the
/// documentation: a handle works from `insert` until its `remove` and never
/// again; `insert` takes the lowest free slot; `duplicate` needs TRANSFER,
/// known rights bits that are a subset, and a compatible badge.
fn check_handle_ops(ops: &HandleOps) -> Outcome {
    let mut table = HandleTable::new();
    let mut live: BTreeMap<u64, HandleEntry> = BTreeMap::new();
    let mut ever: Vec<u64> = Vec::new();
    let insert = |table: &mut HandleTable, live: &mut BTreeMap<u64, HandleEntry>, ever: &mut Vec<u64>, entry| {
        let result = table.insert(entry);
        if live.len() == MAX_HANDLES {
            assert_eq!(result, Err(Error::TABLEFULL));
            return result;
        }
        let h = result.expect("insert into a table with room");
        assert!(!ever.contains(&h), "handle {h:#x} handed out twice");
        let index = abi::handle::index(h);
        let lowest = (0..MAX_HANDLES)
            .find(|&i| !live.keys().any(|&l| abi::handle::index(l) == i))
            .expect("room");
        assert_eq!(index, lowest, "not the lowest free slot");
        assert_eq!(abi::handle::make(index, abi::handle::generation(h)), h);
        live.insert(h, entry);
        ever.push(h);
        result
    };
    for &op in &ops.0 {
        match op {
            HandleOp::Insert { rights, badge } => {
                let entry = HandleEntry {
                    object: Object::Endpoint(live.len()),
                    rights: Rights::from_bits_retain(rights & Rights::all().bits()),
                    badge,
                };
                let _ = insert(&mut table, &mut live, &mut ever, entry);
            }
            HandleOp::Get(h) => {
                assert_eq!(
                    table.get(h),
                    live.get(&h).copied().ok_or(Error::BADHANDLE),
                    "get({h:#x})"
                );
            }
            HandleOp::Require(h, rights) => {
                let needed = Rights::from_bits_retain(rights & Rights::all().bits());
                let expected = match live.get(&h) {
                    None => Err(Error::BADHANDLE),
                    Some(e) if !e.rights.contains(needed) => Err(Error::NORIGHTS),
                    Some(e) => Ok(*e),
                };
                assert_eq!(table.require(h, needed), expected, "require({h:#x})");
            }
            HandleOp::Remove(h) => {
                assert_eq!(
                    table.remove(h),
                    live.remove(&h).ok_or(Error::BADHANDLE),
                    "remove({h:#x})"
                );
            }
            HandleOp::Duplicate(h, rights, badge) => {
                let result = table.duplicate(h, rights, badge);
                let expected_entry = match live.get(&h) {
                    None => Err(Error::BADHANDLE),
                    Some(e) if !e.rights.contains(Rights::TRANSFER) => Err(Error::NORIGHTS),
                    Some(_) if rights & !Rights::all().bits() != 0 => Err(Error::INVAL),
                    Some(e) if !e.rights.contains(Rights::from_bits_retain(rights)) => Err(Error::NORIGHTS),
                    Some(e) if e.badge != 0 && badge != 0 && badge != e.badge => Err(Error::INVAL),
                    Some(e) => Ok(HandleEntry {
                        object: e.object,
                        rights: Rights::from_bits_retain(rights),
                        badge: if e.badge != 0 { e.badge } else { badge },
                    }),
                };
                match expected_entry {
                    Err(error) => assert_eq!(result, Err(error), "duplicate({h:#x}, {rights:#x}, {badge:#x})"),
                    Ok(entry) if live.len() == MAX_HANDLES => {
                        let _ = entry;
                        assert_eq!(result, Err(Error::TABLEFULL));
                    }
                    Ok(entry) => {
                        let new = result.expect("duplicate");
                        assert!(!ever.contains(&new), "handle {new:#x} handed out twice");
                        live.insert(new, entry);
                        ever.push(new);
                        assert_eq!(table.get(new), Ok(entry));
                    }
                }
            }
        }
        assert_eq!(table.len(), live.len());
        assert_eq!(table.has_room(), live.len() < MAX_HANDLES);
    }
    let drained: Vec<HandleEntry> = table.drain().collect();
    assert_eq!(drained.len(), live.len());
    assert!(table.is_empty() && live.keys().all(|&h| table.get(h) == Err(Error::BADHANDLE)));
    if live.is_empty() {
        Outcome::Refused("ends empty")
    } else {
        Outcome::Accepted
    }
}

#[test]
fn handle_table_sequences() {
    fuzz("handle_table_sequences", 4_000, random_handle_ops, check_handle_ops);
}

#[test]
fn harness_is_deterministic() {
    let mut a = Rng::new(7);
    let mut b = Rng::new(7);
    assert!((0..100).all(|_| a.u64() == b.u64()));
    // splitmix64's published first output for seed 0.
    assert_eq!(Rng::new(0).u64(), 0xe220_a839_7b1d_cdaf);
    let case = random_elf(&mut Rng::new(1));
    assert_eq!(case.image, random_elf(&mut Rng::new(1)).image);
}
