//! The syscall trace: reads the records the kernel writes to QEMU's
//! `isa-debugcon` and decodes them with `abi::trace` (its [`Reader`](abi::trace::Reader)
//! reports damaged input, its [`Trace`] pairs each syscall's `Enter`,
//! `Data` and `Exit` records, its `format` module prints them
//! strace-style); this module selects events by a [`Filter`], writes the
//! lines, and makes a Chrome trace / Perfetto timeline ([`timeline`]).
//!
//! A trace file is self-describing: its header names the ABI version,
//! `Start` records carry the process names, and the syscall table gives
//! every argument's name and kind.

pub mod filter;
pub mod timeline;

pub use abi::trace::{Call, Ending, Event, EventKind, Trace, Unfinished};
pub use filter::Filter;

use crate::Error;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// `<workspace>/target/trace/<image>.bin`: where `cargo xtask run --trace`
/// writes the trace of an image unless told otherwise.
pub fn default_file(image: &str) -> PathBuf {
    crate::target_dir().join("trace").join(format!("{image}.bin"))
}

/// Reads and decodes a trace file. Damaged input becomes the trace's
/// warnings; a header that refuses the file (written for another ABI major
/// version) is an error.
pub fn read_file(path: &Path) -> Result<Trace, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(format!("cannot read trace {}", path.display()), e))?;
    Trace::read(&bytes).map_err(|error| {
        Error::io(
            format!("cannot decode trace {}", path.display()),
            std::io::Error::new(std::io::ErrorKind::InvalidData, error),
        )
    })
}

/// Where decoded output goes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Output {
    pub filter: Filter,
    /// Write the lines to this file instead of the default stream.
    pub lines: Option<PathBuf>,
    /// Also write a Chrome trace / Perfetto timeline here.
    pub timeline: Option<PathBuf>,
}

/// Where lines go when [`Output::lines`] is `None`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Decodes `trace_file` and writes what `output` asks for; warnings go to
/// stderr. Returns the number of lines written.
pub fn report(trace_file: &Path, output: &Output, stream: Stream) -> Result<usize, Error> {
    let trace = read_file(trace_file)?;
    for warning in &trace.warnings {
        eprintln!("xtask: warning: {}: {warning}", trace_file.display());
    }
    for program in output.filter.unseen_programs(&trace) {
        eprintln!("xtask: warning: the trace has no process `{program}`");
    }
    let lines = output.filter.lines(&trace);
    let mut text = String::new();
    for line in &lines {
        text.push_str(line);
        text.push('\n');
    }
    match &output.lines {
        Some(path) => write_file(path, text.as_bytes())?,
        None => {
            // A closed pipe (`| head`) must not turn into an error.
            let _ = match stream {
                Stream::Stdout => std::io::stdout().lock().write_all(text.as_bytes()),
                Stream::Stderr => std::io::stderr().lock().write_all(text.as_bytes()),
            };
        }
    }
    if let Some(path) = &output.timeline {
        let json = timeline::timeline(&trace, &output.filter);
        let text = serde_json::to_string(&json).expect("a JSON value always serializes");
        write_file(path, text.as_bytes())?;
    }
    Ok(lines.len())
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    }
    std::fs::write(path, bytes).map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
}

#[cfg(test)]
pub(crate) mod tests {
    //! A synthetic trace, shared by the tests of the submodules.

    use super::*;
    use abi::trace::TraceWriter;

    /// abi's sample trace (`TraceWriter::sample`).
    pub fn scenario() -> TraceWriter {
        TraceWriter::sample()
    }

    #[test]
    fn a_trace_of_another_major_version_is_refused() {
        let dir = std::env::temp_dir().join(format!("xtask-trace-version-{}", std::process::id()));
        let file = dir.join("t.bin");
        let mut header = abi::trace::Record::header();
        header.number += 1 << 16;
        let mut bytes = header.to_bytes().to_vec();
        bytes.extend_from_slice(&scenario().bytes()[abi::trace::RECORD_SIZE..]);
        write_file(&file, &bytes).unwrap();
        let error = read_file(&file).unwrap_err().to_string();
        let foreign = format!("ABI {}.", (abi::ABI_VERSION >> 16) + 1);
        assert!(
            error.contains("cannot decode trace") && error.contains(&foreign),
            "{error}"
        );
        // Without a header it is read, with a warning.
        write_file(&file, &scenario().bytes()[abi::trace::RECORD_SIZE..]).unwrap();
        let trace = read_file(&file).unwrap();
        assert!(trace.warnings[0].contains("header"), "{:?}", trace.warnings);
        assert_eq!(trace.events, scenario().trace().events);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn report_writes_lines_and_timeline() {
        let dir = std::env::temp_dir().join(format!("xtask-trace-report-{}", std::process::id()));
        let file = dir.join("t.bin");
        write_file(&file, &scenario().bytes()).unwrap();
        let output = Output {
            filter: Filter::parse("hello").unwrap(),
            lines: Some(dir.join("out/lines.txt")),
            timeline: Some(dir.join("out/timeline.json")),
        };
        let count = report(&file, &output, Stream::Stderr).unwrap();
        let text = std::fs::read_to_string(dir.join("out/lines.txt")).unwrap();
        assert_eq!(text.lines().count(), count);
        assert!(text.contains("hello[3] write("), "{text}");
        assert!(!text.contains("pingpong"), "{text}");
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("out/timeline.json")).unwrap()).unwrap();
        assert!(json["traceEvents"].is_array());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
