//! The ABI as a product: `docs/abi.md` and the JSON export must match the
//! `abi` crate, the export must match its schema and carry the whole syscall
//! table, and the kernel's dispatcher must serve every syscall.

use abi::Error;
use abi::regs::Reg;
use abi::syscall::{ArgKind, Field, Returns, SYSCALLS, Syscall, SyscallDesc};
use serde_json::Value;
use xtask::reference;

fn schema() -> Value {
    let path = reference::schema_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn docs_abi_md_matches_the_abi_crate() {
    if let Err(message) = reference::check_document() {
        panic!("{message}");
    }
}

#[test]
fn schema_is_valid_draft_2020_12_with_a_versioned_id() {
    let schema = schema();
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert_eq!(schema["$id"], reference::SCHEMA_ID);
    assert!(
        reference::SCHEMA_ID.ends_with(&format!(":{}", reference::SCHEMA_VERSION)),
        "the $id carries the schema version"
    );
    assert_eq!(
        schema["properties"]["schema_version"]["const"],
        reference::SCHEMA_VERSION
    );
    if let Err(error) = jsonschema::meta::validate(&schema) {
        panic!("docs/abi.schema.json is not a valid JSON Schema: {error}");
    }
}

#[test]
fn export_validates_against_the_schema() {
    let validator = jsonschema::draft202012::new(&schema()).expect("the schema compiles");
    let export = reference::json();
    let errors: Vec<String> = validator
        .iter_errors(&export)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "the export does not match docs/abi.schema.json:\n{}",
        errors.join("\n")
    );

    // The schema is strict: a changed shape fails it.
    let mut extra = export.clone();
    extra["syscalls"][0]["colour"] = "red".into();
    assert!(!validator.is_valid(&extra));
    let mut missing = export.clone();
    missing["syscalls"][1]["args"][1]
        .as_object_mut()
        .unwrap()
        .remove("length");
    assert!(!validator.is_valid(&missing), "pointer arguments need their length");
    let mut bad_register = export.clone();
    bad_register["registers"]["number"] = "rip".into();
    assert!(!validator.is_valid(&bad_register));
}

fn leak(text: &str) -> &'static str {
    Box::leak(text.to_string().into_boxed_str())
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("no string `{key}` in {value}"))
}

fn field_from_json(value: &Value) -> Field {
    let reg = Reg::from_name(text(value, "register")).expect("a known register");
    let length = || leak(text(value, "length"));
    let kind = match text(value, "kind") {
        "int" => ArgKind::Int,
        "handle" => ArgKind::Handle,
        "in_ptr" => ArgKind::InPtr { len: length() },
        "out_ptr" => ArgKind::OutPtr { len: length() },
        "inout_ptr" => ArgKind::InOutPtr {
            send: leak(text(value, "send_length")),
            receive: leak(text(value, "receive_length")),
        },
        "unused" => ArgKind::Unused,
        "version" => ArgKind::Version,
        "len" => ArgKind::Len,
        "msginfo" => ArgKind::MsgInfo,
        "word" => ArgKind::Word,
        "rights" => ArgKind::Rights,
        "badge" => ArgKind::Badge,
        "status" => ArgKind::Status,
        "pid" => ArgKind::Pid,
        "address" => ArgKind::Address,
        "perms" => ArgKind::Perms,
        "bits" => ArgKind::Bits,
        "ticks" => ArgKind::Ticks,
        "flags" => ArgKind::Flags,
        "irq" => ArgKind::Irq,
        "ending" => ArgKind::Ending,
        "count" => ArgKind::Count,
        other => panic!("unknown kind {other}"),
    };
    Field {
        name: leak(text(value, "name")),
        reg,
        kind,
    }
}

fn fields_from_json(value: &Value) -> &'static [Field] {
    let fields: Vec<Field> = value
        .as_array()
        .expect("an array")
        .iter()
        .map(field_from_json)
        .collect();
    Box::leak(fields.into_boxed_slice())
}

/// The syscall table, rebuilt from nothing but the JSON export.
fn table_from_json(export: &Value) -> Vec<SyscallDesc> {
    export["syscalls"]
        .as_array()
        .expect("syscalls")
        .iter()
        .map(|entry| {
            let number = Syscall::try_from(entry["number"].as_u64().expect("a number")).expect("a known number");
            assert_eq!(text(entry, "variant"), format!("{number:?}"));
            let errors: Vec<Error> = entry["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|name| {
                    let name = name.as_str().unwrap();
                    *Error::ALL.iter().find(|e| e.name() == name).expect("a known error")
                })
                .collect();
            SyscallDesc {
                number,
                name: leak(text(entry, "name")),
                // The export joins the summary's lines; compare it separately.
                summary: number.desc().summary,
                args: fields_from_json(&entry["args"]),
                results: fields_from_json(&entry["results"]),
                errors: Box::leak(errors.into_boxed_slice()),
                returns: match text(entry, "returns") {
                    "yes" => Returns::Yes,
                    "never" => Returns::Never,
                    other => panic!("returns {other}"),
                },
                blocks: entry["blocks"].as_bool().unwrap(),
            }
        })
        .collect()
}

#[test]
fn the_syscall_table_round_trips_through_json() {
    let text = reference::json_text();
    let export: Value = serde_json::from_str(&text).expect("the export is JSON");
    let rebuilt = table_from_json(&export);
    assert_eq!(rebuilt.as_slice(), SYSCALLS);
    for (exported, entry) in export["syscalls"].as_array().unwrap().iter().zip(SYSCALLS) {
        let summary = entry.summary.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(exported["summary"], summary);
    }
    let errors: Vec<(String, u64, String)> = export["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().into(),
                e["code"].as_u64().unwrap(),
                e["description"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected: Vec<(String, u64, String)> = Error::ALL
        .iter()
        .map(|e| (e.name().into(), *e as u64, e.description().into()))
        .collect();
    assert_eq!(errors, expected);
    let registers = &export["registers"];
    let args: Vec<&str> = registers["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(args, abi::regs::ARGS.map(Reg::name));
    let words: Vec<&str> = registers["ipc"]["words"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(words, abi::regs::ipc::WORDS.map(Reg::name));
    assert_eq!(export["abi_version"]["value"], abi::ABI_VERSION);
}
