//! The ABI's data layouts, derived from the `abi` crate itself: the
//! `MsgInfo` bit fields (probed through its accessors), the fields of
//! `Stats` and of the trace `Record` (offsets and sizes from the compiler),
//! the lists of kinds, labels and exit codes, and the one-line descriptions
//! that the ABI's source gives all of them in doc comments.
//!
//! What cannot be enumerated from code (struct fields, constants) is listed
//! here once, and tests compare each list with the ABI's source text, so a
//! field or constant added there fails a test until it is listed here.

use abi::MsgInfo;
use abi::message::MsgFlags;
use abi::stats::Stats;
use abi::syscall::ArgKind;
use abi::trace::Record;

/// The ABI's source files, for their doc comments.
pub mod source {
    pub const MESSAGE: &str = include_str!("../../../abi/src/message.rs");
    pub const STATS: &str = include_str!("../../../abi/src/stats.rs");
    pub const TRACE: &str = include_str!("../../../abi/src/trace/record.rs");
    pub const SYSCALL: &str = include_str!("../../../abi/src/syscall.rs");
    pub const CONSOLE: &str = include_str!("../../../abi/src/console.rs");
    pub const MACHINE: &str = include_str!("../../../abi/src/machine.rs");
    pub const HANDLE: &str = include_str!("../../../abi/src/handle.rs");
    pub const NOTIFY: &str = include_str!("../../../abi/src/notify.rs");
    pub const PROCESS: &str = include_str!("../../../abi/src/process.rs");
    pub const TIME: &str = include_str!("../../../abi/src/time.rs");
}

/// The doc comment of the first line (trimmed) starting with `item` after the
/// first line starting with `block` (or anywhere, if `block` is empty): its
/// `///` lines joined with spaces, with rustdoc link brackets removed.
/// Empty if the item has none.
pub fn doc_comment(source: &str, block: &str, item: &str) -> String {
    let lines: Vec<&str> = source.lines().collect();
    let start = if block.is_empty() {
        0
    } else {
        match lines.iter().position(|line| line.trim_start().starts_with(block)) {
            Some(at) => at + 1,
            None => return String::new(),
        }
    };
    let Some(at) = lines[start..]
        .iter()
        .position(|line| line.trim_start().starts_with(item))
    else {
        return String::new();
    };
    let mut docs = Vec::new();
    for line in lines[..start + at].iter().rev() {
        let line = line.trim();
        if let Some(text) = line.strip_prefix("///") {
            docs.push(text.trim());
        } else if !line.starts_with("#[") {
            break;
        }
    }
    docs.reverse();
    plain(&docs.join(" "))
}

/// Rustdoc text as plain Markdown: "\[`Name`\]" becomes "`Name`", and
/// "`crate::Name`" becomes "`Name`".
pub fn plain(text: &str) -> String {
    text.replace("[`", "`").replace("`]", "`").replace("`crate::", "`")
}

/// What the fields that the ABI's source leaves without a doc comment mean.
/// A doc comment in the source wins.
const UNDOCUMENTED_FIELDS: [(&str, &str, &str); 9] = [
    ("Stats", "thread_capacity", "Capacity of the thread table."),
    ("Stats", "endpoint_capacity", "Capacity of the endpoint table."),
    ("Record", "magic", "`MAGIC`."),
    ("Record", "kind", "What the record describes (the kinds below)."),
    ("Record", "cpu", "The CPU that wrote the record."),
    ("Record", "pid", "The process the record is about."),
    (
        "Record",
        "regs",
        "Registers in the order of `REGS` (arguments, results), or the bytes of a `data` record.",
    ),
    (
        "Record",
        "result",
        "RAX of an `exit` record; the status of an `end` record.",
    ),
    (
        "Record",
        "peer",
        "The process an `exit` exchanged a message with; the process a `switch` left (0: none).",
    ),
];

fn field_description(structure: &str, field: &str, documented: String) -> String {
    if !documented.is_empty() {
        return documented;
    }
    UNDOCUMENTED_FIELDS
        .iter()
        .find(|(s, f, _)| *s == structure && *f == field)
        .map(|(_, _, text)| text.to_string())
        .unwrap_or_default()
}

/// A bit field of [`MsgInfo`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BitField {
    /// As in the table of `abi/src/message.rs`; `reserved` for bits that no
    /// accessor reads.
    pub name: &'static str,
    /// Lowest and highest bit, inclusive.
    pub low: u32,
    pub high: u32,
    pub description: String,
}

impl BitField {
    pub fn width(&self) -> u32 {
        self.high - self.low + 1
    }
}

/// Reads one field of a [`MsgInfo`].
pub type Accessor = fn(MsgInfo) -> u64;

/// The accessors of [`MsgInfo`], each with its field's name in the layout
/// table of `abi/src/message.rs`.
pub const MSGINFO_ACCESSORS: [(&str, Accessor); 5] = [
    ("label", |info| info.label() as u64),
    ("words", |info| info.words() as u64),
    ("length", |info| info.len() as u64),
    ("flags", |info| info.flags().bits() as u64),
    ("timeout", |info| info.timeout() as u64),
];

/// Name of the bits no accessor reads.
pub const RESERVED: &str = "reserved";

/// Which accessors read `bit` (normally one, or none for a reserved bit).
pub fn msginfo_readers(bit: u32) -> Vec<&'static str> {
    MSGINFO_ACCESSORS
        .iter()
        .filter(|(_, read)| read(MsgInfo(1 << bit)) != 0)
        .map(|(name, _)| *name)
        .collect()
}

/// The bit fields of [`MsgInfo`] from bit 0 up, found by setting one bit at
/// a time and asking each accessor whether it sees it.
pub fn msginfo_fields() -> Vec<BitField> {
    let documented = documented_msginfo_fields();
    let mut fields: Vec<BitField> = Vec::new();
    for bit in 0..64 {
        let name = msginfo_readers(bit).first().copied().unwrap_or(RESERVED);
        match fields.last_mut() {
            Some(last) if last.name == name && last.high + 1 == bit => last.high = bit,
            _ => {
                let description = documented
                    .iter()
                    .find(|field| field.name == name || (name == RESERVED && field.name == "-"))
                    .map(|field| field.meaning.clone())
                    .unwrap_or_default();
                fields.push(BitField {
                    name,
                    low: bit,
                    high: bit,
                    description,
                });
            }
        }
    }
    fields
}

/// A row of the `MsgInfo` layout table in the doc comment of
/// `abi/src/message.rs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentedField {
    pub name: String,
    pub low: u32,
    pub high: u32,
    pub meaning: String,
}

/// The rows of that table (`| 0-31 | label | meaning |`).
pub fn documented_msginfo_fields() -> Vec<DocumentedField> {
    let mut rows = Vec::new();
    for line in source::MESSAGE.lines() {
        let Some(row) = line.strip_prefix("//!").map(str::trim) else {
            continue;
        };
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        // `| bits | field | meaning |` splits into 5 cells, the outer ones empty.
        if cells.len() != 5 {
            continue;
        }
        let Some((low, high)) = cells[1].split_once('-') else {
            continue;
        };
        let (Ok(low), Ok(high)) = (low.trim().parse(), high.trim().parse()) else {
            continue;
        };
        rows.push(DocumentedField {
            name: cells[2].to_string(),
            low,
            high,
            meaning: plain(cells[3]),
        });
    }
    rows
}

/// A flag of [`MsgFlags`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flag {
    pub name: &'static str,
    /// Bit within the `flags` field.
    pub bit: u32,
    pub description: String,
}

/// Every flag bitflags knows, in bit order.
pub fn msg_flags() -> Vec<Flag> {
    MsgFlags::all()
        .iter_names()
        .map(|(name, flag)| Flag {
            name,
            bit: flag.bits().trailing_zeros(),
            description: doc_comment(source::MESSAGE, "pub struct MsgFlags", &format!("const {name} ")),
        })
        .collect()
}

/// A field of a `repr(C)` struct of the ABI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldLayout {
    pub name: &'static str,
    pub offset: usize,
    pub size: usize,
    /// The Rust type (`u64`, `[u64; 10]`).
    pub type_name: &'static str,
    pub description: String,
}

fn size_of_field<S, F>(_: fn(&S) -> &F) -> usize {
    size_of::<F>()
}

fn type_of_field<S, F>(_: fn(&S) -> &F) -> &'static str {
    std::any::type_name::<F>()
}

macro_rules! struct_fields {
    ($type:ident, $source:expr, $block:literal, [$($field:ident),* $(,)?]) => {
        vec![$(FieldLayout {
            name: stringify!($field),
            offset: core::mem::offset_of!($type, $field),
            size: size_of_field(|value: &$type| &value.$field),
            type_name: type_of_field(|value: &$type| &value.$field),
            description: field_description(
                stringify!($type),
                stringify!($field),
                doc_comment($source, $block, concat!("pub ", stringify!($field), ":")),
            ),
        }),*]
    };
}

/// The fields of [`Stats`], in memory order.
pub fn stats_fields() -> Vec<FieldLayout> {
    struct_fields!(
        Stats,
        source::STATS,
        "pub struct Stats",
        [
            free_frames,
            total_frames,
            processes,
            process_capacity,
            threads,
            thread_capacity,
            endpoints,
            endpoint_capacity,
            handles,
            ticks,
            syscalls,
            spawned,
            promised_frames,
        ]
    )
}

/// The fields of a trace [`Record`], in memory order.
pub fn record_fields() -> Vec<FieldLayout> {
    struct_fields!(
        Record,
        source::TRACE,
        "pub struct Record",
        [
            magic, kind, cpu, pid, timestamp, number, regs, result, peer, len, sequence
        ]
    )
}

/// The fields of the time page (`abi::time::TimePage`), in memory order.
pub fn time_page_fields() -> Vec<FieldLayout> {
    use abi::time::TimePage;
    struct_fields!(
        TimePage,
        source::TIME,
        "pub struct TimePage",
        [ticks, tick_hz, tsc_hz, tsc_at_boot]
    )
}

/// Sets one field of a process record to all ones.
type InfoProbe = fn(&mut abi::process::Info);

/// The fields of a `process_info` record (`abi::process::Info`), in the
/// order of its bytes: each found by setting the field to all ones and
/// seeing which bytes of `Info::to_bytes` change.
pub fn info_fields() -> Vec<FieldLayout> {
    use abi::process::Info;
    let probes: [(&'static str, &'static str, InfoProbe); 9] = [
        ("pid", "u32", |info| info.pid = u32::MAX),
        ("state", "u8", |info| info.state = u8::MAX),
        ("priority", "u8", |info| info.priority = u8::MAX),
        ("name_len", "u8", |info| info.name_len = u8::MAX),
        ("name", "[u8; 16]", |info| info.name = [u8::MAX; 16]),
        ("cpu_ticks", "u64", |info| info.cpu_ticks = u64::MAX),
        ("handles", "u32", |info| info.handles = u32::MAX),
        ("frames", "u64", |info| info.frames = u64::MAX),
        ("memory_limit", "u64", |info| info.memory_limit = u64::MAX),
    ];
    let zero = Info::from_bytes(&[0; Info::SIZE]).expect("a whole record");
    let mut fields: Vec<FieldLayout> = probes
        .into_iter()
        .map(|(name, type_name, set)| {
            let mut info = zero;
            set(&mut info);
            let bytes = info.to_bytes();
            let first = bytes.iter().position(|&b| b != 0).unwrap_or(0);
            let last = bytes.iter().rposition(|&b| b != 0).unwrap_or(0);
            FieldLayout {
                name,
                offset: first,
                size: last + 1 - first,
                type_name,
                description: doc_comment(source::PROCESS, "pub struct Info", &format!("pub {name}:")),
            }
        })
        .collect();
    fields.sort_by_key(|field| field.offset);
    fields
}

/// How a process ends (`abi::process::Ending`, `process_wait`'s result),
/// with what its detail is.
pub fn endings() -> Vec<Constant> {
    abi::process::Ending::ALL
        .into_iter()
        .map(|ending| Constant {
            name: ending.name(),
            value: ending as u64,
            description: doc_comment(source::PROCESS, "pub enum Ending", &format!("{ending:?} =")),
        })
        .collect()
}

/// The states of a `process_info` record (`abi::process::State`).
pub fn process_states() -> Vec<Constant> {
    (0..=u8::MAX)
        .filter_map(abi::process::State::from_code)
        .map(|state| Constant {
            name: state.name(),
            value: state as u64,
            description: doc_comment(source::PROCESS, "pub enum State", &format!("{state:?} =")),
        })
        .collect()
}

/// The flags of `notify_wait` and `process_wait` (`abi::notify`).
pub fn wait_flags() -> Vec<Constant> {
    [("NONBLOCK", abi::notify::NONBLOCK)]
        .into_iter()
        .map(|(name, value)| Constant {
            name,
            value,
            description: doc_comment(source::NOTIFY, "", &format!("pub const {name}:")),
        })
        .collect()
}

/// The `pub NAME:` fields of `pub struct NAME` in `source`, in order.
pub fn source_struct_fields(source: &str, name: &str) -> Vec<String> {
    let header = format!("pub struct {name} ");
    let mut fields = Vec::new();
    let mut inside = false;
    for line in source.lines() {
        let line = line.trim();
        if line.starts_with(&header) {
            inside = true;
        } else if inside && line.starts_with('}') {
            break;
        } else if inside
            && let Some(rest) = line.strip_prefix("pub ")
            && let Some((field, _)) = rest.split_once(':')
        {
            fields.push(field.trim().to_string());
        }
    }
    fields
}

/// The `pub const NAME: TYPE` items of `source` whose name starts with
/// `prefix`, in order.
pub fn source_constants(source: &str, prefix: &str, type_name: &str) -> Vec<String> {
    source
        .lines()
        .filter_map(|line| line.strip_prefix("pub const "))
        .filter_map(|rest| rest.split_once(':'))
        .filter(|(name, rest)| name.starts_with(prefix) && rest.trim_start().starts_with(type_name))
        .map(|(name, _)| name.to_string())
        .collect()
}

/// Every argument kind of the syscall table, with a placeholder length name
/// for the pointer kinds.
pub const ARGUMENT_KINDS: [ArgKind; 22] = [
    ArgKind::Int,
    ArgKind::Handle,
    ArgKind::InPtr { len: "" },
    ArgKind::OutPtr { len: "" },
    ArgKind::InOutPtr { send: "", receive: "" },
    ArgKind::Unused,
    ArgKind::Version,
    ArgKind::Len,
    ArgKind::MsgInfo,
    ArgKind::Word,
    ArgKind::Rights,
    ArgKind::Badge,
    ArgKind::Status,
    ArgKind::Pid,
    ArgKind::Address,
    ArgKind::Perms,
    ArgKind::Bits,
    ArgKind::Ticks,
    ArgKind::Flags,
    ArgKind::Irq,
    ArgKind::Ending,
    ArgKind::Count,
];

/// The variant name of an argument kind (its `Debug` name without fields).
pub fn kind_variant(kind: ArgKind) -> String {
    let debug = format!("{kind:?}");
    debug.split([' ', '{']).next().unwrap_or_default().to_string()
}

/// What an argument kind means (its doc comment in `abi/src/syscall.rs`).
pub fn kind_description(kind: ArgKind) -> String {
    let variant = kind_variant(kind);
    [format!("{variant},"), format!("{variant} {{")]
        .iter()
        .map(|item| doc_comment(source::SYSCALL, "pub enum ArgKind", item))
        .find(|doc| !doc.is_empty())
        .unwrap_or_default()
}

/// The variants of `pub enum NAME` in `source`, in order.
pub fn source_enum_variants(source: &str, name: &str) -> Vec<String> {
    let header = format!("pub enum {name} ");
    let mut variants = Vec::new();
    let mut inside = false;
    let mut depth = 0;
    for line in source.lines() {
        let line = line.trim();
        if line.starts_with(&header) {
            inside = true;
            continue;
        }
        if !inside || line.starts_with("//") || line.starts_with("#[") || line.is_empty() {
            continue;
        }
        if depth == 0 && line.starts_with('}') {
            break;
        }
        if depth == 0 {
            let variant: String = line.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !variant.is_empty() {
                variants.push(variant);
            }
        }
        depth += line.matches('{').count();
        depth -= line.matches('}').count().min(depth);
    }
    variants
}

/// A record kind of the trace, with its value and meaning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordKindRow {
    pub kind: abi::trace::RecordKind,
    pub value: u8,
    /// Lower-case (`enter`).
    pub name: String,
    pub description: String,
}

/// Every record kind `abi::trace::RecordKind::from_u8` knows.
pub fn record_kinds() -> Vec<RecordKindRow> {
    (0..=u8::MAX)
        .filter_map(|value| abi::trace::RecordKind::from_u8(value).map(|kind| (value, kind)))
        .map(|(value, kind)| {
            let variant = format!("{kind:?}");
            RecordKindRow {
                kind,
                value,
                name: kind.name().to_string(),
                description: doc_comment(source::TRACE, "pub enum RecordKind", &format!("{variant} =")),
            }
        })
        .collect()
}

/// A named constant of the ABI with its value and meaning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Constant {
    pub name: &'static str,
    pub value: u64,
    pub description: String,
}

/// The exit values of `abi::machine`.
pub fn exit_codes() -> Vec<Constant> {
    use abi::machine::*;
    [
        ("EXIT_SUCCESS", EXIT_SUCCESS),
        ("EXIT_KERNEL_PANIC", EXIT_KERNEL_PANIC),
        ("EXIT_KERNEL_FAULT", EXIT_KERNEL_FAULT),
        ("EXIT_DEADLOCK", EXIT_DEADLOCK),
        ("EXIT_BAD_IMAGE", EXIT_BAD_IMAGE),
        ("EXIT_DUMPED", EXIT_DUMPED),
    ]
    .into_iter()
    .map(|(name, value)| Constant {
        name,
        value: value.into(),
        description: describe(value).to_string(),
    })
    .collect()
}

/// The message labels of the console protocol (`abi::console`).
pub fn console_labels() -> Vec<Constant> {
    use abi::console::*;
    [
        ("WRITE", WRITE),
        ("EXIT", EXIT),
        ("FAULT", FAULT),
        ("LIMIT", LIMIT),
        ("KILLED", KILLED),
        ("ATTACH", ATTACH),
        ("READ", READ),
    ]
    .into_iter()
    .map(|(name, value)| Constant {
        name,
        value: value.into(),
        description: doc_comment(source::CONSOLE, "", &format!("pub const {name}:")),
    })
    .collect()
}

/// The handle rights, with their bits and meanings.
pub fn rights() -> Vec<Constant> {
    abi::Rights::NAMES
        .iter()
        .map(|(name, right)| {
            let constant = abi::Rights::all()
                .iter_names()
                .find(|(_, bits)| bits == right)
                .map_or("", |(constant, _)| constant);
            Constant {
                name,
                value: right.bits(),
                description: doc_comment(source::HANDLE, "pub struct Rights", &format!("const {constant} ")),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msginfo_fields_match_the_documented_table() {
        for bit in 0..64 {
            let readers = msginfo_readers(bit);
            assert!(readers.len() <= 1, "bit {bit} is read by {readers:?}");
        }
        let documented = documented_msginfo_fields();
        assert!(!documented.is_empty(), "no layout table in abi/src/message.rs");
        let probed: Vec<(String, u32, u32)> = msginfo_fields()
            .iter()
            .map(|field| (field.name.replace(RESERVED, "-"), field.low, field.high))
            .collect();
        let table: Vec<(String, u32, u32)> = documented.iter().map(|f| (f.name.clone(), f.low, f.high)).collect();
        assert_eq!(
            probed, table,
            "the MsgInfo accessors (left; new ones must be added to MSGINFO_ACCESSORS) disagree \
             with the table in abi/src/message.rs (right)"
        );
        for field in msginfo_fields() {
            assert!(!field.description.is_empty(), "{} has no meaning", field.name);
        }
    }

    #[test]
    fn flags_are_listed_with_descriptions() {
        let flags = msg_flags();
        assert!(flags.iter().any(|f| f.name == "KERNEL"));
        for flag in &flags {
            assert!(!flag.description.is_empty(), "{} has no doc comment", flag.name);
        }
    }

    #[test]
    fn msginfo_display_shows_every_field() {
        // The name `MsgInfo`'s Display (the traces' format) gives each field
        // of the layout table.
        let shown = |name: &str| {
            match name {
                "length" => "len",
                other => other,
            }
            .to_string()
        };
        for field in msginfo_fields() {
            assert_ne!(
                field.name, RESERVED,
                "bits {}-{} are read by no accessor",
                field.low, field.high
            );
            let info = MsgInfo(1 << field.low);
            let text = info.to_string();
            assert!(
                text.contains(&format!(" {}=", shown(field.name)))
                    || text.contains(&format!("{{{}=", shown(field.name))),
                "{}: {text}",
                field.name
            );
        }
        assert_eq!(
            MsgInfo::new(1, 2, 3)
                .with_flags(MsgFlags::HANDLE | MsgFlags::KERNEL)
                .to_string(),
            "{label=1 words=2 len=3 flags=HANDLE|KERNEL}"
        );
    }

    fn check_struct(fields: &[FieldLayout], size: usize, source: &str, name: &str) {
        let listed: Vec<&str> = fields.iter().map(|f| f.name).collect();
        assert_eq!(
            listed,
            source_struct_fields(source, name),
            "the fields of {name} changed: update build/src/reference/layout.rs"
        );
        let mut offset = 0;
        for field in fields {
            assert_eq!(field.offset, offset, "{name}.{} is not where expected", field.name);
            offset += field.size;
        }
        assert_eq!(offset, size, "{name} has padding or fields this list lacks");
    }

    #[test]
    fn struct_layouts_cover_the_structs() {
        check_struct(&stats_fields(), Stats::SIZE, source::STATS, "Stats");
        check_struct(&record_fields(), abi::trace::RECORD_SIZE, source::TRACE, "Record");
        assert!(stats_fields().iter().all(|f| f.type_name == "u64"));
        assert_eq!(record_fields()[6].type_name, "[u64; 10]");
        for field in stats_fields().iter().chain(&record_fields()) {
            assert!(!field.description.is_empty(), "{} has no description", field.name);
        }
    }

    #[test]
    fn the_new_records_are_laid_out_as_their_sources_say() {
        check_struct(
            &time_page_fields(),
            size_of::<abi::time::TimePage>(),
            source::TIME,
            "TimePage",
        );
        let info = info_fields();
        let mut names: Vec<&str> = info.iter().map(|f| f.name).collect();
        names.sort_unstable();
        let mut declared = source_struct_fields(source::PROCESS, "Info");
        declared.sort_unstable();
        assert_eq!(names, declared, "the fields of Info changed: update info_fields()");
        let mut end = 0;
        for field in &info {
            assert!(field.offset >= end, "{} overlaps the field before", field.name);
            assert!(!field.description.is_empty(), "{} has no description", field.name);
            end = field.offset + field.size;
        }
        assert!(end <= abi::process::Info::SIZE);
        let sizes: Vec<usize> = info.iter().map(|f| f.size).collect();
        assert_eq!(sizes, [4, 1, 1, 1, 16, 8, 4, 8, 8]);
        let variants: Vec<String> = endings().iter().map(|e| e.name.to_string()).collect();
        assert_eq!(variants.len(), source_enum_variants(source::PROCESS, "Ending").len());
        assert_eq!(
            process_states().len(),
            source_enum_variants(source::PROCESS, "State").len()
        );
        for constant in endings().iter().chain(&process_states()).chain(&wait_flags()) {
            assert!(!constant.description.is_empty(), "{} has no description", constant.name);
        }
        assert_eq!(
            wait_flags().iter().fold(0, |all, flag| all | flag.value),
            abi::notify::WAIT_FLAGS,
            "abi::notify changed: update wait_flags()"
        );
    }

    #[test]
    fn argument_kinds_are_all_listed() {
        let variants: Vec<String> = ARGUMENT_KINDS.iter().map(|k| kind_variant(*k)).collect();
        assert_eq!(variants, source_enum_variants(source::SYSCALL, "ArgKind"));
        for kind in ARGUMENT_KINDS {
            assert!(!kind_description(kind).is_empty(), "{kind:?}");
        }
        for entry in abi::syscall::SYSCALLS {
            for field in entry.args.iter().chain(entry.results) {
                let variant = kind_variant(field.kind);
                assert!(variants.contains(&variant), "{}: {variant}", entry.name);
            }
        }
    }

    #[test]
    fn record_kinds_are_all_known() {
        let kinds = record_kinds();
        let names: Vec<String> = kinds.iter().map(|k| format!("{:?}", k.kind)).collect();
        assert_eq!(names, source_enum_variants(source::TRACE, "RecordKind"));
        assert!(kinds.iter().all(|k| !k.description.is_empty()));
    }

    #[test]
    fn constant_lists_are_complete() {
        let listed: Vec<&str> = exit_codes().iter().map(|c| c.name).collect();
        assert_eq!(
            listed,
            source_constants(source::MACHINE, "EXIT_", "u32"),
            "abi::machine changed: update exit_codes() in build/src/reference/layout.rs"
        );
        let listed: Vec<&str> = console_labels().iter().map(|c| c.name).collect();
        assert_eq!(
            listed,
            source_constants(source::CONSOLE, "", "u32"),
            "abi::console changed: update console_labels() in build/src/reference/layout.rs"
        );
        assert!(console_labels().iter().all(|c| !c.description.is_empty()));
        assert_eq!(rights().len(), abi::Rights::all().iter().count());
        assert!(rights().iter().all(|c| !c.description.is_empty()));
    }

    #[test]
    fn doc_comments() {
        let source =
            "/// Outer.\nstruct A {\n    /// One\n    /// two.\n    #[attr]\n    pub one: u8,\n    pub two: u8,\n}\n";
        assert_eq!(doc_comment(source, "struct A", "pub one:"), "One two.");
        assert_eq!(doc_comment(source, "struct A", "pub two:"), "");
        assert_eq!(doc_comment(source, "", "struct A"), "Outer.");
        assert_eq!(doc_comment(source, "struct B", "pub one:"), "");
        assert_eq!(plain("see [`MsgFlags`]"), "see `MsgFlags`");
    }
}
