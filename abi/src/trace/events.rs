//! A decoded trace: the records paired into syscalls (each `Enter`, its
//! `Data` and its `Exit`) and process events, in the order they completed.

use super::format;
use super::reader::{ReadError, Reader};
use super::record::{Record, RecordKind};
use crate::syscall::{Returns, Syscall};
use std::collections::BTreeMap;

/// One syscall: its `Enter` (with the `Data` records that followed it) and
/// its `Exit`, reported when it returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// The syscall number.
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
    /// A syscall returned (or never will: see [`Call::unfinished`]).
    Syscall(Box<Call>),
    /// A CPU exception killed the process.
    Fault {
        /// The exception vector.
        vector: u8,
        /// The error code the CPU pushed (0 if none).
        error_code: u64,
        /// Where it happened.
        rip: u64,
        /// The address a page fault was about (CR2).
        address: u64,
    },
    /// The process started.
    Start,
    /// The process ended: by `exit` with `status`, or killed (by a fault,
    /// or by the kernel for another reason such as a CPU time limit).
    End {
        /// The exit status (0 when killed).
        status: i64,
        /// How it ended.
        how: Ending,
    },
    /// The CPU switched to this process from `from` (0: from nobody).
    Switch {
        /// The process that ran before.
        from: u32,
    },
    /// Sequence numbers jumped: records were lost.
    Lost {
        /// The sequence number that should have come.
        expected: u64,
        /// The one that came.
        found: u64,
    },
}

/// How a process ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    /// It called `exit`.
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
    /// The process it is about.
    pub pid: u32,
    /// The process name (`?` if no `Start` record named it).
    pub name: String,
    /// The CPU that wrote the record.
    pub cpu: u8,
    /// Of the record that completed the event (the `Exit` of a syscall).
    pub timestamp: u64,
    /// Sequence number of that record.
    pub sequence: u64,
    /// What happened.
    pub kind: EventKind,
}

/// A decoded trace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trace {
    /// The events, in the order they completed.
    pub events: Vec<Event>,
    /// Process names by pid, from the `Start` records.
    pub names: BTreeMap<u32, String>,
    /// What was wrong with the input: damaged stretches the reader skipped,
    /// records that belong to nothing.
    pub warnings: Vec<String>,
    /// The ABI version the trace's header names (`None`: no header).
    pub version: Option<u32>,
    /// Timestamp of the first record.
    pub first_timestamp: u64,
    /// Timestamp of the last record.
    pub last_timestamp: u64,
}

struct Pending {
    enter: Record,
    data: Vec<Vec<u8>>,
}

impl Trace {
    /// Reads and decodes a whole trace file. Damaged input becomes
    /// [`Trace::warnings`]; a header that refuses the file (another ABI
    /// major version, another format) is an error.
    pub fn read(bytes: &[u8]) -> Result<Trace, ReadError> {
        let mut reader = Reader::new(bytes);
        let mut records = Vec::new();
        let mut warnings = Vec::new();
        for item in reader.by_ref() {
            match item {
                Ok(record) => records.push(record),
                Err(error) if error.is_fatal() => return Err(error),
                Err(error) => warnings.push(error.to_string()),
            }
        }
        let mut trace = Trace::decode(&records);
        warnings.append(&mut trace.warnings);
        trace.warnings = warnings;
        trace.version = reader.version();
        Ok(trace)
    }

    /// Pairs records into events. Syscalls appear when they return (so a
    /// blocking call appears after what happened while it waited); one
    /// that never returned appears when its process ends, or at the end.
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
                RecordKind::Header => {
                    trace.version.get_or_insert(record.number as u32);
                }
                RecordKind::Start => {
                    let (bytes, len) = crate::console::unpack_name([record.regs[0], record.regs[1]]);
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
                    faults.insert(record.pid, crate::fault::vector_name(vector).to_string());
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
                        (crate::console::EXIT, _) => Ending::Exited,
                        (crate::console::LIMIT, _) => Ending::OverLimit,
                        (_, Some(fault)) => Ending::Faulted(fault),
                        (crate::console::FAULT, None) => Ending::Killed,
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

    /// The name of `pid` (`?` when unknown).
    pub fn name_of(&self, pid: u32) -> String {
        self.names.get(&pid).cloned().unwrap_or_else(|| "?".into())
    }

    /// The strace-style line of every event that prints one
    /// ([`format::line`]).
    pub fn lines(&self) -> Vec<String> {
        self.lines_where(|_| true)
    }

    /// The strace-style lines of the events `keep` selects.
    pub fn lines_where(&self, keep: impl Fn(&Event) -> bool) -> Vec<String> {
        self.events
            .iter()
            .filter(|event| keep(event))
            .filter_map(format::line)
            .collect()
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
}

#[cfg(test)]
mod tests {
    use super::super::TraceWriter;
    use super::super::writer::tests::scenario;
    use super::*;

    #[test]
    fn records_read_back_with_warnings_for_damage() {
        let writer = scenario();
        let bytes = writer.bytes();
        let trace = Trace::read(&bytes).unwrap();
        assert_eq!(trace, Trace::decode(writer.records()));
        assert!(trace.warnings.is_empty(), "{:?}", trace.warnings);
        assert_eq!(trace.version, Some(crate::ABI_VERSION));
        let mut noisy = bytes[..128].to_vec();
        noisy.extend_from_slice(b"junk");
        noisy.extend_from_slice(&bytes[128..]);
        noisy.extend_from_slice(&bytes[128..228]);
        let damaged = Trace::read(&noisy).unwrap();
        assert_eq!(damaged.events, trace.events);
        assert_eq!(damaged.warnings.len(), 2, "{:?}", damaged.warnings);
        assert!(damaged.warnings[0].contains("skipped 4 bytes at offset 128"));
        assert!(damaged.warnings[1].contains("last 100 bytes"));
        // A trace of another major version is refused.
        let mut header = Record::header();
        header.number += 1 << 16;
        let mut other = header.to_bytes().to_vec();
        other.extend_from_slice(&bytes[128..]);
        assert!(matches!(Trace::read(&other), Err(ReadError::Version { .. })));
        // One without a header is read, with a warning.
        let headless = Trace::read(&bytes[128..]).unwrap();
        assert_eq!(headless.version, None);
        assert!(headless.warnings[0].contains("header"), "{:?}", headless.warnings);
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
        let mut writer = TraceWriter::new();
        writer.start(4, "late").exit(4, Syscall::GetPid, 4, 0, &[]);
        assert_eq!(
            writer.trace().lines(),
            vec!["+++ late[4] started +++", "late[4] get_pid(<arguments not traced>) = 4"]
        );
    }

    #[test]
    fn a_kill_without_fault_or_exit_is_a_kill() {
        let mut writer = TraceWriter::new();
        writer.start(4, "hog").end(4, 0);
        assert_eq!(writer.trace().lines()[1], "+++ hog[4] killed +++");
    }
}
