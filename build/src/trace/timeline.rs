//! A trace as a Chrome trace / Perfetto timeline (JSON "Trace Event
//! Format"), for `--timeline OUT.json`: open it in <https://ui.perfetto.dev>
//! or `chrome://tracing`.
//!
//! - One track per process (pid and tid = the process id), named by
//!   metadata events after the process.
//! - One complete event (`X`) per syscall, from its `Enter` to its `Exit`
//!   (one still blocked when the trace ended lasts to the end, `exit` to
//!   its process's end);
//!   `args.call` holds its strace-style line.
//! - Instant events for process starts, ends and faults, and global instant
//!   events for lost records.
//! - Flow arrows (`s` to `f`, same `id`) from a sender's `send`, `call` or
//!   `write` (or `exit`, whose notice the kernel sends) to the
//!   `recv`/`reply_recv` that received it, and from a `reply`/`reply_recv`
//!   to the `call`/`write` it answered. The other end is the `peer` of the
//!   receiving syscall's `Exit`, in the syscall it was in at that point (no
//!   arrow if that syscall does not send, as for fault notices). Their ends
//!   sit just inside the slices.
//! - A "CPU" track (pid 0) with one slice per stretch a process ran, from the
//!   `Switch` records.
//!
//! Timestamps: the records carry the guest TSC; the timeline's microseconds
//! are TSC counts since the first record divided by [`TSC_PER_MICROSECOND`], i.e. the
//! TSC is taken to run at 1 GHz. Under `--icount` (`-icount shift=0`) one
//! count is one instruction, so 1 µs on the timeline is 1000 instructions.

use super::{Ending, EventKind, Filter, Trace, Unfinished};
use abi::Syscall;
use abi::trace::format::{call_text, fault_text};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// TSC counts per timeline microsecond.
pub const TSC_PER_MICROSECOND: f64 = 1000.0;
/// How far inside a slice the ends of a flow arrow sit, in microseconds.
const INSIDE: f64 = 0.0005;

/// Syscalls that send a message on an endpoint (`write` is a call the
/// kernel makes for the caller, `exit` makes the kernel send the EXIT
/// notice).
const SENDERS: [Syscall; 4] = [Syscall::Send, Syscall::Call, Syscall::Write, Syscall::Exit];
/// Syscalls that answer a call.
const REPLIERS: [Syscall; 2] = [Syscall::Reply, Syscall::ReplyRecv];
/// Syscalls that return with a message from an endpoint.
const RECEIVERS: [Syscall; 2] = [Syscall::Recv, Syscall::ReplyRecv];
/// Syscalls that return with a reply.
const CALLERS: [Syscall; 2] = [Syscall::Call, Syscall::Write];

struct Slice {
    pid: u32,
    syscall: Option<Syscall>,
    enter_sequence: u64,
    start: f64,
    end: f64,
}

/// The timeline of the events `filter` selects.
pub fn timeline(trace: &Trace, filter: &Filter) -> Value {
    let base = trace.first_timestamp;
    let microseconds = |timestamp: u64| timestamp.saturating_sub(base) as f64 / TSC_PER_MICROSECOND;
    let end_of_trace = microseconds(trace.last_timestamp);
    let mut events: Vec<Value> = Vec::new();
    let mut slices: Vec<Slice> = Vec::new();
    let mut processes: BTreeMap<u32, String> = BTreeMap::new();
    // Receiving slice, peer, sequence of the receiving `Exit`, kind of flow.
    let mut flow_ends: Vec<(usize, u32, u64, &str)> = Vec::new();

    for event in trace.events.iter().filter(|e| filter.matches(e)) {
        let at = microseconds(event.timestamp);
        let instant = |name: String, scope: &str| json!({"name": name, "ph": "i", "s": scope, "ts": at, "pid": event.pid, "tid": event.pid});
        if !matches!(event.kind, EventKind::Lost { .. } | EventKind::Switch { .. }) {
            processes.insert(event.pid, event.name.clone());
        }
        match &event.kind {
            EventKind::Syscall(call) => {
                let name = call.name();
                let text = call_text(call);
                let Some(enter) = call.enter else {
                    events.push(json!({
                        "name": name, "cat": "syscall", "ph": "i", "s": "t", "ts": at,
                        "pid": event.pid, "tid": event.pid, "args": {"call": text},
                    }));
                    continue;
                };
                let start = microseconds(enter.timestamp);
                let end = match (call.exit, call.unfinished) {
                    (Some(exit), _) => microseconds(exit.timestamp),
                    (None, Unfinished::ProcessEnded) => at,
                    (None, Unfinished::TraceEnded) => end_of_trace,
                    (None, Unfinished::ExitLost) => start,
                };
                events.push(json!({
                    "name": name, "cat": "syscall", "ph": "X", "ts": start, "dur": end - start,
                    "pid": event.pid, "tid": event.pid, "args": {"call": text},
                }));
                slices.push(Slice {
                    pid: event.pid,
                    syscall: call.syscall(),
                    enter_sequence: enter.sequence,
                    start,
                    end,
                });
                let Some(exit) = call.exit else { continue };
                if exit.peer == 0 || abi::Error::decode(exit.result).is_err() {
                    continue;
                }
                let syscall = call.syscall();
                let slice = slices.len() - 1;
                if syscall.is_some_and(|s| RECEIVERS.contains(&s)) {
                    flow_ends.push((slice, exit.peer, exit.sequence, "message"));
                }
                if syscall.is_some_and(|s| CALLERS.contains(&s)) {
                    flow_ends.push((slice, exit.peer, exit.sequence, "reply"));
                }
            }
            EventKind::Fault {
                vector,
                error_code,
                rip,
                address,
            } => events.push(instant(fault_text(*vector, *error_code, *rip, *address), "t")),
            EventKind::Start => events.push(instant("start".into(), "t")),
            EventKind::End { status, how } => events.push(instant(
                match how {
                    Ending::Exited => format!("exited with status {status}"),
                    Ending::Faulted(fault) => format!("killed by {fault}"),
                    Ending::OverLimit => "killed: CPU time limit used up".into(),
                    Ending::Killed => "killed".into(),
                },
                "t",
            )),
            EventKind::Lost { expected, found } => events.push(json!({
                "name": format!("{} records lost", found.wrapping_sub(*expected)),
                "ph": "i", "s": "g", "ts": at, "pid": 0, "tid": 0,
            })),
            EventKind::Switch { .. } => {}
        }
    }

    // Flows: from the latest matching slice of the peer that started before
    // the receiving syscall returned.
    let ends: BTreeMap<u32, u64> = trace
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::End { .. }))
        .map(|e| (e.pid, e.sequence))
        .collect();
    let mut id = 0u64;
    for (target, peer, exit_sequence, kind) in flow_ends {
        let sources: &[Syscall] = if kind == "message" { &SENDERS } else { &REPLIERS };
        // The peer's syscall in progress when the receiver's returned; if
        // that is not one that sends (or replies), the message came from
        // the kernel (a fault notice) or the records do not tell.
        let source = slices
            .iter()
            .filter(|s| s.pid == peer && s.enter_sequence < exit_sequence)
            .max_by_key(|s| s.enter_sequence)
            .filter(|s| s.syscall.is_some_and(|syscall| sources.contains(&syscall)));
        let Some(source) = source else { continue };
        // A process that has ended sends nothing but the notice of its
        // `exit` (a fault or limit notice has no sending syscall).
        if ends.get(&peer).is_some_and(|end| *end < exit_sequence) && source.syscall != Some(Syscall::Exit) {
            continue;
        }
        let target = &slices[target];
        id += 1;
        let inside = |slice: &Slice| INSIDE.min((slice.end - slice.start) / 2.0);
        events.push(json!({
            "name": kind, "cat": "ipc", "ph": "s", "id": id,
            "ts": source.start + inside(source), "pid": source.pid, "tid": source.pid,
        }));
        events.push(json!({
            "name": kind, "cat": "ipc", "ph": "f", "bp": "e", "id": id,
            "ts": target.end - inside(target), "pid": target.pid, "tid": target.pid,
        }));
    }

    // The CPU track.
    let switches: Vec<(u8, u64, u32)> = trace
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Switch { .. }))
        .map(|e| (e.cpu, e.timestamp, e.pid))
        .collect();
    for (i, &(cpu, timestamp, pid)) in switches.iter().enumerate() {
        let start = microseconds(timestamp);
        let end = switches[i + 1..]
            .iter()
            .find(|(other, _, _)| *other == cpu)
            .map_or(end_of_trace, |(_, next, _)| microseconds(*next));
        events.push(json!({
            "name": format!("{}[{pid}]", trace.name_of(pid)), "cat": "cpu", "ph": "X",
            "ts": start, "dur": end - start, "pid": 0, "tid": cpu,
        }));
    }

    let mut metadata = Vec::new();
    if !switches.is_empty() {
        metadata.push(json!({"name": "process_name", "ph": "M", "pid": 0, "tid": 0, "args": {"name": "CPU"}}));
    }
    for (pid, name) in &processes {
        let label = format!("{name}[{pid}]");
        metadata.push(json!({"name": "process_name", "ph": "M", "pid": pid, "tid": pid, "args": {"name": label}}));
        metadata.push(json!({"name": "thread_name", "ph": "M", "pid": pid, "tid": pid, "args": {"name": name}}));
        metadata.push(
            json!({"name": "process_sort_index", "ph": "M", "pid": pid, "tid": pid, "args": {"sort_index": pid}}),
        );
    }
    metadata.append(&mut events);
    json!({
        "traceEvents": metadata,
        "displayTimeUnit": "ns",
        "otherData": {
            "generator": "cargo xtask (microkernel syscall trace)",
            "clock": "guest TSC since the first record, 1000 counts per microsecond",
        },
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::scenario;
    use super::*;

    fn events_of(value: &Value) -> Vec<Value> {
        value["traceEvents"].as_array().unwrap().clone()
    }

    #[test]
    fn shape_parses_back() {
        let text = serde_json::to_string(&timeline(&scenario().trace(), &Filter::default())).unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        let events = events_of(&value);
        for event in &events {
            let ph = event["ph"].as_str().unwrap();
            assert!(["M", "X", "i", "s", "f"].contains(&ph), "{event}");
            assert!(event["pid"].is_u64() && event["tid"].is_u64(), "{event}");
            if ph != "M" {
                assert!(event["ts"].as_f64().unwrap() >= 0.0, "{event}");
            }
        }
        // One named track per process.
        let names: Vec<&str> = events
            .iter()
            .filter(|e| e["name"] == "process_name")
            .map(|e| e["args"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["CPU", "console[1]", "echo[2]", "hello[3]", "pingpong[6]", "faulty[7]"]
        );
        // The write is one complete event with its line.
        let write = events.iter().find(|e| e["name"] == "write").unwrap();
        assert_eq!(write["ph"], "X");
        assert_eq!(write["pid"], 3);
        assert!(write["args"]["call"].as_str().unwrap().contains("Hello from ring 3!"));
        assert!(write["dur"].as_f64().unwrap() > 0.0);
        // Faults, starts and ends are instants.
        assert!(
            events
                .iter()
                .any(|e| e["ph"] == "i" && e["pid"] == 7 && e["name"].as_str().unwrap().contains("page fault"))
        );
        assert!(
            events
                .iter()
                .any(|e| e["ph"] == "i" && e["name"] == "exited with status 0")
        );
        assert!(
            events
                .iter()
                .any(|e| e["ph"] == "i" && e["s"] == "g" && e["name"] == "2 records lost")
        );
    }

    #[test]
    fn flows_connect_senders_and_receivers() {
        let value = timeline(&scenario().trace(), &Filter::default());
        let events = events_of(&value);
        let flows: Vec<(String, String, u64, u64)> = events
            .iter()
            .filter(|e| e["cat"] == "ipc")
            .map(|e| {
                (
                    e["name"].as_str().unwrap().to_string(),
                    e["ph"].as_str().unwrap().to_string(),
                    e["id"].as_u64().unwrap(),
                    e["pid"].as_u64().unwrap(),
                )
            })
            .collect();
        let expected = [
            // hello's write reaches the console's reply_recv...
            ("message", "s", 1, 3),
            ("message", "f", 1, 1),
            // ...whose next reply_recv answers it.
            ("reply", "s", 2, 1),
            ("reply", "f", 2, 3),
            // pingpong's call reaches echo's recv, and echo's reply_recv answers.
            ("message", "s", 3, 6),
            ("message", "f", 3, 2),
            ("reply", "s", 4, 2),
            ("reply", "f", 4, 6),
        ];
        let expected: Vec<(String, String, u64, u64)> = expected
            .iter()
            .map(|(n, p, i, pid)| (n.to_string(), p.to_string(), *i, *pid))
            .collect();
        assert_eq!(flows, expected);
        // Each flow end lies inside a syscall slice of its track.
        for flow in events.iter().filter(|e| e["cat"] == "ipc") {
            let ts = flow["ts"].as_f64().unwrap();
            let inside = events.iter().any(|e| {
                e["ph"] == "X"
                    && e["cat"] == "syscall"
                    && e["pid"] == flow["pid"]
                    && e["ts"].as_f64().unwrap() <= ts
                    && ts <= e["ts"].as_f64().unwrap() + e["dur"].as_f64().unwrap()
            });
            assert!(inside, "{flow}");
        }
        assert_eq!(events.iter().find(|e| e["ph"] == "f").unwrap()["bp"], "e");
    }

    #[test]
    fn notices_flow_from_exit_but_not_from_older_syscalls() {
        let notice = abi::MsgInfo::new(abi::console::EXIT, 6, 0).0;
        let fault = abi::MsgInfo::new(abi::console::FAULT, 6, 0).0;
        let mut builder = abi::trace::TraceWriter::new();
        builder
            .start(1, "console")
            .start(3, "hello")
            .start(7, "faulty")
            // faulty writes, then faults: its notice comes from no syscall.
            .enter(1, Syscall::ReplyRecv, &[0, 0, 0x1000, 4096])
            .enter(7, Syscall::Write, &[1, 0x2000, 1])
            .exit(1, Syscall::ReplyRecv, 0, 7, &[9, abi::MsgInfo::new(1, 6, 1).0])
            .enter(1, Syscall::ReplyRecv, &[0, 0, 0x1000, 4096])
            .exit(7, Syscall::Write, 1, 1, &[])
            .fault(7, 14, 4, 0x20_0000, 0)
            .end(7, 0)
            .exit(1, Syscall::ReplyRecv, 0, 7, &[0, fault])
            // hello exits: its notice comes from its `exit`.
            .enter(1, Syscall::ReplyRecv, &[0, 0, 0x1000, 4096])
            .enter(3, Syscall::Exit, &[0])
            .end(3, 0)
            .exit(1, Syscall::ReplyRecv, 0, 3, &[0, notice]);
        let value = timeline(&builder.trace(), &Filter::default());
        let starts: Vec<(String, u64)> = events_of(&value)
            .iter()
            .filter(|e| e["ph"] == "s")
            .map(|e| (e["name"].as_str().unwrap().to_string(), e["pid"].as_u64().unwrap()))
            .collect();
        let expected = [("message", 7), ("reply", 1), ("message", 3)];
        let expected: Vec<(String, u64)> = expected.iter().map(|(n, p)| (n.to_string(), *p)).collect();
        assert_eq!(starts, expected);
    }

    #[test]
    fn filters_apply() {
        let value = timeline(&scenario().trace(), &Filter::parse("hello").unwrap());
        let events = events_of(&value);
        assert!(events.iter().filter(|e| e["cat"] == "syscall").all(|e| e["pid"] == 3));
        assert!(!events.iter().any(|e| e["cat"] == "ipc"), "no flow without both ends");
    }
}
