//! Host-side fuzzing of the abi parsers that see untrusted bytes: the initrd
//! (`initrd::Reader`), the boot manifest (`Manifest::parse`), user-supplied
//! `MsgInfo` registers (`MsgInfo::check`), console notices
//! (`Notice::decode`), trace records (`Record::from_bytes`) and trace files
//! (`trace::Reader`).
//!
//! Deterministic and dependency-free: a splitmix64 generator drives mutation
//! of valid seeds and generation of valid-looking inputs, and every input is
//! checked against the documented invariants and a small independent model,
//! not just for "no panic".
//!
//! `cargo test -p abi --test fuzz` runs a short campaign. Environment:
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
//!   FUZZ_ITERATIONS=10000000 cargo test -p abi --release --test fuzz -- --nocapture
//! ```
//!
//! One target alone: `cargo test -p abi --test fuzz cpio_mutation`.
//!
//! Regression inputs live in `abi/tests/corpus/{cpio,manifest}/`: `ok-*`
//! files must be accepted and `err-*` refused; inputs that once exposed a
//! bug also have a `regression_*` test naming the exact error. Every file also seeds the
//! mutation targets.

use abi::console::{self, Notice, NoticeKind};
use abi::initrd::{self, CpioError, Entry, Reader};
use abi::manifest::{
    MAX_ARGS, MAX_ENDPOINTS, MAX_NAME, MAX_PROGRAMS, MAX_SPAWNS, MAX_START_HANDLES, Manifest, ManifestError,
    ManifestErrorKind, PRIORITIES, Start,
};
use abi::message::{MAX_BUFFER, MAX_TIMEOUT, MAX_WORDS, MsgFlags};
use abi::trace::{self, RECORD_SIZE, Record, RecordKind};
use abi::{Error, MsgInfo, Rights};
use std::fmt::{self, Write as _};

// ------------------------------------------------------------------ harness

use fuzzing::{Input, Mutation, Outcome, Rng, Suite, escape};

const SUITE: Suite = Suite {
    default_seed: 0x6162_692d_6675_7a7a,
    corpus_dir: concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus"),
    save_dir: "abi-fuzz",
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

impl Input for Bytes {
    fn raw(&self) -> Vec<u8> {
        self.0.clone()
    }
}

/// Bytes shown as a Rust byte-string literal.
struct Bytes(Vec<u8>);

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&escape(&self.0))
    }
}

/// The byte-level mutations of the abi's parsers: anywhere, evenly.
const MUTATION: Mutation = Mutation {
    interesting: &[
        0, 0xff, 0x7f, 0x80, 1, 0xfe, 0xc3, 0xe2, b'0', b'1', b'7', b'9', b'a', b'f', b'F', b'g', b'\n', b'#', b' ',
        b'=',
    ],
    hot: None,
    duplicate: 128,
};

// --------------------------------------------------------------------- cpio
//
// Found and fixed: the reader used to parse only c_mode, c_filesize and
// c_namesize, accepting anything in the other ten fields although
// `CpioError::BadField` says "a header field is not 8 hex digits".

const FIELD_MODE: usize = 1;
const FIELD_FILESIZE: usize = 6;
const FIELD_NAMESIZE: usize = 11;
const FIELDS: usize = 13;

/// A newc header with these 13 fields.
fn header(fields: &[[u8; 8]; FIELDS]) -> Vec<u8> {
    let mut out = initrd::MAGIC.to_vec();
    for field in fields {
        out.extend_from_slice(field);
    }
    out
}

fn hex8(value: u32) -> [u8; 8] {
    format!("{value:08x}").into_bytes().try_into().expect("8 digits")
}

fn pad4(bytes: &mut Vec<u8>) {
    while !bytes.len().is_multiple_of(4) {
        bytes.push(0);
    }
}

/// A well-formed archive of these files, ending with the trailer.
fn archive(files: &[(&str, u32, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let trailer: (&str, u32, &[u8]) = (initrd::TRAILER, 0, &[]);
    for (inode, (name, mode, data)) in files.iter().chain([&trailer]).enumerate() {
        let mut fields = [hex8(0); FIELDS];
        fields[0] = hex8(inode as u32 + 1);
        fields[FIELD_MODE] = hex8(*mode);
        fields[4] = hex8(1);
        fields[FIELD_FILESIZE] = hex8(data.len() as u32);
        fields[FIELD_NAMESIZE] = hex8(name.len() as u32 + 1);
        out.extend(header(&fields));
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        pad4(&mut out);
        out.extend_from_slice(data);
        pad4(&mut out);
    }
    out
}

/// One file the model found: byte ranges in the archive.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ModelEntry {
    name: std::ops::Range<usize>,
    mode: u32,
    data: std::ops::Range<usize>,
}

fn hex_field(bytes: &[u8]) -> Option<u32> {
    if bytes.len() != 8 || !bytes.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u32::from_str_radix(std::str::from_utf8(bytes).ok()?, 16).ok()
}

/// The newc format as the `initrd` module documents it, written
/// independently: the files before the trailer, or the first error.
/// `all_fields`: every header field must be hex, not only the three used.
fn model_cpio(bytes: &[u8]) -> (Vec<ModelEntry>, Option<CpioError>) {
    let mut entries = Vec::new();
    let mut at = 0usize;
    let align = |n: usize| n.div_ceil(4) * 4;
    loop {
        if at >= bytes.len() {
            return (entries, Some(CpioError::MissingTrailer));
        }
        if bytes.len() - at < initrd::HEADER_LEN {
            return (entries, Some(CpioError::Truncated { offset: at }));
        }
        if &bytes[at..at + 6] != initrd::MAGIC {
            return (entries, Some(CpioError::BadMagic { offset: at }));
        }
        let field_at = |index: usize| at + 6 + 8 * index;
        let field = |index: usize| hex_field(&bytes[field_at(index)..field_at(index) + 8]);
        // Every field must be 8 hex digits; the first one that is not is
        // the one reported.
        let mut values = [0u32; FIELDS];
        for (index, value) in values.iter_mut().enumerate() {
            match field(index) {
                Some(parsed) => *value = parsed,
                None => {
                    return (
                        entries,
                        Some(CpioError::BadField {
                            offset: field_at(index),
                        }),
                    );
                }
            }
        }
        let name_start = at + initrd::HEADER_LEN;
        let name_size = values[FIELD_NAMESIZE] as usize;
        if bytes.len() - name_start < name_size {
            return (entries, Some(CpioError::Truncated { offset: name_start }));
        }
        let name = &bytes[name_start..name_start + name_size];
        let bad_name = Some(CpioError::BadName { offset: name_start });
        if name_size < 2 || name[name_size - 1] != 0 || name[..name_size - 1].contains(&0) {
            return (entries, bad_name);
        }
        let Ok(text) = std::str::from_utf8(&name[..name_size - 1]) else {
            return (entries, bad_name);
        };
        let data_start = align(name_start + name_size);
        let file_size = values[FIELD_FILESIZE] as usize;
        if data_start > bytes.len() || bytes.len() - data_start < file_size {
            return (entries, Some(CpioError::Truncated { offset: data_start }));
        }
        if text == initrd::TRAILER {
            return (entries, None);
        }
        entries.push(ModelEntry {
            name: name_start..name_start + name_size - 1,
            mode: values[FIELD_MODE],
            data: data_start..data_start + file_size,
        });
        at = align(data_start + file_size);
    }
}

fn offset_in(outer: &[u8], inner: &[u8]) -> usize {
    let (start, end) = (outer.as_ptr() as usize, outer.as_ptr() as usize + outer.len());
    let at = inner.as_ptr() as usize;
    assert!(
        start <= at && at + inner.len() <= end,
        "slice of {} bytes at {at:#x} is outside the input {start:#x}..{end:#x}",
        inner.len()
    );
    at - start
}

fn cpio_error_name(error: CpioError) -> &'static str {
    match error {
        CpioError::Truncated { .. } => "Truncated",
        CpioError::BadMagic { .. } => "BadMagic",
        CpioError::BadField { .. } => "BadField",
        CpioError::BadName { .. } => "BadName",
        CpioError::MissingTrailer => "MissingTrailer",
    }
}

fn check_cpio(input: &Bytes) -> Outcome {
    let bytes = &input.0[..];
    let mut reader = Reader::new(bytes);
    let mut entries: Vec<Entry> = Vec::new();
    let mut error = None;
    // Every entry takes a header and a name of at least two bytes.
    let bound = bytes.len() / (initrd::HEADER_LEN + 2) + 1;
    for step in 0.. {
        assert!(step <= bound, "more than {bound} items from {} bytes", bytes.len());
        match reader.next() {
            Some(Ok(entry)) => entries.push(entry),
            Some(Err(e)) => {
                error = Some(e);
                break;
            }
            None => break,
        }
    }
    assert!(reader.next().is_none() && reader.next().is_none(), "iterator not fused");

    let mut previous_end = 0;
    for entry in &entries {
        assert!(
            !entry.name.is_empty() && !entry.name.contains('\0'),
            "bad name {:?}",
            entry.name
        );
        assert_ne!(entry.name, initrd::TRAILER, "the trailer is not a file");
        let name_at = offset_in(bytes, entry.name.as_bytes());
        let data_at = offset_in(bytes, entry.data);
        assert!(name_at >= previous_end + initrd::HEADER_LEN, "entries overlap");
        assert_eq!(bytes[name_at + entry.name.len()], 0, "name not NUL-terminated");
        assert!(
            data_at > name_at + entry.name.len() && data_at.is_multiple_of(4),
            "data at {data_at}"
        );
        previous_end = data_at + entry.data.len();
    }
    if let Some(
        CpioError::Truncated { offset }
        | CpioError::BadMagic { offset }
        | CpioError::BadField { offset }
        | CpioError::BadName { offset },
    ) = error
    {
        // At most the 4-byte aligned start of missing file data.
        assert!(
            offset <= bytes.len().next_multiple_of(4),
            "error offset {offset} beyond {} bytes",
            bytes.len()
        );
    }

    let model = model_cpio(bytes);
    let found: Vec<ModelEntry> = entries
        .iter()
        .map(|e| {
            let name = offset_in(bytes, e.name.as_bytes());
            let data = offset_in(bytes, e.data);
            ModelEntry {
                name: name..name + e.name.len(),
                mode: e.mode,
                data: data..data + e.data.len(),
            }
        })
        .collect();
    assert_eq!((&found, &error), (&model.0, &model.1), "differs from the model");

    assert_eq!(
        Reader::validate(bytes),
        error.map_or(Ok(entries.len()), Err),
        "validate"
    );
    for entry in entries.iter().take(4) {
        let first = entries.iter().find(|e| e.name == entry.name).expect("itself");
        assert_eq!(
            Reader::find(bytes, entry.name),
            Ok(Some(*first)),
            "find {:?}",
            entry.name
        );
    }
    assert_eq!(
        Reader::find(bytes, "\0absent"),
        error.map_or(Ok(None), Err),
        "find of an absent name"
    );

    match error {
        Some(e) => Outcome::Refused(cpio_error_name(e)),
        None => Outcome::Accepted,
    }
}

const CPIO_NAMES: [&[u8]; 16] = [
    b"manifest",
    b"bin/hello",
    b"bin/console",
    b"TRAILER!!!",
    b"TRAILER!!",
    b"",
    b"a",
    b"a\0b",
    b"\xc3\xa9t\xc3\xa9",
    b"\xff\xfe",
    b"\xc3",
    b"./bin/x",
    b"../../etc",
    b"name with spaces",
    b"trailer!!!",
    b"\xe2\x80\xa8",
];

/// A field value: mostly right, sometimes near a boundary, sometimes not hex.
fn cpio_field(rng: &mut Rng, right: u32) -> [u8; 8] {
    match rng.below(24) {
        0 => hex8(rng.u64() as u32),
        1 => hex8(rng.pick(&[0, 1, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0xffff_fff0, 110, 111])),
        2 => hex8(right.wrapping_add(rng.below(9) as u32).wrapping_sub(4)),
        3 => format!("{right:08X}").into_bytes().try_into().expect("8 digits"),
        4 => {
            let mut text = hex8(right);
            let at = rng.index(8);
            text[at] = rng.pick(&[b'g', b'G', b' ', b'+', b'-', b'x', 0, b'.', 0xc3]);
            text
        }
        5 => *rng.pick(&[b"+0000001", b"-0000001", b"0x000001", b" 0000001", b"0000001 "]),
        _ => hex8(right),
    }
}

/// A valid-looking archive with random field values and names.
fn random_cpio(rng: &mut Rng) -> Bytes {
    let wildness = rng.pick(&[0, 5, 20, 50]);
    let wild = |rng: &mut Rng| rng.below(100) < wildness;
    let mut out = Vec::new();
    let count = rng.index(7);
    for inode in 0..=count {
        let trailer = inode == count;
        let name: Vec<u8> = if trailer && !wild(rng) {
            initrd::TRAILER.as_bytes().to_vec()
        } else if !wild(rng) {
            format!("bin/f{}", rng.below(1000)).into_bytes()
        } else if rng.one_in(4) {
            (0..rng.index(300)).map(|_| b'a' + rng.below(26) as u8).collect()
        } else {
            rng.pick(&CPIO_NAMES).to_vec()
        };
        let fill = rng.byte();
        let data: Vec<u8> = (0..rng.index(if trailer { 1 } else { 600 }))
            .map(|i| fill ^ i as u8)
            .collect();
        let mut right = [0u32; FIELDS];
        right[0] = inode as u32 + 1;
        right[FIELD_MODE] = if trailer { 0 } else { 0o100644 };
        right[4] = 1;
        right[FIELD_FILESIZE] = data.len() as u32;
        right[FIELD_NAMESIZE] = name.len() as u32 + 1;
        let fields: [[u8; 8]; FIELDS] = std::array::from_fn(|i| {
            if wild(rng) {
                cpio_field(rng, right[i])
            } else {
                hex8(right[i])
            }
        });
        let mut head = header(&fields);
        if wild(rng) && rng.one_in(4) {
            head[rng.index(6)] = rng.pick(&[b'1', b'2', b'7', 0]);
        }
        out.extend(head);
        out.extend_from_slice(&name);
        if !wild(rng) || rng.one_in(2) {
            out.push(0);
        }
        if !wild(rng) {
            pad4(&mut out);
        } else {
            out.extend(std::iter::repeat_n(0, rng.index(4)));
        }
        out.extend_from_slice(&data);
        if !wild(rng) {
            pad4(&mut out);
        }
    }
    if wild(rng) {
        // Junk after the trailer, or a cut.
        if rng.one_in(2) {
            out.extend((0..rng.index(600)).map(|_| rng.byte()));
        } else {
            let cut = rng.index(out.len() + 1);
            out.truncate(cut);
        }
    }
    Bytes(out)
}

fn cpio_seeds() -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = corpus("cpio").into_iter().map(|(_, bytes)| bytes).collect();
    seeds.push(archive(&[
        ("manifest", 0o100644, b"manifest 1\n"),
        ("bin/hello", 0o100755, b"\x7fELF\x02\x01\x01"),
        ("empty", 0o100644, b""),
    ]));
    seeds.push(archive(&[]));
    seeds
}

/// Replaces a field of a header that the model walks to with a new value.
fn mutate_cpio_field(rng: &mut Rng, bytes: &mut [u8]) {
    let headers: Vec<usize> = bytes
        .windows(6)
        .enumerate()
        .filter(|(_, w)| *w == initrd::MAGIC)
        .map(|(i, _)| i)
        .filter(|i| i + initrd::HEADER_LEN <= bytes.len())
        .collect();
    if headers.is_empty() {
        return;
    }
    let at = rng.pick(&headers);
    let index = if rng.one_in(3) {
        rng.index(FIELDS)
    } else {
        rng.pick(&[FIELD_FILESIZE, FIELD_NAMESIZE])
    };
    let start = at + 6 + 8 * index;
    let right = hex_field(&bytes[start..start + 8]).unwrap_or(0);
    bytes[start..start + 8].copy_from_slice(&cpio_field(rng, right));
}

#[test]
fn cpio_mutation() {
    let seeds = cpio_seeds();
    let others: Vec<&[u8]> = seeds.iter().map(Vec::as_slice).collect();
    fuzz(
        "cpio_mutation",
        60_000,
        |rng| {
            let mut bytes = rng.pick(&others).to_vec();
            for _ in 0..1 + rng.index(3) {
                if rng.one_in(2) {
                    mutate_cpio_field(rng, &mut bytes);
                } else {
                    MUTATION.apply(rng, &mut bytes, &others, 0x4000);
                }
            }
            Bytes(bytes)
        },
        check_cpio,
    );
}

#[test]
fn cpio_generation() {
    fuzz("cpio_generation", 25_000, random_cpio, check_cpio);
}

#[test]
fn cpio_truncation_at_every_length() {
    for seed in cpio_seeds() {
        let whole: Vec<_> = Reader::new(&seed).collect();
        for len in 0..=seed.len() {
            let prefix = &seed[..len];
            if check_cpio(&Bytes(prefix.to_vec())) == Outcome::Accepted {
                // Only a cut after the trailer is accepted: same files.
                let files: Vec<_> = Reader::new(prefix).collect();
                assert_eq!(files, whole, "prefix of {len} bytes accepted with other files");
            }
        }
    }
}

#[test]
fn cpio_corpus() {
    for (name, bytes) in corpus("cpio") {
        let outcome = check_cpio(&Bytes(bytes));
        if name.starts_with("ok-") {
            assert_eq!(outcome, Outcome::Accepted, "{name}");
        } else {
            assert!(name.starts_with("err-"), "{name}: corpus files are ok-* or err-*");
            assert!(matches!(outcome, Outcome::Refused(_)), "{name}: {outcome:?}");
        }
    }
}

#[test]
fn regression_unused_cpio_fields_must_be_hex() {
    let bytes = corpus_file("cpio", "err-non-hex-unused-fields.cpio");
    assert!(matches!(Reader::validate(&bytes), Err(CpioError::BadField { .. })));
}

// ----------------------------------------------------------------- manifest

/// Renders a parsed manifest in the kernel's format. Parsing the result
/// must give the same manifest back.
fn render(m: &Manifest) -> String {
    let mut out = String::from("manifest 1\n");
    for e in &m.endpoints {
        writeln!(out, "endpoint {}{}", e.name, if e.notices { " notices" } else { "" }).unwrap();
    }
    for p in &m.programs {
        // `file=` right after the name: a value ending in non-ASCII white
        // space must not end the line, where it would be trimmed.
        write!(out, "program {} file={} priority={}", p.name, p.file, p.priority).unwrap();
        if p.io_serial {
            out.push_str(" io=serial");
        }
        if p.start == Start::Spawn {
            out.push_str(" start=spawn");
        }
        if let Some(ticks) = p.cpu_limit {
            write!(out, " cpu_limit={ticks}").unwrap();
        }
        if !p.spawns.is_empty() {
            let names: Vec<&str> = p.spawns.iter().map(|&i| m.programs[i].name).collect();
            write!(out, " spawns={}", names.join(",")).unwrap();
        }
        out.push('\n');
        for h in &p.handles {
            let rights: Vec<&str> = Rights::NAMES
                .iter()
                .filter(|(_, right)| h.rights.contains(*right))
                .map(|(name, _)| *name)
                .collect();
            writeln!(
                out,
                "handle {} rights={} badge={}",
                m.endpoints[h.endpoint].name,
                rights.join(","),
                h.badge
            )
            .unwrap();
        }
        if !p.args.is_empty() {
            writeln!(out, "args {}", p.args).unwrap();
        }
    }
    out
}

fn is_name(name: &str) -> bool {
    (1..=MAX_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// The documented bounds of an accepted manifest.
fn check_accepted(m: &Manifest, bytes: &[u8]) {
    assert!(m.endpoints.len() <= MAX_ENDPOINTS && m.programs.len() <= MAX_PROGRAMS);
    let within = |text: &str| {
        if !text.is_empty() {
            offset_in(bytes, text.as_bytes());
        }
    };
    for (i, e) in m.endpoints.iter().enumerate() {
        assert!(is_name(e.name), "bad endpoint name {:?}", e.name);
        within(e.name);
        assert!(
            m.endpoints[..i].iter().all(|o| o.name != e.name),
            "duplicate endpoint {}",
            e.name
        );
    }
    assert!(
        m.endpoints.iter().filter(|e| e.notices).count() <= 1,
        "several notice endpoints"
    );
    for (i, p) in m.programs.iter().enumerate() {
        assert!(is_name(p.name), "bad program name {:?}", p.name);
        assert!(
            m.programs[..i].iter().all(|o| o.name != p.name),
            "duplicate program {}",
            p.name
        );
        assert!(!p.file.is_empty(), "{}: empty file", p.name);
        assert!(
            !p.file.contains(|c: char| c.is_ascii_whitespace() || c == '#'),
            "{}: file {:?}",
            p.name,
            p.file
        );
        assert!(p.priority < PRIORITIES, "{}: priority {}", p.name, p.priority);
        assert_ne!(p.cpu_limit, Some(0), "{}: zero CPU limit", p.name);
        assert!(p.args.len() <= MAX_ARGS, "{}: args of {} bytes", p.name, p.args.len());
        assert!(
            !p.args.contains(['#', '\n']) && p.args.trim() == p.args,
            "{}: args {:?}",
            p.name,
            p.args
        );
        assert!(p.handles.len() <= MAX_START_HANDLES && p.spawns.len() <= MAX_SPAWNS);
        for h in &p.handles {
            assert!(
                h.endpoint < m.endpoints.len(),
                "{}: handle to endpoint {}",
                p.name,
                h.endpoint
            );
            assert!(!h.rights.is_empty(), "{}: handle without rights", p.name);
            assert!(
                Rights::all().contains(h.rights),
                "{}: unknown rights {:?}",
                p.name,
                h.rights
            );
        }
        for &s in &p.spawns {
            assert!(s < m.programs.len(), "{}: spawns program {s}", p.name);
        }
        for text in [p.name, p.file, p.args] {
            within(text);
        }
    }
}

fn manifest_error_name(kind: ManifestErrorKind) -> &'static str {
    use ManifestErrorKind::*;
    match kind {
        NotUtf8 => "NotUtf8",
        MissingHeader => "MissingHeader",
        UnsupportedVersion => "UnsupportedVersion",
        UnknownDirective => "UnknownDirective",
        UnknownKey => "UnknownKey",
        MissingKey(_) => "MissingKey",
        BadValue(_) => "BadValue",
        BadName => "BadName",
        DuplicateName => "DuplicateName",
        UnknownEndpoint => "UnknownEndpoint",
        UnknownProgram => "UnknownProgram",
        HandleOutsideProgram => "HandleOutsideProgram",
        TooMany(_) => "TooMany",
        SeveralNoticeEndpoints => "SeveralNoticeEndpoints",
        IrqGrantedTwice => "IrqGrantedTwice",
    }
}

fn check_manifest(input: &Bytes) -> Outcome {
    let bytes = &input.0[..];
    let result = Manifest::parse(bytes);
    // Also shows that parsing is deterministic.
    let mut into = Manifest::default();
    let into_result = into.parse_into(bytes);
    assert_eq!(
        into_result.map(|()| &into),
        result.as_ref().map_err(|e| *e),
        "parse_into differs"
    );

    // Line endings and comment lines change nothing, not even error lines.
    if let Ok(text) = std::str::from_utf8(bytes) {
        let crlf = text.replace('\n', "\r\n");
        assert_eq!(
            Manifest::parse(crlf.as_bytes()),
            result,
            "CRLF line endings change the result"
        );
        if let Ok(m) = &result {
            let commented: String = text.lines().flat_map(|line| [line, "\n# comment\n"]).collect();
            assert_eq!(
                Manifest::parse(commented.as_bytes()).as_ref(),
                Ok(m),
                "comment lines change it"
            );
        }
    }
    match result {
        Ok(m) => {
            check_accepted(&m, bytes);
            let text = render(&m);
            let again =
                Manifest::parse(text.as_bytes()).unwrap_or_else(|e| panic!("rendered manifest refused: {e}\n{text}"));
            assert_eq!(again, m, "render and parse again differs:\n{text}");
            assert_eq!(render(&again), text);
            Outcome::Accepted
        }
        Err(error) => {
            let ManifestError { line, kind } = error;
            let lines = bytes.split(|&b| b == b'\n').count();
            assert!(line >= 1 && line <= lines.max(1), "error on line {line} of {lines}");
            let _ = error.to_string();
            Outcome::Refused(manifest_error_name(kind))
        }
    }
}

const VALID_NAMES: [&str; 10] = [
    "console",
    "echo",
    "hello",
    "a",
    "x-1",
    "under_score",
    "0",
    "abcdefghijklmnop",
    "child",
    "spin",
];

const BAD_NAMES: [&str; 12] = [
    "",
    "A",
    "abcdefghijklmnopq",
    "é",
    "a.b",
    "a=b",
    "a,b",
    "a\0",
    "Console",
    "a/b",
    "\u{a0}",
    "a#b",
];

const VALUES: [&str; 28] = [
    "0",
    "1",
    "7",
    "8",
    "255",
    "256",
    "-1",
    "+1",
    "01",
    "4294967295",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "0x10",
    "0x",
    "0xffffffffffffffff",
    "0X10",
    "serial",
    "spawn",
    "boot",
    "send",
    "recv",
    "transfer",
    "send,recv",
    "send,",
    ",",
    "",
    "\u{1F600}",
];

const KEYS: [&str; 10] = [
    "file",
    "priority",
    "io",
    "start",
    "cpu_limit",
    "spawns",
    "rights",
    "badge",
    "notices",
    "bogus",
];

const WHITESPACE: [&str; 7] = [" ", "  ", "\t", " \t ", "\u{a0}", "\u{3000}", "\r"];

/// A random valid name, or sometimes one of the pools.
fn random_name(rng: &mut Rng) -> String {
    if rng.one_in(2) {
        rng.pick(&VALID_NAMES).to_string()
    } else {
        const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789-_";
        (0..1 + rng.index(MAX_NAME))
            .map(|_| char::from(rng.pick(CHARS)))
            .collect()
    }
}

fn random_manifest(rng: &mut Rng) -> Bytes {
    let wildness = rng.pick(&[0, 2, 8, 25]);
    let wild = |rng: &mut Rng| rng.below(100) < wildness;
    let mut out = String::new();
    let space = |rng: &mut Rng| if wild(rng) { rng.pick(&WHITESPACE) } else { " " };
    if wild(rng) {
        out.push_str(rng.pick(&[
            "manifest 2\n",
            "manifest\n",
            "manifest 1 extra\n",
            "Manifest 1\n",
            "",
            "manifest 01\n",
        ]));
    } else {
        if rng.one_in(4) {
            out.push_str("# generated\n\n");
        }
        out.push_str("manifest 1\n");
    }
    let endpoint_count = if wild(rng) { rng.index(20) } else { 1 + rng.index(4) };
    let mut endpoints: Vec<String> = Vec::new();
    let mut notices = false;
    for _ in 0..endpoint_count {
        let name = if wild(rng) {
            rng.pick(&BAD_NAMES).to_string()
        } else {
            random_name(rng)
        };
        write!(out, "endpoint{}{name}", space(rng)).unwrap();
        if (!notices && rng.one_in(3)) || wild(rng) {
            out.push_str(" notices");
            notices = true;
        }
        if wild(rng) {
            out.push_str(rng.pick(&[" bogus", " notices=1", " # c"]));
        }
        out.push('\n');
        endpoints.push(name);
    }
    let program_count = if wild(rng) && rng.one_in(4) {
        rng.index(36)
    } else {
        1 + rng.index(5)
    };
    let mut programs: Vec<String> = (0..program_count).map(|_| random_name(rng)).collect();
    if wild(rng) && !programs.is_empty() {
        let i = rng.index(programs.len());
        programs[i] = rng.pick(&BAD_NAMES).to_string();
    }
    for name in &programs {
        let mut words: Vec<String> = Vec::new();
        if !wild(rng) {
            let file = match rng.below(4) {
                0 => "bin/x\u{a0}y".to_string(),
                1 => format!("bin/{name}=v,w"),
                _ => format!("bin/{name}"),
            };
            words.push(format!("file={file}"));
        }
        if !wild(rng) {
            words.push(format!("priority={}", rng.below(u64::from(PRIORITIES))));
        }
        if rng.one_in(4) {
            words.push("io=serial".into());
        }
        if rng.one_in(4) {
            words.push(format!("start={}", rng.pick(&["boot", "spawn"])));
        }
        if rng.one_in(4) {
            words.push(format!("cpu_limit={}", 1 + rng.below(1000)));
        }
        if rng.one_in(3) && !programs.is_empty() {
            let most = if wild(rng) { 10 } else { 3 };
            let count = 1 + rng.index(most);
            let targets: Vec<&str> = (0..count)
                .map(|_| programs[rng.index(programs.len())].as_str())
                .collect();
            words.push(format!("spawns={}", targets.join(",")));
        }
        let junk = if wild(rng) { 1 + rng.index(3) } else { 0 };
        for _ in 0..junk {
            let key = rng.pick(&KEYS);
            let value = rng.pick(&VALUES);
            words.push(match rng.below(3) {
                0 => key.to_string(),
                _ => format!("{key}={value}"),
            });
        }
        // Keys in any order; `file=` may end the line.
        for i in (1..words.len()).rev() {
            let j = rng.index(i + 1);
            words.swap(i, j);
        }
        write!(out, "program{}{name}", space(rng)).unwrap();
        for word in &words {
            write!(out, "{}{word}", space(rng)).unwrap();
        }
        if rng.one_in(5) {
            out.push_str("   # trailing comment");
        }
        out.push('\n');
        let handles = if wild(rng) { rng.index(11) } else { rng.index(4) };
        for _ in 0..handles {
            let endpoint = if endpoints.is_empty() || wild(rng) {
                rng.pick(&BAD_NAMES).to_string()
            } else {
                endpoints[rng.index(endpoints.len())].clone()
            };
            let rights = if wild(rng) {
                rng.pick(&VALUES)
            } else {
                rng.pick(&[
                    "send",
                    "recv",
                    "transfer",
                    "send,transfer",
                    "recv,send,transfer",
                    "send,send",
                ])
            };
            write!(out, "handle{}{endpoint}{}rights={rights}", space(rng), space(rng)).unwrap();
            if rng.one_in(2) {
                let badge = if wild(rng) {
                    rng.pick(&VALUES).to_string()
                } else if rng.one_in(2) {
                    format!("0x{:x}", rng.u64())
                } else {
                    rng.u64().to_string()
                };
                write!(out, " badge={badge}").unwrap();
            }
            out.push('\n');
        }
        if rng.one_in(3) {
            let len = if wild(rng) {
                MAX_ARGS - 2 + rng.index(5)
            } else {
                rng.index(40)
            };
            let alphabet = ["a", "b", "=", " ", "\t", "é", "\0", "\r", "-", "9"];
            let mut args = String::new();
            while args.len() < len {
                args.push_str(rng.pick(&alphabet));
            }
            writeln!(out, "args {args}").unwrap();
        }
        if rng.one_in(8) {
            out.push('\n');
        }
    }
    let mut bytes = out.into_bytes();
    if wild(rng) && rng.one_in(4) {
        let at = rng.index(bytes.len() + 1);
        bytes.insert(at, rng.pick(&[0xff, 0xc3, 0x80, 0]));
    }
    Bytes(bytes)
}

const MANIFEST_TOKENS: [&str; 36] = [
    "manifest",
    "1",
    "endpoint",
    "program",
    "handle",
    "args",
    "notices",
    "file=",
    "priority=",
    "io=serial",
    "start=",
    "spawn",
    "boot",
    "cpu_limit=",
    "spawns=",
    "rights=",
    "badge=",
    "send",
    "recv",
    "transfer",
    "0x",
    "=",
    ",",
    "#",
    "\n",
    "\r\n",
    " ",
    "\t",
    "\u{a0}",
    "é",
    "\0",
    "console",
    "a",
    "abcdefghijklmnopq",
    "18446744073709551616",
    "8",
];

/// Line and token level mutations of manifest text.
fn mutate_manifest(rng: &mut Rng, bytes: &mut Vec<u8>) {
    let text = String::from_utf8_lossy(bytes).into_owned();
    let mut lines: Vec<String> = text.split_inclusive('\n').map(String::from).collect();
    if lines.is_empty() {
        lines.push(String::new());
    }
    // Mostly leave the header line alone: the rest is more interesting.
    let i = if lines.len() > 1 && !rng.one_in(8) {
        1 + rng.index(lines.len() - 1)
    } else {
        rng.index(lines.len())
    };
    match rng.below(8) {
        0 => {
            let copy = lines[i].clone();
            let at = rng.index(lines.len() + 1);
            lines.insert(at, copy);
        }
        1 => {
            lines.remove(i);
        }
        2 => {
            let j = rng.index(lines.len());
            lines.swap(i, j);
        }
        _ => {
            // Tokens: runs of word characters, and single separators.
            let line = &lines[i];
            let mut tokens: Vec<String> = Vec::new();
            for c in line.chars() {
                let separator = c.is_whitespace() || "=,#".contains(c);
                match tokens.last_mut() {
                    Some(last) if !separator && !last.ends_with(|l: char| l.is_whitespace() || "=,#".contains(l)) => {
                        last.push(c)
                    }
                    _ => tokens.push(c.to_string()),
                }
            }
            let t = rng.index(tokens.len() + 1);
            let token = if rng.one_in(3) {
                rng.pick(&VALUES).to_string()
            } else {
                rng.pick(&MANIFEST_TOKENS).to_string()
            };
            match rng.below(4) {
                0 if t < tokens.len() => tokens[t] = token,
                1 if t < tokens.len() => {
                    tokens.remove(t);
                }
                2 if t < tokens.len() => {
                    let copy = tokens[t].clone();
                    tokens.insert(t, copy);
                }
                _ => tokens.insert(t, token),
            }
            lines[i] = tokens.concat();
        }
    }
    *bytes = lines.concat().into_bytes();
}

fn manifest_seeds() -> Vec<Vec<u8>> {
    corpus("manifest").into_iter().map(|(_, bytes)| bytes).collect()
}

#[test]
fn manifest_mutation() {
    let seeds = manifest_seeds();
    let others: Vec<&[u8]> = seeds.iter().map(Vec::as_slice).collect();
    fuzz(
        "manifest_mutation",
        25_000,
        |rng| {
            let mut bytes = rng.pick(&others).to_vec();
            for _ in 0..1 + rng.index(3) {
                if rng.one_in(5) {
                    MUTATION.apply(rng, &mut bytes, &others, 0x4000);
                } else {
                    mutate_manifest(rng, &mut bytes);
                }
            }
            Bytes(bytes)
        },
        check_manifest,
    );
}

#[test]
fn manifest_generation() {
    fuzz("manifest_generation", 8_000, random_manifest, check_manifest);
}

#[test]
fn manifest_truncation_at_every_length() {
    for seed in manifest_seeds() {
        for len in 0..=seed.len() {
            check_manifest(&Bytes(seed[..len].to_vec()));
        }
    }
}

#[test]
fn manifest_corpus() {
    for (name, bytes) in corpus("manifest") {
        let outcome = check_manifest(&Bytes(bytes.clone()));
        if name.starts_with("ok-") {
            assert_eq!(outcome, Outcome::Accepted, "{name}: {:?}", Manifest::parse(&bytes));
        } else {
            assert!(name.starts_with("err-"), "{name}: corpus files are ok-* or err-*");
            assert!(matches!(outcome, Outcome::Refused(_)), "{name}: {outcome:?}");
        }
    }
}

#[test]
fn manifest_at_every_capacity() {
    // Exactly at every limit: accepted; one more of anything: refused.
    let full = |extra: &str| {
        let mut text = String::from("manifest 1\n");
        for e in 0..MAX_ENDPOINTS {
            writeln!(text, "endpoint e{e}{}", if e == 0 { " notices" } else { "" }).unwrap();
        }
        let names: Vec<String> = (0..MAX_PROGRAMS).map(|p| format!("p{p:0>15}")).collect();
        for (p, name) in names.iter().enumerate() {
            let spawns: Vec<&str> = (0..MAX_SPAWNS)
                .map(|s| names[(p + s) % MAX_PROGRAMS].as_str())
                .collect();
            writeln!(
                text,
                "program {name} file=f priority=7 cpu_limit=4294967295 spawns={}",
                spawns.join(",")
            )
            .unwrap();
            for h in 0..MAX_START_HANDLES {
                writeln!(text, "handle e{h} rights=send,recv,transfer badge=18446744073709551615").unwrap();
            }
            writeln!(text, "args {}", "a".repeat(MAX_ARGS)).unwrap();
        }
        text.push_str(extra);
        text
    };
    let text = full("");
    assert_eq!(check_manifest(&Bytes(text.clone().into_bytes())), Outcome::Accepted);
    let long_args = format!("args {}\n", "a".repeat(MAX_ARGS + 1));
    for (extra, expected) in [
        ("endpoint one-more\n", ManifestErrorKind::TooMany("endpoints")),
        (
            "program one-more file=f priority=0\n",
            ManifestErrorKind::TooMany("programs"),
        ),
        ("handle e0 rights=send\n", ManifestErrorKind::TooMany("handles")),
        (long_args.as_str(), ManifestErrorKind::BadValue("args")),
    ] {
        let text = full(extra);
        let result = Manifest::parse(text.as_bytes());
        assert_eq!(result.map_err(|e| e.kind), Err(expected), "{extra}");
    }
    // A ninth spawn target for the first program.
    let nine = text.replacen("spawns=", "spawns=p000000000000031,", 1);
    assert_eq!(
        Manifest::parse(nine.as_bytes()).map_err(|e| e.kind),
        Err(ManifestErrorKind::TooMany("spawns"))
    );
}

// --------------------------------------------------------------- MsgInfo

struct Word(u64);

impl fmt::Debug for Word {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#018x}", self.0)
    }
}

impl Input for Word {
    fn raw(&self) -> Vec<u8> {
        self.0.to_le_bytes().to_vec()
    }
}

/// `MsgInfo::check` from the bit layout in `message.rs`, written out.
fn model_check(raw: u64) -> Result<u64, Error> {
    let words = (raw >> 32) & 0xf;
    let len = (raw >> 36) & 0x1fff;
    let flags = (raw >> 49) & 0xf;
    let (handle, kernel, unknown) = (flags & 1, flags & 2, flags & 8); // bit 2 (4): NONBLOCK
    if kernel != 0 || unknown != 0 || words > 6 || (handle != 0 && words == 0) {
        return Err(Error::INVAL);
    }
    if len > 4096 {
        return Err(Error::TOOLONG);
    }
    Ok(raw)
}

fn check_msginfo(word: &Word) -> Outcome {
    let info = MsgInfo(word.0);
    let result = info.check();
    assert_eq!(result.map(|i| i.0), model_check(word.0), "differs from the model");
    assert_eq!(result.and_then(MsgInfo::check), result, "check is not idempotent");
    // The accessors see every field and nothing else.
    let rebuilt = MsgInfo::new(info.label(), info.words(), info.len())
        .with_flags(info.flags())
        .with_timeout(info.timeout());
    assert_eq!(rebuilt, info, "fields do not cover the word");
    assert!(info.timeout() <= MAX_TIMEOUT);
    match result {
        Ok(ok) => {
            assert!(ok.words() <= MAX_WORDS && ok.len() <= MAX_BUFFER);
            assert!(!ok.flags().contains(MsgFlags::KERNEL));
            assert!(MsgFlags::all().contains(ok.flags()), "unknown flags {:?}", ok.flags());
            assert!(!ok.flags().contains(MsgFlags::HANDLE) || ok.words() >= 1);
            Outcome::Accepted
        }
        Err(Error::TOOLONG) => Outcome::Refused("TOOLONG"),
        Err(Error::INVAL) => Outcome::Refused("INVAL"),
        Err(other) => panic!("unexpected error {other:?}"),
    }
}

#[test]
fn msginfo_check() {
    fuzz(
        "msginfo_check",
        1_000_000,
        |rng| {
            Word(match rng.below(4) {
                0 => rng.u64(),
                1 => {
                    // Field by field, each near its limits.
                    let words = rng.pick(&[0, 1, 5, 6, 7, 15]);
                    let len = rng.pick(&[0, 1, 4095, 4096, 4097, 0x1fff]);
                    let flags = rng.below(16);
                    let timeout = rng.pick(&[0, 1, 0x7ff]);
                    rng.u64() as u32 as u64 | words << 32 | len << 36 | flags << 49 | timeout << 53
                }
                2 => 1 << rng.below(64),
                _ => rng.u64() & rng.u64() & rng.u64(),
            })
        },
        check_msginfo,
    );
}

// -------------------------------------------------------- notices and trace

struct Notified {
    label: u32,
    words: [u64; 6],
}

impl fmt::Debug for Notified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "label {}, words {:#x?}", self.label, self.words)
    }
}

impl Input for Notified {
    fn raw(&self) -> Vec<u8> {
        let mut out = self.label.to_le_bytes().to_vec();
        for word in self.words {
            out.extend_from_slice(&word.to_le_bytes());
        }
        out
    }
}

fn check_notice(input: &Notified) -> Outcome {
    let Some(notice) = Notice::decode(input.label, &input.words) else {
        assert!(![console::EXIT, console::FAULT, console::LIMIT, console::KILLED].contains(&input.label));
        return Outcome::Refused("not a notice");
    };
    assert_eq!(notice.pid, input.words[0]);
    assert!(notice.name_len <= 16);
    let (bytes, len) = console::unpack_name([input.words[4], input.words[5]]);
    assert_eq!((notice.name, notice.name_len), (bytes, len));
    assert!(!notice.name[..notice.name_len].contains(&0));
    assert!(notice.name_len == 16 || notice.name[notice.name_len] == 0);
    let name = notice.name();
    assert!(name == "?" || name.as_bytes() == &notice.name[..notice.name_len]);
    let line = notice.to_string();
    assert!(line.starts_with(&format!("{name}[{}] ", notice.pid)), "{line}");
    // One line, unless the (kernel-written, so trusted) name has a newline.
    assert!(!line.contains('\n') || name.contains('\n'), "{line:?}");
    match notice.kind {
        NoticeKind::Exited { status } => assert_eq!(status as u64, input.words[1]),
        NoticeKind::Killed {
            vector,
            error_code,
            rip,
            address,
        } => {
            assert_eq!(u64::from(vector) | error_code << 8, input.words[1]);
            assert_eq!((rip, address), (input.words[2], input.words[3]));
        }
        NoticeKind::OverLimit { ticks, rip } => assert_eq!((ticks, rip), (input.words[1], input.words[2])),
        NoticeKind::KilledBy { by, rip } => assert_eq!((by, rip), (input.words[1], input.words[2])),
    }
    Outcome::Accepted
}

#[test]
fn notice_decode() {
    fuzz(
        "notice_decode",
        200_000,
        |rng| {
            let label = if rng.one_in(8) {
                rng.u64() as u32
            } else {
                rng.pick(&[
                    console::WRITE,
                    console::EXIT,
                    console::FAULT,
                    console::LIMIT,
                    console::KILLED,
                ])
            };
            let mut words: [u64; 6] = std::array::from_fn(|_| rng.u64());
            if rng.one_in(2) {
                // A real name, cut anywhere (also inside a UTF-8 sequence).
                let name = rng.pick(&[
                    "hello",
                    "exactly16bytes!!",
                    "longer-than-sixteen",
                    "",
                    "é-é-é-é-é-é-é-é",
                    "a\0b",
                ]);
                let packed = console::pack_name(name);
                words[4] = packed[0];
                words[5] = packed[1];
            }
            if rng.one_in(2) {
                words[1] = rng.pick(&[0, 14, 13 | 0xff << 8, 14 | 0b11111 << 8, u64::MAX, 1 << 63]);
            }
            Notified { label, words }
        },
        check_notice,
    );
}

#[test]
fn notice_words_round_trip() {
    fuzz(
        "notice_words_round_trip",
        100_000,
        |rng| {
            let name: String = (0..rng.index(20))
                .map(|_| rng.pick(&['a', 'z', '0', '-', 'é', '\u{1F600}']))
                .collect();
            let mut raw = name.into_bytes();
            raw.extend_from_slice(&rng.u64().to_le_bytes());
            raw.extend_from_slice(&rng.u64().to_le_bytes());
            raw.extend_from_slice(&rng.u64().to_le_bytes());
            Bytes(raw)
        },
        |input| {
            let (name, tail) = input.0.split_at(input.0.len() - 24);
            let name = std::str::from_utf8(name).expect("generated UTF-8");
            let word = |i: usize| u64::from_le_bytes(tail[8 * i..8 * i + 8].try_into().unwrap());
            let (pid, value, rip) = (word(0), word(1), word(2));
            let cut = &name.as_bytes()[..name.len().min(16)];
            let check_name = |notice: &Notice| {
                assert_eq!(&notice.name[..notice.name_len], cut);
                let expected = std::str::from_utf8(cut).unwrap_or("?");
                assert_eq!(notice.name(), expected);
            };
            let exit = Notice::decode(console::EXIT, &Notice::exit_words(pid, name, value as i64)).unwrap();
            assert_eq!(
                (exit.pid, exit.kind),
                (pid, NoticeKind::Exited { status: value as i64 })
            );
            check_name(&exit);
            let error_code = value >> 8; // 56 bits travel
            let fault = Notice::fault_words(pid, name, value as u8, error_code, rip, !rip);
            let fault = Notice::decode(console::FAULT, &fault).unwrap();
            assert_eq!(
                fault.kind,
                NoticeKind::Killed {
                    vector: value as u8,
                    error_code,
                    rip,
                    address: !rip
                }
            );
            check_name(&fault);
            let limit = Notice::decode(console::LIMIT, &Notice::limit_words(pid, name, value, rip)).unwrap();
            assert_eq!(limit.kind, NoticeKind::OverLimit { ticks: value, rip });
            check_name(&limit);
            Outcome::Accepted
        },
    );
}

fn check_record(input: &Bytes) -> Outcome {
    let bytes: &[u8; RECORD_SIZE] = input.0.as_slice().try_into().expect("a record");
    let valid = u16::from_le_bytes([bytes[0], bytes[1]]) == trace::MAGIC
        && (1..=RecordKind::ALL.len() as u8).contains(&bytes[2]);
    let Some(record) = Record::from_bytes(bytes) else {
        assert!(!valid, "a valid record was refused");
        return Outcome::Refused("bad magic or kind");
    };
    assert!(valid, "an invalid record was accepted");
    assert_eq!(&record.to_bytes(), bytes, "to_bytes ∘ from_bytes is not the identity");
    assert_eq!(Record::from_bytes(&record.to_bytes()), Some(record));
    let kind = record.kind().expect("accepted records have a kind");
    assert_eq!(kind as u8, bytes[2]);
    assert_eq!(record.data().len(), (record.len as usize).min(trace::DATA_BYTES));
    assert_eq!(
        record.data(),
        &bytes[24..24 + record.data().len()],
        "data is the register bytes"
    );
    let mut copy = record;
    copy.set_data(&bytes[..(record.len as usize % 200).min(RECORD_SIZE)]);
    assert_eq!(copy.data(), &bytes[..copy.data().len()]);
    assert!(copy.data().len() <= trace::DATA_BYTES);
    if kind == RecordKind::Data {
        assert!(record.data().len() <= trace::DATA_BYTES);
    }
    Outcome::Accepted
}

#[test]
fn trace_record() {
    fuzz(
        "trace_record",
        100_000,
        |rng| {
            let mut bytes: Vec<u8> = (0..RECORD_SIZE).map(|_| rng.byte()).collect();
            if !rng.one_in(4) {
                bytes[..2].copy_from_slice(&trace::MAGIC.to_le_bytes());
                bytes[2] = rng.pick(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 0xff]);
            }
            if rng.one_in(2) {
                let len = rng.pick(&[0, 1, 79, 80, 81, u32::MAX]);
                bytes[116..120].copy_from_slice(&len.to_le_bytes());
            }
            Bytes(bytes)
        },
        check_record,
    );
}

/// Checks the trace reader on one file: it never panics, every byte is
/// either in a record it returns or in an error it reports, records come
/// back exactly as their bytes decode, and only a header stops it.
fn check_trace_file(input: &Bytes) -> Outcome {
    let bytes = &input.0;
    let mut reader = trace::Reader::new(bytes);
    let mut accounted = 0;
    let mut errors = 0;
    let mut first = true;
    let starts_with_header = bytes.len() >= RECORD_SIZE
        && Record::from_bytes(bytes[..RECORD_SIZE].try_into().unwrap()).and_then(|r| r.kind())
            == Some(RecordKind::Header);
    while let Some(item) = reader.next() {
        if first {
            assert_eq!(item == Err(trace::ReadError::NoHeader), !starts_with_header, "{item:?}");
            first = false;
            if item == Err(trace::ReadError::NoHeader) {
                errors += 1;
                continue;
            }
        }
        match item {
            Ok(record) => {
                let at = reader.offset() - RECORD_SIZE;
                assert_eq!(at, accounted, "records are contiguous with what was accounted");
                assert_eq!(
                    Some(record),
                    Record::from_bytes(bytes[at..at + RECORD_SIZE].try_into().unwrap())
                );
                accounted += RECORD_SIZE;
            }
            Err(trace::ReadError::Garbage { offset, len }) => {
                assert_eq!(offset, accounted);
                assert!(len > 0);
                assert!(
                    !bytes[offset..].starts_with(&trace::MAGIC.to_le_bytes()),
                    "garbage starts with a magic"
                );
                accounted += len;
                errors += 1;
            }
            Err(trace::ReadError::UnknownKind { offset, kind }) => {
                assert_eq!(offset, accounted);
                assert_eq!(RecordKind::from_u8(kind), None);
                accounted += RECORD_SIZE;
                errors += 1;
            }
            Err(trace::ReadError::Truncated { offset, len }) => {
                assert_eq!(offset, accounted);
                assert!(len < RECORD_SIZE && offset + len == bytes.len());
                accounted += len;
                errors += 1;
            }
            Err(error) => {
                assert!(error.is_fatal(), "{error:?} after the start");
                assert_eq!(reader.next(), None, "reading goes on after {error:?}");
                return Outcome::Refused("header refused");
            }
        }
    }
    assert_eq!(accounted, bytes.len(), "bytes neither read nor reported");
    if errors == 0 {
        assert!(reader.version().is_some());
        Outcome::Accepted
    } else {
        Outcome::Refused("damaged")
    }
}

#[test]
fn trace_reader() {
    let mut writer = trace::TraceWriter::new();
    writer
        .start(3, "hello")
        .enter(3, abi::Syscall::Write, &[1, 0x2000, 3])
        .data(3, abi::Syscall::Write, b"hi\n")
        .exit(3, abi::Syscall::Write, 3, 1, &[])
        .end_with(3, console::EXIT, 0);
    let valid = writer.bytes();
    fuzz(
        "trace_reader",
        20_000,
        |rng| {
            let mut bytes = valid.clone();
            for _ in 0..rng.below(4) {
                let at = rng.below(bytes.len() as u64 + 1) as usize;
                match rng.below(6) {
                    // A cut (at the end or anywhere).
                    0 => bytes.truncate(at),
                    1 if at < bytes.len() => {
                        bytes.drain(at..(at + rng.below(200) as usize).min(bytes.len()));
                    }
                    // Inserted junk, possibly with a magic in it.
                    2 => {
                        let mut junk: Vec<u8> = (0..rng.below(300)).map(|_| rng.byte()).collect();
                        if rng.one_in(2) && junk.len() > 3 {
                            let spot = rng.below(junk.len() as u64 - 2) as usize;
                            junk[spot..spot + 2].copy_from_slice(&trace::MAGIC.to_le_bytes());
                            junk[spot + 2] = rng.pick(&[1, 5, 8, 9, 0xff]);
                        }
                        bytes.splice(at..at, junk);
                    }
                    // A damaged kind or header field.
                    3 if at + 3 <= bytes.len() => bytes[at - at % RECORD_SIZE + 2] = rng.pick(&[0, 8, 9, 0x80]),
                    4 if bytes.len() >= RECORD_SIZE => {
                        let field = rng.pick(&[16usize, 24, 32]);
                        bytes[field] ^= 1 << rng.below(8);
                    }
                    _ if at < bytes.len() => bytes[at] = rng.byte(),
                    _ => {}
                }
            }
            Bytes(bytes)
        },
        check_trace_file,
    );
}

#[test]
fn harness_is_deterministic() {
    let mut a = Rng::new(7);
    let mut b = Rng::new(7);
    assert!((0..100).all(|_| a.u64() == b.u64()));
    // splitmix64's published first output for seed 0.
    assert_eq!(Rng::new(0).u64(), 0xe220_a839_7b1d_cdaf);
    assert_eq!(random_manifest(&mut Rng::new(3)).0, random_manifest(&mut Rng::new(3)).0);
}
