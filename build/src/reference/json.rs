//! The whole ABI as one JSON document (`cargo xtask abi --json`), for tools
//! in other languages. Its shape is described by `docs/abi.schema.json`
//! (JSON Schema draft 2020-12), whose `$id` carries [`SCHEMA_VERSION`].
//!
//! The schema version changes when the document's shape changes (a field
//! renamed, removed or retyped); new optional fields keep it. The ABI's own
//! version is the document's `abi_version`.

use super::layout;
use abi::regs::{self, Reg};
use abi::syscall::{ArgKind, Field, SYSCALLS, SyscallDesc};
use abi::{Error, message};
use serde_json::{Value, json};

/// Defines [`SCHEMA_VERSION`] and [`SCHEMA_ID`] from one number, so they
/// cannot differ; docs/abi.md's reference is generated from them, and a
/// test checks docs/abi.schema.json against them.
macro_rules! schema_version {
    ($version:literal) => {
        /// Version of the document's shape (`schema_version` in the export).
        pub const SCHEMA_VERSION: u32 = $version;
        /// The schema's `$id`; ends with the schema version.
        pub const SCHEMA_ID: &str = concat!("urn:microkernel:abi-export:schema:", $version);
    };
}

schema_version!(3);

fn names(registers: &[Reg]) -> Value {
    registers.iter().map(|reg| reg.name()).collect()
}

/// An argument or result: `{name, register, kind}` plus `length` (the
/// argument holding the length) for in_ptr and out_ptr, and `send_length`
/// and `receive_length` for inout_ptr.
pub fn field(field: &Field) -> Value {
    let mut value = json!({
        "name": field.name,
        "register": field.reg.name(),
        "kind": field.kind.name(),
    });
    match field.kind {
        ArgKind::InPtr { len } | ArgKind::OutPtr { len } => value["length"] = json!(len),
        ArgKind::InOutPtr { send, receive } => {
            value["send_length"] = json!(send);
            value["receive_length"] = json!(receive);
        }
        _ => {}
    }
    value
}

/// One entry of the syscall table.
pub fn syscall(entry: &SyscallDesc) -> Value {
    json!({
        "number": entry.number as u64,
        "name": entry.name,
        "variant": format!("{:?}", entry.number),
        "summary": entry.summary.split_whitespace().collect::<Vec<_>>().join(" "),
        "args": entry.args.iter().map(field).collect::<Vec<_>>(),
        "results": entry.results.iter().map(field).collect::<Vec<_>>(),
        "errors": entry.errors.iter().map(|e| e.name()).collect::<Vec<_>>(),
        "returns": entry.returns.name(),
        "blocks": entry.blocks,
    })
}

fn constants(list: &[layout::Constant]) -> Value {
    list.iter()
        .map(|c| json!({"name": c.name, "value": c.value, "description": c.description}))
        .collect()
}

fn struct_layout(size: usize, fields: &[layout::FieldLayout]) -> Value {
    json!({
        "size": size,
        "fields": fields.iter().map(|f| json!({
            "name": f.name,
            "offset": f.offset,
            "size": f.size,
            "type": f.type_name,
            "description": f.description,
        })).collect::<Vec<_>>(),
    })
}

/// The export.
pub fn json() -> Value {
    let fields = layout::msginfo_fields();
    json!({
        "schema_version": SCHEMA_VERSION,
        "abi_version": {
            "major": abi::ABI_VERSION >> 16,
            "minor": abi::ABI_VERSION & 0xffff,
            "value": abi::ABI_VERSION,
            "compatibility": "a kernel runs programs built for the same major version and a minor \
                              version no newer than its own",
        },
        "memory": {
            "user_base": abi::USER_BASE,
            "user_end": abi::USER_END,
            "page_size": abi::PAGE_SIZE,
        },
        "registers": {
            "number": regs::NUMBER.name(),
            "result": regs::RESULT.name(),
            "args": names(&regs::ARGS),
            "clobbered": names(&regs::CLOBBERED),
            "ipc": {
                "handle": regs::ipc::HANDLE.name(),
                "badge": regs::ipc::BADGE.name(),
                "info": regs::ipc::INFO.name(),
                "buffer": regs::ipc::BUFFER.name(),
                "capacity": regs::ipc::CAPACITY.name(),
                "words": names(&regs::ipc::WORDS),
            },
        },
        "results": {
            "max_error_code": 4095,
            "rule": "a result above 0xfffffffffffff000 (the top 4095 values) is -code of an error",
        },
        "argument_kinds": layout::ARGUMENT_KINDS.iter().map(|kind| json!({
            "name": kind.name(),
            "description": layout::kind_description(*kind),
        })).collect::<Vec<_>>(),
        "syscalls": SYSCALLS.iter().map(syscall).collect::<Vec<_>>(),
        "errors": Error::ALL.iter().map(|error| json!({
            "name": error.name(),
            "code": *error as u16,
            "description": error.description(),
        })).collect::<Vec<_>>(),
        "message": {
            "info_fields": fields.iter().map(|f| json!({
                "name": f.name,
                "low": f.low,
                "high": f.high,
                "width": f.width(),
                "description": f.description,
            })).collect::<Vec<_>>(),
            "flags": layout::msg_flags().iter().map(|flag| json!({
                "name": flag.name,
                "bit": flag.bit,
                "description": flag.description,
            })).collect::<Vec<_>>(),
            "max_words": message::MAX_WORDS,
            "max_buffer": message::MAX_BUFFER,
        },
        "handles": {
            "console": abi::handle::CONSOLE,
            "max_handles": abi::handle::MAX_HANDLES,
            "rights": constants(&layout::rights()),
        },
        "stats": struct_layout(abi::stats::Stats::SIZE, &layout::stats_fields()),
        "trace": {
            "port": abi::trace::TRACE_PORT,
            "magic": abi::trace::MAGIC,
            "record_size": abi::trace::RECORD_SIZE,
            "data_bytes": abi::trace::DATA_BYTES,
            "registers": names(&abi::trace::REGS),
            "record": struct_layout(abi::trace::RECORD_SIZE, &layout::record_fields()),
            "kinds": layout::record_kinds().iter().map(|kind| json!({
                "name": kind.name,
                "value": kind.value,
                "description": kind.description,
            })).collect::<Vec<_>>(),
        },
        "exit_codes": {
            "port": abi::machine::DEBUG_EXIT_PORT,
            "codes": constants(&layout::exit_codes()),
        },
        "console": {
            "handle": abi::handle::CONSOLE,
            "labels": constants(&layout::console_labels()),
            "name_words": abi::console::WORD_NAME,
        },
    })
}

/// The export as pretty-printed text with a final newline.
pub fn json_text() -> String {
    let mut text = serde_json::to_string_pretty(&json()).expect("a JSON value always serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every "schema version N" (any case) and `"schema_version": { "const": N }`
    /// in `text`.
    fn versions_mentioned(text: &str) -> Vec<u64> {
        let lower = text.to_lowercase();
        let mut found = Vec::new();
        for pattern in ["schema version ", "\"schema_version\": { \"const\": ", "schema:"] {
            for (at, _) in lower.match_indices(pattern) {
                let digits: String = lower[at + pattern.len()..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                if let Ok(version) = digits.parse() {
                    found.push(version);
                }
            }
        }
        found
    }

    #[test]
    fn the_documents_name_one_schema_version() {
        let read = |name: &str| {
            let path = crate::workspace_root().join("docs").join(name);
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
        };
        let schema = read("abi.schema.json");
        let schema_mentions = versions_mentioned(&schema);
        // The $id and the const at least.
        assert!(schema_mentions.len() >= 2, "{schema_mentions:?}");
        let document = read("abi.md");
        let document_mentions = versions_mentioned(&document);
        assert!(!document_mentions.is_empty(), "docs/abi.md names no schema version");
        // The prose leaves the number to the generated reference: a
        // hand-written one (once "`schema_version` in the export, now 1")
        // goes stale.
        let prose = &document[..document
            .find(super::super::BEGIN_MARKER)
            .expect("the generated section")];
        for line in prose.lines() {
            let lower = line.to_lowercase();
            if lower.contains("schema_version") || lower.contains("schema version") {
                assert!(
                    !line.chars().any(|c| c.is_ascii_digit()),
                    "docs/abi.md writes a schema version by hand: {line:?}"
                );
            }
        }
        for version in schema_mentions.iter().chain(&document_mentions) {
            assert_eq!(
                *version,
                u64::from(SCHEMA_VERSION),
                "docs/abi.md or docs/abi.schema.json names schema version {version}, the export {SCHEMA_VERSION}"
            );
        }
        assert_eq!(
            versions_mentioned("Schema version 1; \"schema_version\": { \"const\": 2 }"),
            [1, 2]
        );
    }

    #[test]
    fn id_carries_the_schema_version() {
        assert!(SCHEMA_ID.ends_with(&format!(":{SCHEMA_VERSION}")));
        let value = json();
        assert_eq!(value["schema_version"], SCHEMA_VERSION);
        assert_eq!(value["syscalls"].as_array().unwrap().len(), SYSCALLS.len());
        assert_eq!(value["syscalls"][1]["args"][1]["length"], "len");
        assert_eq!(value["errors"][0]["name"], Error::ALL[0].name());
    }
}
