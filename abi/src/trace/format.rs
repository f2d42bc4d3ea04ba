//! strace-style lines for trace events:
//!
//! ```text
//! hello[3] write(fd=1, buf=0x2037a0 "Hello from ring 3!\n", len=19) = 19
//! console[1] reply_recv(handle=0, info={label=0 words=1 len=0}, buf=0x100000, cap=4096, w0=0x13) = 0 <- hello[3] badge=9 {label=1 words=6 len=19 flags=KERNEL} [0x1, 0x3, 0x0, 0x0, 0x6c6c6568, 0x0]
//! pingpong[6] handle_close(handle=261) = -3 EBADHANDLE (no such handle)
//! faulty[7] --- page fault at 0x20154a (read of 0x0, not present) ---
//! +++ hello[3] exited with status 0 +++
//! ```
//!
//! Arguments are named and printed by the syscall table's kinds: handles,
//! lengths and pids in decimal, pointers and words in hex, a `MsgInfo` as
//! its fields, an `in_ptr` with the bytes the kernel copied at entry as an
//! escaped string (`...` after it when the buffer was longer). Message words
//! are printed only as far as the `MsgInfo` says they are valid.

use super::events::{Call, Ending, Event, EventKind, Unfinished};
use super::record::{REGS, Record};
use crate::fault::{PageFaultCode, vector_name};
use crate::regs::Reg;
use crate::syscall::{ArgKind, Field, SyscallDesc};
use crate::{Error, MsgInfo, Rights};
use std::fmt::Write as _;

/// The line for an event; `None` for events that print nothing (`Switch`).
pub fn line(event: &Event) -> Option<String> {
    let who = format!("{}[{}]", event.name, event.pid);
    Some(match &event.kind {
        EventKind::Syscall(call) => format!("{who} {}", call_text(call)),
        EventKind::Fault {
            vector,
            error_code,
            rip,
            address,
        } => format!("{who} --- {} ---", fault_text(*vector, *error_code, *rip, *address)),
        EventKind::Start => format!("+++ {who} started +++"),
        EventKind::End { status, how } => match how {
            Ending::Exited => format!("+++ {who} exited with status {status} +++"),
            Ending::Faulted(fault) => format!("+++ {who} killed by {fault} +++"),
            Ending::OverLimit => format!("+++ {who} killed: CPU time limit used up +++"),
            Ending::Killed => format!("+++ {who} killed +++"),
        },
        EventKind::Switch { .. } => return None,
        EventKind::Lost { expected, found } if *found == expected.wrapping_add(1) => {
            format!("warning: 1 trace record lost (sequence {expected})")
        }
        EventKind::Lost { expected, found } if found > expected => format!(
            "warning: {} trace records lost (sequence {expected} to {})",
            found - expected,
            found - 1
        ),
        EventKind::Lost { expected, found } => {
            format!(
                "warning: trace sequence went back from {} to {found}",
                expected.wrapping_sub(1)
            )
        }
    })
}

/// `page fault at 0x20154a (read of 0x0, not present)`, as the console
/// server reports it.
pub fn fault_text(vector: u8, error_code: u64, rip: u64, address: u64) -> String {
    let mut text = format!("{} at {rip:#x}", vector_name(vector));
    if vector == 14 {
        let code = PageFaultCode::decode(error_code);
        let _ = write!(text, " ({} of {address:#x}, {})", code.access(), code.cause());
    } else if error_code != 0 {
        let _ = write!(text, " (error code {error_code:#x})");
    }
    text
}

/// The value of `reg` in a record (`None` for registers records lack).
pub fn register(record: &Record, reg: Reg) -> Option<u64> {
    REGS.iter().position(|r| *r == reg).map(|at| record.regs[at])
}

/// `write(fd=1, buf=0x2037a0 "Hi\n", len=3) = 3` and what follows it.
pub fn call_text(call: &Call) -> String {
    let name = call.name();
    let Some(entry) = call.syscall().map(|s| s.desc()) else {
        let result = call.exit.map_or("?".to_string(), |exit| result_text(None, exit.result));
        return format!("{name}(?) = {result}");
    };
    let mut text = format!("{name}(");
    match &call.enter {
        Some(enter) => text.push_str(&arguments(entry, enter, &call.data)),
        None => text.push_str("<arguments not traced>"),
    }
    text.push_str(") = ");
    let Some(exit) = call.exit else {
        text.push('?');
        match call.unfinished {
            Unfinished::ProcessEnded if entry.returns == crate::syscall::Returns::Never => {}
            Unfinished::ProcessEnded => text.push_str(" <unfinished: the process ended>"),
            Unfinished::TraceEnded => text.push_str(" <unfinished: still waiting when the trace ended>"),
            Unfinished::ExitLost => text.push_str(" <its exit record was lost>"),
        }
        return text;
    };
    let rax = entry.results.iter().find(|f| f.reg == crate::regs::RESULT);
    text.push_str(&result_text(rax, exit.result));
    if Error::decode(exit.result).is_err() {
        return text;
    }
    let receives = entry.results.iter().any(|f| f.kind == ArgKind::MsgInfo);
    let sends = entry.args.iter().any(|f| f.kind == ArgKind::MsgInfo);
    let peer = (exit.peer != 0).then(|| format!("{}[{}]", call.peer_name, exit.peer));
    if receives {
        text.push_str(" <-");
        if let Some(peer) = peer {
            let _ = write!(text, " {peer}");
        }
        text.push_str(&received(entry, &exit));
    } else if sends && let Some(peer) = peer {
        let _ = write!(text, " -> {peer}");
    }
    text
}

/// The arguments of an `Enter` record, by the table.
fn arguments(entry: &SyscallDesc, enter: &Record, data: &[Vec<u8>]) -> String {
    let info = entry
        .args
        .iter()
        .find(|f| f.kind == ArgKind::MsgInfo)
        .and_then(|f| register(enter, f.reg))
        .map(MsgInfo);
    let value_of = |name: &str| -> Option<u64> {
        if name == crate::syscall::LEN_IN_INFO {
            return info.map(|i| i.len() as u64);
        }
        let field = entry.args.iter().find(|f| f.name == name)?;
        register(enter, field.reg)
    };
    let mut data = data.iter();
    let mut parts = Vec::new();
    for field in entry.args {
        if field.kind == ArgKind::Unused || !word_is_valid(field, entry.args, info) {
            continue;
        }
        let Some(value) = register(enter, field.reg) else {
            continue;
        };
        let mut part = format!("{}={}", field.name, value_text(field.kind, value));
        if let ArgKind::InPtr { len } | ArgKind::InOutPtr { send: len, .. } = field.kind {
            let length = value_of(len).unwrap_or(0);
            if length > 0
                && let Some(bytes) = data.next()
            {
                part.push(' ');
                part.push_str(&quoted(bytes, length as usize > bytes.len()));
            }
        }
        parts.push(part);
    }
    parts.join(", ")
}

/// Whether a message-word field is among the words `info` says are valid
/// (fields that are not words always are).
fn word_is_valid(field: &Field, fields: &[Field], info: Option<MsgInfo>) -> bool {
    if field.kind != ArgKind::Word {
        return true;
    }
    let index = fields
        .iter()
        .filter(|f| f.kind == ArgKind::Word)
        .position(|f| f.name == field.name)
        .unwrap_or(0);
    info.is_some_and(|info| index < info.words())
}

/// ` badge=5 {label=7 words=6 len=64} [0x0, 0x1]`: the message a receive
/// or a call returned with.
fn received(entry: &SyscallDesc, exit: &Record) -> String {
    let mut text = String::new();
    let info = entry
        .results
        .iter()
        .find(|f| f.kind == ArgKind::MsgInfo)
        .and_then(|f| register(exit, f.reg))
        .map(MsgInfo);
    if let Some(badge) = entry.results.iter().find(|f| f.kind == ArgKind::Badge)
        && let Some(value) = register(exit, badge.reg)
    {
        let _ = write!(text, " badge={value}");
    }
    if let Some(info) = info {
        let _ = write!(text, " {}", msginfo_text(info));
    }
    let words: Vec<String> = entry
        .results
        .iter()
        .filter(|f| f.kind == ArgKind::Word && word_is_valid(f, entry.results, info))
        .filter_map(|f| register(exit, f.reg))
        .map(|w| format!("{w:#x}"))
        .collect();
    if !words.is_empty() {
        let _ = write!(text, " [{}]", words.join(", "));
    }
    text
}

/// `= 19`, `= -3 EBADHANDLE (no such handle)`.
pub fn result_text(field: Option<&Field>, rax: u64) -> String {
    match Error::decode(rax) {
        Ok(value) => match field {
            Some(field) => value_text(field.kind, value),
            None => value.to_string(),
        },
        Err(code) => match Error::from_code(code) {
            Some(error) => format!("-{code} {} ({})", error.name(), error.description()),
            None => format!("-{code} (unknown error)"),
        },
    }
}

/// A register value by its kind.
pub fn value_text(kind: ArgKind, value: u64) -> String {
    match kind {
        ArgKind::Int
        | ArgKind::Handle
        | ArgKind::Irq
        | ArgKind::Len
        | ArgKind::Badge
        | ArgKind::Pid
        | ArgKind::Ticks
        | ArgKind::Count
        | ArgKind::Unused => value.to_string(),
        ArgKind::Bits | ArgKind::Flags => format!("{value:#x}"),
        ArgKind::Ending => match crate::process::Ending::from_code(value) {
            Some(ending) => ending.to_string(),
            None => value.to_string(),
        },
        ArgKind::Status => (value as i64).to_string(),
        ArgKind::Version => format!("{}.{}", value >> 16, value & 0xffff),
        ArgKind::InPtr { .. }
        | ArgKind::OutPtr { .. }
        | ArgKind::InOutPtr { .. }
        | ArgKind::Word
        | ArgKind::Address => {
            format!("{value:#x}")
        }
        ArgKind::MsgInfo => msginfo_text(MsgInfo(value)),
        ArgKind::Rights => rights_text(value),
        ArgKind::Perms => perms_text(value),
    }
}

/// `read|write`, with unknown bits in hex.
pub fn perms_text(value: u64) -> String {
    use crate::memory::Perms;
    let mut names: Vec<String> = [("read", Perms::READ), ("write", Perms::WRITE), ("exec", Perms::EXEC)]
        .iter()
        .filter(|(_, perm)| value & perm.bits() != 0)
        .map(|(name, _)| name.to_string())
        .collect();
    let unknown = value & !Perms::all().bits();
    if unknown != 0 {
        names.push(format!("{unknown:#x}"));
    }
    if names.is_empty() {
        return "0".into();
    }
    names.join("|")
}

/// `send|transfer`, with unknown bits in hex (`Rights`' `Display`).
pub fn rights_text(value: u64) -> String {
    Rights::from_bits_retain(value).to_string()
}

/// `{label=7 words=6 len=64 flags=KERNEL}`; a timeout appears when it is
/// not zero (`MsgInfo`'s `Display`).
pub fn msginfo_text(info: MsgInfo) -> String {
    info.to_string()
}

/// Bytes as a double-quoted string with C escapes, `...` after it when cut.
pub fn quoted(bytes: &[u8], cut: bool) -> String {
    let mut text = String::from("\"");
    for &byte in bytes {
        match byte {
            b'\n' => text.push_str("\\n"),
            b'\r' => text.push_str("\\r"),
            b'\t' => text.push_str("\\t"),
            b'"' => text.push_str("\\\""),
            b'\\' => text.push_str("\\\\"),
            0x20..=0x7e => text.push(byte as char),
            _ => {
                let _ = write!(text, "\\x{byte:02x}");
            }
        }
    }
    text.push('"');
    if cut {
        text.push_str("...");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::super::TraceWriter;
    use super::super::writer::tests::scenario;
    use super::*;
    use crate::Syscall;

    fn lines() -> Vec<String> {
        scenario().trace().lines()
    }

    fn find<'a>(lines: &'a [String], start: &str) -> &'a str {
        lines
            .iter()
            .find(|line| line.starts_with(start))
            .unwrap_or_else(|| panic!("no line starts with {start:?}:\n{}", lines.join("\n")))
    }

    #[test]
    fn write_prints_its_string() {
        let lines = lines();
        assert_eq!(
            find(&lines, "hello[3] write"),
            r#"hello[3] write(fd=1, buf=0x2037a0 "Hello from ring 3!\n", len=19) = 19"#
        );
    }

    #[test]
    fn receive_shows_peer_and_message() {
        let lines = lines();
        assert_eq!(
            find(&lines, "console[1] reply_recv(handle=0, info={label=0 words=0"),
            "console[1] reply_recv(handle=0, info={label=0 words=0 len=0}, buf=0x100000, cap=4096) = 0 \
             <- hello[3] badge=9 {label=1 words=6 len=19 flags=KERNEL} [0x1, 0x3, 0x0, 0x0, 0x0, 0x0]"
        );
        assert_eq!(
            find(&lines, "echo[2] recv"),
            "echo[2] recv(handle=1, info={label=0 words=0 len=0}, buf=0x300000, cap=4096) = 0 \
             <- pingpong[6] badge=5 {label=7 words=6 len=64} [0x0, 0x1, 0x2, 0x3, 0x4, 0x5]"
        );
    }

    #[test]
    fn call_shows_reply_and_server() {
        let lines = lines();
        assert_eq!(
            find(&lines, "pingpong[6] call"),
            "pingpong[6] call(handle=1, info={label=7 words=6 len=64}, buf=0x400000, cap=64, w0=0x0, w1=0x1, \
             w2=0x2, w3=0x3, w4=0x4, w5=0x5) = 0 <- echo[2] {label=7 words=6 len=64} [0x0, 0x1, 0x2, 0x3, 0x4, 0x5]"
        );
    }

    #[test]
    fn errors_faults_and_process_events() {
        let lines = lines();
        assert_eq!(
            find(&lines, "pingpong[6] handle_close"),
            "pingpong[6] handle_close(handle=261) = -3 EBADHANDLE (no such handle)"
        );
        assert_eq!(find(&lines, "hello[3] exit"), "hello[3] exit(status=0) = ?");
        assert_eq!(
            find(&lines, "faulty[7] ---"),
            "faulty[7] --- page fault at 0x20154a (read of 0x0, not present) ---"
        );
        assert!(lines.contains(&"+++ hello[3] exited with status 0 +++".to_string()));
        assert!(lines.contains(&"+++ faulty[7] killed by page fault +++".to_string()));
        assert!(lines.contains(&"+++ pingpong[6] started +++".to_string()));
        assert!(
            lines.contains(&"warning: 2 trace records lost (sequence 23 to 24)".to_string()),
            "{lines:#?}"
        );
        assert!(find(&lines, "echo[2] reply_recv").ends_with("= ? <unfinished: still waiting when the trace ended>"));
        // The order: the exit line before the end line.
        let exit = lines.iter().position(|l| l.starts_with("hello[3] exit(")).unwrap();
        let end = lines.iter().position(|l| l.starts_with("+++ hello[3] exited")).unwrap();
        assert_eq!(end, exit + 1);
    }

    #[test]
    fn long_buffers_are_cut_and_escaped() {
        let long = [b'x'; 100];
        let mut builder = TraceWriter::new();
        builder
            .start(3, "hello")
            .enter(3, Syscall::Write, &[1, 0x1000, 100])
            .data(3, Syscall::Write, &long)
            .exit(3, Syscall::Write, 100, 0, &[]);
        let lines = builder.trace().lines();
        let expected = format!(
            "hello[3] write(fd=1, buf=0x1000 \"{}\"..., len=100) = 100",
            "x".repeat(80)
        );
        assert_eq!(lines[1], expected);
        assert_eq!(quoted(b"a\"\\\x01\t", false), r#""a\"\\\x01\t""#);
    }

    #[test]
    fn a_lost_exit_record_is_said_so() {
        let mut builder = TraceWriter::new();
        builder
            .start(3, "hello")
            .enter(3, Syscall::GetPid, &[])
            .enter(3, Syscall::Yield, &[])
            .exit(3, Syscall::Yield, 0, 0, &[]);
        let lines = builder.trace().lines();
        assert_eq!(lines[1], "hello[3] get_pid() = ? <its exit record was lost>");
        assert_eq!(lines[2], "hello[3] yield() = 0");
    }

    #[test]
    fn kinds_print_by_the_table() {
        assert_eq!(value_text(ArgKind::Rights, 0b101), "send|transfer");
        assert_eq!(value_text(ArgKind::Rights, 0), "0x0");
        assert_eq!(value_text(ArgKind::Status, u64::MAX), "-1");
        assert_eq!(result_text(None, 4094u64.wrapping_neg()), "-4094 (unknown error)");
        let info = MsgInfo::new(3, 1, 2).with_flags(crate::message::MsgFlags::HANDLE);
        assert_eq!(msginfo_text(info), "{label=3 words=1 len=2 flags=HANDLE}");
        assert_eq!(
            msginfo_text(info.with_timeout(5)),
            "{label=3 words=1 len=2 flags=HANDLE timeout=5}"
        );
    }
}
