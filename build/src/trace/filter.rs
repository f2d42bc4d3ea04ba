//! Which trace events to show: `--trace-filter SPEC`.
//!
//! A spec is a comma-separated list of values, each for a key: `program`
//! (process names or pids; the default key) or `syscall` (names from the
//! syscall table). `key=value` switches the key for it and the values after
//! it, so `hello,console` selects two programs, `syscall=write,call` two
//! syscalls, and `hello,syscall=write` hello's writes. Several specs add up.
//! An event is shown when it belongs to a selected program (or none are
//! selected) and, for syscalls, is a selected syscall (or none are
//! selected). Process events (start, fault, end) ignore the syscall list;
//! warnings about lost records are always shown.

use super::{Event, EventKind, Trace};
use abi::syscall::{SYSCALLS, Syscall};

/// A trace filter; the default shows everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// Process names or pids.
    pub programs: Vec<String>,
    pub syscalls: Vec<Syscall>,
}

/// The keys a spec may use.
pub const KEYS: [&str; 2] = ["program", "syscall"];

impl Filter {
    /// Parses one spec.
    pub fn parse(spec: &str) -> Result<Filter, String> {
        let mut filter = Filter::default();
        filter.add(spec)?;
        Ok(filter)
    }

    /// Adds the values of another spec.
    pub fn add(&mut self, spec: &str) -> Result<(), String> {
        let mut key = "program";
        for item in spec.split(',').map(str::trim) {
            let value = match item.split_once('=') {
                Some((new_key, value)) => {
                    key = KEYS
                        .into_iter()
                        .find(|k| *k == new_key.trim())
                        .ok_or_else(|| format!("unknown trace filter key `{new_key}` (expected program or syscall)"))?;
                    value.trim()
                }
                None => item,
            };
            if value.is_empty() {
                return Err(format!("empty value in trace filter `{spec}`"));
            }
            match key {
                "syscall" => {
                    let entry = SYSCALLS.iter().find(|d| d.name == value).ok_or_else(|| {
                        let names: Vec<&str> = SYSCALLS.iter().map(|d| d.name).collect();
                        format!(
                            "unknown syscall `{value}` in trace filter (known: {})",
                            names.join(", ")
                        )
                    })?;
                    if !self.syscalls.contains(&entry.number) {
                        self.syscalls.push(entry.number);
                    }
                }
                _ => {
                    if !self.programs.iter().any(|p| p == value) {
                        self.programs.push(value.to_string());
                    }
                }
            }
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.programs.is_empty() && self.syscalls.is_empty()
    }

    /// Whether `event` is shown.
    pub fn matches(&self, event: &Event) -> bool {
        if matches!(event.kind, EventKind::Lost { .. }) {
            return true;
        }
        let program = self.programs.is_empty()
            || self
                .programs
                .iter()
                .any(|p| *p == event.name || *p == event.pid.to_string());
        let syscall = match &event.kind {
            EventKind::Syscall(call) => {
                self.syscalls.is_empty() || call.syscall().is_some_and(|s| self.syscalls.contains(&s))
            }
            _ => true,
        };
        program && syscall
    }

    /// The strace-style lines of the events of `trace` this filter shows.
    pub fn lines(&self, trace: &Trace) -> Vec<String> {
        trace.lines_where(|event| self.matches(event))
    }

    /// Programs this filter names that never appear in `trace`.
    pub fn unseen_programs(&self, trace: &Trace) -> Vec<String> {
        self.programs
            .iter()
            .filter(|program| {
                !trace
                    .names
                    .iter()
                    .any(|(pid, name)| name == *program || pid.to_string() == **program)
            })
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::scenario;
    use super::*;

    #[test]
    fn specs() {
        let filter = Filter::parse("hello, console").unwrap();
        assert_eq!(filter.programs, ["hello", "console"]);
        assert!(filter.syscalls.is_empty());
        let filter = Filter::parse("syscall=write,call").unwrap();
        assert!(filter.programs.is_empty());
        assert_eq!(filter.syscalls, [Syscall::Write, Syscall::Call]);
        let mut filter = Filter::parse("hello,syscall=write,program=3").unwrap();
        assert_eq!(filter.programs, ["hello", "3"]);
        assert_eq!(filter.syscalls, [Syscall::Write]);
        filter.add("syscall=exit").unwrap();
        assert_eq!(filter.syscalls, [Syscall::Write, Syscall::Exit]);
        assert!(
            Filter::parse("syscall=frobnicate")
                .unwrap_err()
                .contains("unknown syscall `frobnicate`")
        );
        assert!(
            Filter::parse("pid=3")
                .unwrap_err()
                .contains("unknown trace filter key `pid`")
        );
        assert!(Filter::parse("hello,").is_err());
        assert!(Filter::default().is_empty());
    }

    #[test]
    fn programs_and_syscalls_select_lines() {
        let trace = scenario().trace();
        let lines = Filter::parse("hello").unwrap().lines(&trace);
        assert!(
            lines
                .iter()
                .all(|l| l.contains("hello[3]") || l.starts_with("warning:")),
            "{lines:#?}"
        );
        assert_eq!(lines.len(), 5, "{lines:#?}"); // start, write, exit, end, and the gap warning
        let lines = Filter::parse("syscall=call,recv").unwrap().lines(&trace);
        let calls: Vec<&String> = lines.iter().filter(|l| l.contains(") = ")).collect();
        assert_eq!(calls.len(), 2, "{lines:#?}");
        assert!(calls[0].starts_with("echo[2] recv(") && calls[1].starts_with("pingpong[6] call("));
        // Process events pass a syscall filter.
        assert!(lines.iter().any(|l| l == "+++ faulty[7] killed by page fault +++"));
        let lines = Filter::parse("6,syscall=handle_close").unwrap().lines(&trace);
        assert!(
            lines.iter().any(|l| l.starts_with("pingpong[6] handle_close(")),
            "{lines:#?}"
        );
        assert!(!lines.iter().any(|l| l.starts_with("pingpong[6] call(")));
        assert_eq!(
            Filter::parse("hello,ghost,7").unwrap().unseen_programs(&trace),
            ["ghost"]
        );
    }
}
