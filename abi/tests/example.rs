//! The example host tool (`examples/abi-tool.rs`) on the committed sample
//! trace (`examples/hello.trace`, written by a traced boot of the console
//! server and `hello`), on damaged copies of it and on one of another ABI
//! major version.
//!
//! When the ABI's major version changes, the sample is refused: replace it
//! with the trace `cargo test -p systests --test trace` leaves in
//! `target/trace/systest-traced_boot.bin`.

#[path = "../examples/abi-tool.rs"]
mod tool;

use abi::Syscall;
use abi::trace::{RECORD_SIZE, Record};

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/hello.trace");

/// The tool's output and warnings for `args`, or its error.
fn run(args: &[&str]) -> Result<(String, String), String> {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let (mut out, mut errors) = (Vec::new(), Vec::new());
    tool::run(&args, &mut out, &mut errors)?;
    Ok((String::from_utf8(out).unwrap(), String::from_utf8(errors).unwrap()))
}

/// A copy of the sample changed by `change`, in a file of its own.
fn changed_sample(name: &str, change: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut bytes = std::fs::read(SAMPLE).unwrap();
    change(&mut bytes);
    let path = std::env::temp_dir().join(format!("abi-tool-{}-{name}.trace", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn the_table_lists_every_syscall() {
    let (out, errors) = run(&["table"]).unwrap();
    assert!(errors.is_empty());
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), Syscall::ALL.len() + 1, "{out}");
    for (syscall, line) in Syscall::ALL.iter().zip(&lines[1..]) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(
            fields[..2],
            [(*syscall as u64).to_string(), syscall.to_string()],
            "{line}"
        );
    }
    assert!(out.contains("len: len in rdx"), "{out}");
}

#[test]
fn the_sample_trace_decodes_cleanly() {
    let (out, errors) = run(&["decode", SAMPLE]).unwrap();
    assert!(errors.is_empty(), "{errors}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with(&format!("trace of ABI {}.", abi::ABI_VERSION >> 16)),
        "{out}"
    );
    assert!(lines.contains(&"+++ console[1] started +++"), "{out}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("hello[2] write(fd=1, buf=0x") && l.contains("\"Hello from ring 3!")),
        "{out}"
    );
    assert!(lines.contains(&"+++ hello[2] exited with status 0 +++"), "{out}");
}

#[test]
fn damage_is_reported_and_the_rest_decoded() {
    let cut = changed_sample("cut", |bytes| bytes.truncate(bytes.len() - 100));
    let (out, errors) = run(&["decode", &cut]).unwrap();
    assert!(errors.contains("are not a whole record"), "{errors}");
    assert!(out.contains("+++ hello[2] started +++"), "{out}");
    let headless = changed_sample("headless", |bytes| {
        bytes.drain(..RECORD_SIZE);
    });
    let (out, errors) = run(&["decode", &headless]).unwrap();
    assert!(errors.contains("header"), "{errors}");
    assert!(out.starts_with("trace of an unknown ABI version\n"), "{out}");
    let garbled = changed_sample("garbled", |bytes| {
        bytes[3 * RECORD_SIZE..3 * RECORD_SIZE + 7].fill(0xee)
    });
    let (_, errors) = run(&["decode", &garbled]).unwrap();
    assert!(errors.contains("skipped"), "{errors}");
}

#[test]
fn another_major_version_is_refused() {
    let newer = changed_sample("newer", |bytes| {
        let mut header = Record::header();
        header.number += 1 << 16;
        bytes[..RECORD_SIZE].copy_from_slice(&header.to_bytes());
    });
    let error = run(&["decode", &newer]).unwrap_err();
    assert!(
        error.contains(&format!("ABI {}.", (abi::ABI_VERSION >> 16) + 1)),
        "{error}"
    );
    assert!(run(&["decode"]).unwrap_err().starts_with("usage:"));
    assert!(
        run(&["decode", "/nonexistent/trace"])
            .unwrap_err()
            .starts_with("cannot read")
    );
}
