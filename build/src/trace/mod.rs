//! The syscall trace: reads the records the kernel writes to QEMU's
//! `isa-debugcon` (`abi::trace`), pairs each syscall's `Enter`, `Data` and
//! `Exit` records, and prints them strace-style ([`format`]), selected by a
//! [`Filter`], or as a Chrome trace / Perfetto timeline ([`timeline`]).
//!
//! A trace file is self-describing: `Start` records carry the process names,
//! and the syscall table gives every argument's name and kind.

pub mod filter;
pub mod format;
pub mod timeline;

pub use filter::Filter;

use crate::Error;
use abi::syscall::{Returns, Syscall};
use abi::trace::{MAGIC, RECORD_SIZE, Record, RecordKind};
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// `<workspace>/target/trace/<image>.bin`: where `cargo xtask run --trace`
/// writes the trace of an image unless told otherwise.
pub fn default_file(image: &str) -> PathBuf {
    crate::target_dir().join("trace").join(format!("{image}.bin"))
}

/// The records of a trace file, and what was wrong with it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Records {
    pub records: Vec<Record>,
    /// Bytes that were not records (skipped until the next magic), and a cut
    /// off last record.
    pub warnings: Vec<String>,
}

/// Splits a trace file into records. Bytes that do not start a valid record
/// are skipped up to the next one, with a warning.
pub fn parse(bytes: &[u8]) -> Records {
    let mut out = Records::default();
    let magic = MAGIC.to_le_bytes();
    let mut at = 0;
    while at + RECORD_SIZE <= bytes.len() {
        let chunk: &[u8; RECORD_SIZE] = bytes[at..at + RECORD_SIZE].try_into().expect("a whole record");
        if let Some(record) = Record::from_bytes(chunk) {
            out.records.push(record);
            at += RECORD_SIZE;
            continue;
        }
        let resume = (at + 1..bytes.len().saturating_sub(RECORD_SIZE - 1))
            .find(|&next| {
                bytes[next..next + 2] == magic
                    && Record::from_bytes(bytes[next..next + RECORD_SIZE].try_into().expect("a whole record")).is_some()
            })
            .unwrap_or(bytes.len());
        out.warnings.push(format!(
            "skipped {} bytes at offset {at} that are not trace records",
            resume - at
        ));
        at = resume;
    }
    if at < bytes.len() {
        out.warnings.push(format!(
            "the last {} bytes are not a whole record (the run was cut off?)",
            bytes.len() - at
        ));
    }
    out
}

/// One syscall: its `Enter` (with the `Data` records that followed it) and
/// its `Exit`, reported when it returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    pub number: u64,
    /// `None` if the trace began (or records were lost) after it started.
    pub enter: Option<Record>,
    /// Buffer bytes the kernel copied at entry, one entry per `Data` record.
    pub data: Vec<Vec<u8>>,
    /// `None` if it never returned: see `unfinished`.
    pub exit: Option<Record>,
    /// Why there is no `exit` (meaningless when there is one).
    pub unfinished: Unfinished,
    /// Name of the process `exit.peer` names (empty if none).
    pub peer_name: String,
}

/// Why a syscall has no `Exit` record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unfinished {
    /// Its process ended first (`exit` never returns).
    ProcessEnded,
    /// It was still waiting when the trace ended.
    TraceEnded,
    /// The process entered another syscall: the `Exit` record was lost.
    ExitLost,
}

impl Call {
    /// The table's entry, if the number is known.
    pub fn syscall(&self) -> Option<Syscall> {
        Syscall::try_from(self.number).ok()
    }

    /// The table's name, or `syscall_N`.
    pub fn name(&self) -> String {
        match self.syscall() {
            Some(syscall) => syscall.name().to_string(),
            None => format!("syscall_{}", self.number),
        }
    }
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventKind {
    Syscall(Box<Call>),
    /// A CPU exception killed the process.
    Fault {
        vector: u8,
        error_code: u64,
        rip: u64,
        address: u64,
    },
    Start,
    /// The process ended: by `exit` with `status`, or killed (by a fault,
    /// or by the kernel for another reason such as a CPU time limit).
    End {
        status: i64,
        how: Ending,
    },
    /// The CPU switched to this process from `from` (0: from nobody).
    Switch {
        from: u32,
    },
    /// Sequence numbers jumped: records were lost.
    Lost {
        expected: u64,
        found: u64,
    },
}

/// How a process ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    Exited,
    /// After a `Fault` record: the fault's name.
    Faulted(String),
    /// Killed for using up its CPU time limit.
    OverLimit,
    /// Neither `exit` nor a fault: the kernel ended it.
    Killed,
}

/// An event of the trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub pid: u32,
    /// The process name (`?` if no `Start` record named it).
    pub name: String,
    pub cpu: u8,
    /// Of the record that completed the event (the `Exit` of a syscall).
    pub timestamp: u64,
    pub sequence: u64,
    pub kind: EventKind,
}

/// A decoded trace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trace {
    pub events: Vec<Event>,
    /// Process names by pid, from the `Start` records.
    pub names: BTreeMap<u32, String>,
    pub warnings: Vec<String>,
    /// Timestamps of the first and last records.
    pub first_timestamp: u64,
    pub last_timestamp: u64,
}

struct Pending {
    enter: Record,
    data: Vec<Vec<u8>>,
}

/// Pairs records into events. Syscalls appear when they return (so a
/// blocking call appears after what happened while it waited); one that
/// never returned appears when its process ends, or at the end.
pub fn decode(records: &[Record]) -> Trace {
    let mut trace = Trace {
        first_timestamp: records.first().map_or(0, |r| r.timestamp),
        last_timestamp: records.last().map_or(0, |r| r.timestamp),
        ..Trace::default()
    };
    let mut pending: BTreeMap<u32, Pending> = BTreeMap::new();
    let mut faults: BTreeMap<u32, String> = BTreeMap::new();
    let mut expected: Option<u64> = None;
    for record in records {
        if let Some(expected) = expected
            && record.sequence != expected
        {
            trace.push(
                record,
                EventKind::Lost {
                    expected,
                    found: record.sequence,
                },
            );
        }
        expected = Some(record.sequence.wrapping_add(1));
        let Some(kind) = record.kind() else { continue };
        match kind {
            RecordKind::Start => {
                let (bytes, len) = abi::console::unpack_name([record.regs[0], record.regs[1]]);
                let name = String::from_utf8_lossy(&bytes[..len]).into_owned();
                trace.names.insert(record.pid, name);
                trace.push(record, EventKind::Start);
            }
            RecordKind::Enter => {
                if let Some(old) = pending.remove(&record.pid) {
                    trace.push_call(&old.enter, Some(old.enter), old.data, Err(Unfinished::ExitLost));
                }
                pending.insert(
                    record.pid,
                    Pending {
                        enter: *record,
                        data: Vec::new(),
                    },
                );
            }
            RecordKind::Data => match pending.get_mut(&record.pid) {
                Some(call) if call.enter.number == record.number => call.data.push(record.data().to_vec()),
                _ => trace.warnings.push(format!(
                    "record {}: data of pid {} belongs to no syscall",
                    record.sequence, record.pid
                )),
            },
            RecordKind::Exit => {
                let enter = match pending.remove(&record.pid) {
                    Some(call) if call.enter.number == record.number => Some(call),
                    Some(other) => {
                        trace.push_call(&other.enter, Some(other.enter), other.data, Err(Unfinished::ExitLost));
                        None
                    }
                    None => None,
                };
                let (enter, data) = match enter {
                    Some(call) => (Some(call.enter), call.data),
                    None => (None, Vec::new()),
                };
                trace.push_call(record, enter, data, Ok(*record));
            }
            RecordKind::Fault => {
                let vector = record.number as u8;
                faults.insert(record.pid, abi::fault::vector_name(vector).to_string());
                trace.push(
                    record,
                    EventKind::Fault {
                        vector,
                        error_code: record.regs[0],
                        rip: record.regs[1],
                        address: record.regs[2],
                    },
                );
            }
            RecordKind::End => {
                let mut exited = false;
                if let Some(call) = pending.remove(&record.pid) {
                    exited = Syscall::try_from(call.enter.number).is_ok_and(|s| s.desc().returns == Returns::Never);
                    trace.push_call(record, Some(call.enter), call.data, Err(Unfinished::ProcessEnded));
                }
                // The End record carries the notice label; older traces
                // without it (0) fall back to what the records before say.
                let fault = faults.remove(&record.pid);
                let how = match (record.number as u32, fault) {
                    (abi::console::EXIT, _) => Ending::Exited,
                    (abi::console::LIMIT, _) => Ending::OverLimit,
                    (_, Some(fault)) => Ending::Faulted(fault),
                    (abi::console::FAULT, None) => Ending::Killed,
                    (_, None) if exited => Ending::Exited,
                    (_, None) => Ending::Killed,
                };
                trace.push(
                    record,
                    EventKind::End {
                        status: record.result as i64,
                        how,
                    },
                );
            }
            RecordKind::Switch => trace.push(record, EventKind::Switch { from: record.peer }),
        }
    }
    let mut left: Vec<Pending> = pending.into_values().collect();
    left.sort_by_key(|call| call.enter.sequence);
    for call in left {
        trace.push_call(&call.enter, Some(call.enter), call.data, Err(Unfinished::TraceEnded));
    }
    trace
}

impl Trace {
    /// The name of `pid` (`?` when unknown).
    pub fn name_of(&self, pid: u32) -> String {
        self.names.get(&pid).cloned().unwrap_or_else(|| "?".into())
    }

    fn push(&mut self, record: &Record, kind: EventKind) {
        self.events.push(Event {
            pid: record.pid,
            name: self.name_of(record.pid),
            cpu: record.cpu,
            timestamp: record.timestamp,
            sequence: record.sequence,
            kind,
        });
    }

    /// Adds a syscall at the time of `at`: its `Exit`, or why there is none.
    fn push_call(&mut self, at: &Record, enter: Option<Record>, data: Vec<Vec<u8>>, exit: Result<Record, Unfinished>) {
        let (exit, unfinished) = match exit {
            Ok(exit) => (Some(exit), Unfinished::TraceEnded),
            Err(why) => (None, why),
        };
        let number = enter.or(exit).map_or(at.number, |r| r.number);
        let peer_name = match exit {
            Some(exit) if exit.peer != 0 => self.name_of(exit.peer),
            _ => String::new(),
        };
        let call = Call {
            number,
            enter,
            data,
            exit,
            unfinished,
            peer_name,
        };
        self.push(at, EventKind::Syscall(Box::new(call)));
    }

    /// The strace-style lines of the events `filter` selects.
    pub fn lines(&self, filter: &Filter) -> Vec<String> {
        self.events
            .iter()
            .filter(|event| filter.matches(event))
            .filter_map(format::line)
            .collect()
    }

    /// Programs the filter names that never appear in the trace.
    pub fn unseen_programs(&self, filter: &Filter) -> Vec<String> {
        filter
            .programs
            .iter()
            .filter(|program| {
                !self
                    .names
                    .iter()
                    .any(|(pid, name)| name == *program || pid.to_string() == **program)
            })
            .cloned()
            .collect()
    }
}

/// Reads and decodes a trace file.
pub fn read_file(path: &Path) -> Result<Trace, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(format!("cannot read trace {}", path.display()), e))?;
    let records = parse(&bytes);
    let mut trace = decode(&records.records);
    let mut warnings = records.warnings;
    warnings.append(&mut trace.warnings);
    trace.warnings = warnings;
    Ok(trace)
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
    for program in trace.unseen_programs(&output.filter) {
        eprintln!("xtask: warning: the trace has no process `{program}`");
    }
    let lines = trace.lines(&output.filter);
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
    //! Synthetic traces, shared by the tests of the submodules.

    use super::*;
    use abi::MsgInfo;
    use abi::message::MsgFlags;

    /// Builds records with consecutive sequence numbers and timestamps.
    #[derive(Default)]
    pub struct Builder {
        pub records: Vec<Record>,
        sequence: u64,
        clock: u64,
    }

    impl Builder {
        pub fn push(&mut self, mut record: Record) -> &mut Self {
            self.clock += 1000;
            record.timestamp = self.clock;
            record.sequence = self.sequence;
            self.sequence += 1;
            self.records.push(record);
            self
        }

        /// Leaves out `count` sequence numbers.
        pub fn lose(&mut self, count: u64) -> &mut Self {
            self.sequence += count;
            self
        }

        pub fn start(&mut self, pid: u32, name: &str) -> &mut Self {
            let mut record = Record::new(RecordKind::Start, pid);
            let [a, b] = abi::console::pack_name(name);
            record.regs[0] = a;
            record.regs[1] = b;
            self.push(record)
        }

        pub fn enter(&mut self, pid: u32, syscall: Syscall, regs: &[u64]) -> &mut Self {
            let mut record = Record::new(RecordKind::Enter, pid);
            record.number = syscall as u64;
            record.regs[..regs.len()].copy_from_slice(regs);
            self.push(record)
        }

        pub fn data(&mut self, pid: u32, syscall: Syscall, bytes: &[u8]) -> &mut Self {
            let mut record = Record::new(RecordKind::Data, pid);
            record.number = syscall as u64;
            record.set_data(bytes);
            self.push(record)
        }

        pub fn exit(&mut self, pid: u32, syscall: Syscall, result: u64, peer: u32, regs: &[u64]) -> &mut Self {
            let mut record = Record::new(RecordKind::Exit, pid);
            record.number = syscall as u64;
            record.result = result;
            record.peer = peer;
            record.regs[..regs.len()].copy_from_slice(regs);
            self.push(record)
        }

        pub fn fault(&mut self, pid: u32, vector: u8, error_code: u64, rip: u64, address: u64) -> &mut Self {
            let mut record = Record::new(RecordKind::Fault, pid);
            record.number = vector.into();
            record.regs[..3].copy_from_slice(&[error_code, rip, address]);
            self.push(record)
        }

        pub fn end(&mut self, pid: u32, status: u64) -> &mut Self {
            let mut record = Record::new(RecordKind::End, pid);
            record.result = status;
            self.push(record)
        }

        pub fn switch(&mut self, pid: u32, from: u32) -> &mut Self {
            let mut record = Record::new(RecordKind::Switch, pid);
            record.peer = from;
            self.push(record)
        }

        pub fn bytes(&self) -> Vec<u8> {
            self.records.iter().flat_map(|r| r.to_bytes()).collect()
        }

        pub fn trace(&self) -> Trace {
            decode(&self.records)
        }
    }

    pub const HELLO: &[u8] = b"Hello from ring 3!\n";

    /// A console (pid 1) serving hello (pid 3, writes and exits) and
    /// pingpong (pid 6, calls echo, pid 2), a faulting program (pid 7) and a
    /// lost record.
    pub fn scenario() -> Builder {
        let ping = MsgInfo::new(7, 6, 64).0;
        let write_info = MsgInfo::new(abi::console::WRITE, 6, HELLO.len())
            .with_flags(MsgFlags::KERNEL)
            .0;
        let mut builder = Builder::default();
        builder
            .start(1, "console")
            .start(2, "echo")
            .start(3, "hello")
            .start(6, "pingpong")
            .start(7, "faulty")
            // The console waits.
            .enter(1, Syscall::ReplyRecv, &[0, 0, 0x10_0000, 4096])
            // hello writes; the console receives the forwarded WRITE.
            .enter(3, Syscall::Write, &[1, 0x2037a0, HELLO.len() as u64])
            .data(3, Syscall::Write, HELLO)
            .switch(1, 3)
            .exit(
                1,
                Syscall::ReplyRecv,
                0,
                3,
                &[9, write_info, 0x10_0000, 4096, 1, 3, 0, 0, 0, 0],
            )
            .enter(
                1,
                Syscall::ReplyRecv,
                &[0, MsgInfo::new(0, 1, 0).0, 0x10_0000, 4096, 19],
            )
            .switch(3, 1)
            .exit(
                3,
                Syscall::Write,
                HELLO.len() as u64,
                1,
                &[1, 0x2037a0, HELLO.len() as u64],
            )
            .enter(3, Syscall::Exit, &[0])
            .end(3, 0)
            // pingpong calls echo, which was waiting in recv.
            .enter(2, Syscall::Recv, &[1, 0, 0x30_0000, 4096])
            .enter(6, Syscall::Call, &[1, ping, 0x40_0000, 64, 0, 1, 2, 3, 4, 5])
            .exit(2, Syscall::Recv, 0, 6, &[5, ping, 0x30_0000, 4096, 0, 1, 2, 3, 4, 5])
            .enter(2, Syscall::ReplyRecv, &[1, ping, 0x30_0000, 4096, 0, 1, 2, 3, 4, 5])
            .exit(6, Syscall::Call, 0, 2, &[0, ping, 0x40_0000, 64, 0, 1, 2, 3, 4, 5])
            // A bad handle.
            .enter(6, Syscall::HandleClose, &[0x105])
            .exit(6, Syscall::HandleClose, abi::Error::BADHANDLE.to_return(), 0, &[0x105])
            .lose(2)
            // faulty reads address 0.
            .fault(7, 14, 0b100, 0x20_154a, 0)
            .end(7, 0);
        builder
    }

    #[test]
    fn records_are_split_and_garbage_is_skipped() {
        let builder = scenario();
        let bytes = builder.bytes();
        assert_eq!(parse(&bytes).records, builder.records);
        assert!(parse(&bytes).warnings.is_empty());
        let mut noisy = b"junk".to_vec();
        noisy.extend_from_slice(&bytes);
        noisy.extend_from_slice(&bytes[..100]);
        let parsed = parse(&noisy);
        assert_eq!(parsed.records, builder.records);
        assert_eq!(parsed.warnings.len(), 2, "{:?}", parsed.warnings);
        assert!(parsed.warnings[0].contains("skipped 4 bytes at offset 0"));
        assert!(parsed.warnings[1].contains("last 100 bytes"));
    }

    #[test]
    fn calls_pair_up_in_exit_order() {
        let trace = scenario().trace();
        let calls: Vec<(u32, String, bool)> = trace
            .events
            .iter()
            .filter_map(|event| match &event.kind {
                EventKind::Syscall(call) => Some((event.pid, call.name(), call.exit.is_some())),
                _ => None,
            })
            .collect();
        let expected = [
            (1, "reply_recv", true),
            (3, "write", true),
            (3, "exit", false),
            (2, "recv", true),
            (6, "call", true),
            (6, "handle_close", true),
            (1, "reply_recv", false),
            (2, "reply_recv", false),
        ];
        let expected: Vec<(u32, String, bool)> = expected.iter().map(|(p, n, e)| (*p, n.to_string(), *e)).collect();
        assert_eq!(calls, expected);
        assert_eq!(trace.name_of(6), "pingpong");
        assert_eq!(trace.name_of(99), "?");
        let ends: Vec<&Ending> = trace
            .events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::End { how, .. } => Some(how),
                _ => None,
            })
            .collect();
        assert_eq!(ends, [&Ending::Exited, &Ending::Faulted("page fault".into())]);
    }

    #[test]
    fn sequence_gaps_are_events() {
        let trace = scenario().trace();
        let lost: Vec<&EventKind> = trace
            .events
            .iter()
            .map(|e| &e.kind)
            .filter(|k| matches!(k, EventKind::Lost { .. }))
            .collect();
        assert_eq!(lost.len(), 1);
        let EventKind::Lost { expected, found } = lost[0] else {
            unreachable!()
        };
        assert_eq!(found - expected, 2);
    }

    #[test]
    fn an_exit_without_enter_still_prints() {
        let mut builder = Builder::default();
        builder.start(4, "late").exit(4, Syscall::GetPid, 4, 0, &[]);
        let lines = builder.trace().lines(&Filter::default());
        assert_eq!(
            lines,
            ["+++ late[4] started +++", "late[4] get_pid(<arguments not traced>) = 4"]
        );
    }

    #[test]
    fn a_kill_without_fault_or_exit_is_a_kill() {
        let mut builder = Builder::default();
        builder.start(4, "hog").end(4, 0);
        let lines = builder.trace().lines(&Filter::default());
        assert_eq!(lines[1], "+++ hog[4] killed +++");
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
