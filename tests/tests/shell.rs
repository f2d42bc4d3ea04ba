//! System tests of the shell (`manifests/shell.toml`, what `cargo xtask run
//! --manifest shell` boots): the harness types commands into the serial
//! port, each after the shell's prompt, and the tests read the shell's
//! `kind key=value` records, `ps`'s table and the console's notices.

use abi::machine::EXIT_SUCCESS;
use std::collections::BTreeMap;
use systests::*;

/// The shell's prompt, after the console's `shell[pid]: `.
const PROMPT: &str = "]: $ ";

fn shell_image(name: &str) -> Image {
    let manifest = Manifest::load("shell").unwrap_or_else(|error| panic!("{error}"));
    let options = xtask::BuildOptions { echo_cargo: false };
    xtask::build_image_with(&manifest, &format!("systest-{name}"), &options).unwrap_or_else(|error| panic!("{error}"))
}

/// The record of `kind` whose pairs include all of `with`; fails the test
/// if the shell printed none.
#[track_caller]
fn record<'a>(
    records: &'a [(String, BTreeMap<String, String>)],
    kind: &str,
    with: &[(&str, &str)],
    outcome: &RunOutcome,
) -> &'a BTreeMap<String, String> {
    records
        .iter()
        .find(|(k, pairs)| {
            k == kind
                && with
                    .iter()
                    .all(|(key, value)| pairs.get(*key).map(String::as_str) == Some(*value))
        })
        .map(|(_, pairs)| pairs)
        .unwrap_or_else(|| {
            panic!(
                "the shell printed no `{kind}` record with {with:?}\n{}",
                report(outcome)
            )
        })
}

/// `kill PID` for the last spinner the shell started.
fn kill_the_spinner(serial: &str) -> Vec<u8> {
    let pid = serial
        .lines()
        .filter(|line| line.contains("job.start ") && line.contains(" name=spinner "))
        .filter_map(|line| line.split_whitespace().find_map(|word| word.strip_prefix("pid=")))
        .next_back()
        .unwrap_or("none");
    format!("kill {pid}\n").into_bytes()
}

/// One row of `ps`'s table.
#[derive(Debug)]
struct Row {
    pid: u32,
    name: String,
    state: String,
    priority: u8,
    ticks: u64,
    handles: u32,
    frames: u64,
}

/// The rows of the first `ps` table the shell printed: its lines after the
/// header, while they have the header's seven columns.
fn ps_table(outcome: &RunOutcome) -> Vec<Row> {
    let said: Vec<&str> = outcome
        .serial
        .lines()
        .filter_map(|line| line.strip_prefix("shell[")?.split_once("]: ").map(|(_, text)| text))
        .collect();
    let header = said
        .iter()
        .position(|text| {
            text.split_whitespace()
                .eq(["PID", "NAME", "STATE", "PRI", "TICKS", "HANDLES", "FRAMES"])
        })
        .unwrap_or_else(|| panic!("no ps header\n{}", report(outcome)));
    said[header + 1..]
        .iter()
        .map_while(|text| {
            let columns: Vec<&str> = text.split_whitespace().collect();
            let [pid, name, state, priority, ticks, handles, frames] = columns[..] else {
                return None;
            };
            Some(Row {
                pid: pid.parse().ok()?,
                name: name.into(),
                state: state.into(),
                priority: priority.parse().ok()?,
                ticks: ticks.parse().ok()?,
                handles: handles.parse().ok()?,
                frames: frames.parse().ok()?,
            })
        })
        .collect()
}

/// `ps`, a background job and `wait`, `kill PID` of a background spinner,
/// Ctrl-C of a foreground one, a program with arguments, and `exit`, after
/// which only the console is left and the machine powers off (status 0).
#[test]
fn the_shell_runs_waits_kills_and_exits() {
    let typing = Typing::new()
        .line(PROMPT, "ps")
        .line(PROMPT, "run sleeper ticks=20 status=3 &")
        .line(PROMPT, "wait")
        .line(PROMPT, "run spinner &")
        .expect("spinning=1")
        .send_from(kill_the_spinner)
        .line(PROMPT, "run spinner")
        .expect("spinning=1")
        .send("\x03")
        .line(PROMPT, "run printargs one two=2   three")
        .line(PROMPT, "exit");
    let outcome = run_typing(&shell_image("shell"), typing);
    assert_exit(&outcome, EXIT_SUCCESS);
    assert_serial_lacks(&outcome, "PANIC");
    let shell = assert_exited(&outcome, "shell", 0).to_string();

    // ps: the console and the shell (running: it is the one asking).
    let rows = ps_table(&outcome);
    let console = rows.iter().find(|row| row.name == "console");
    let me = rows.iter().find(|row| row.name == "shell");
    match (console, me) {
        (Some(console), Some(me)) => {
            assert_eq!((console.priority, console.state.as_str()), (6, "blocked"), "{rows:?}");
            assert_eq!((me.priority, me.state.as_str()), (3, "running"), "{rows:?}");
            assert_eq!(me.pid.to_string(), shell, "{rows:?}");
            assert!(rows.iter().all(|row| row.handles > 0 && row.frames > 0), "{rows:?}");
            let _ = (console.ticks, me.ticks);
        }
        _ => panic!("ps lists no console or no shell: {rows:?}\n{}", report(&outcome)),
    }

    let records = records(&outcome, "shell");
    // A background job, and `wait` reports how it ended.
    let sleeper = &record(
        &records,
        "job.start",
        &[("name", "sleeper"), ("mode", "background")],
        &outcome,
    )["pid"];
    record(
        &records,
        "job.end",
        &[
            ("pid", sleeper),
            ("name", "sleeper"),
            ("ending", "exited"),
            ("detail", "3"),
        ],
        &outcome,
    );
    record(&records, "wait.done", &[("ended", "1")], &outcome);

    // `kill PID` of a background spinner: killed by the shell.
    let spinners: Vec<&BTreeMap<String, String>> = records
        .iter()
        .filter(|(kind, pairs)| kind == "job.start" && pairs.get("name").map(String::as_str) == Some("spinner"))
        .map(|(_, pairs)| pairs)
        .collect();
    assert_eq!(spinners.len(), 2, "{}", report(&outcome));
    assert_eq!(spinners[0]["mode"], "background");
    assert_eq!(spinners[1]["mode"], "foreground");
    for spinner in &spinners {
        let pid = &spinner["pid"];
        record(
            &records,
            "job.end",
            &[("pid", pid), ("ending", "killed"), ("detail", &shell)],
            &outcome,
        );
        assert_serial_contains(
            &outcome,
            &format!("[console] spinner[{pid}] killed by process {shell} at 0x"),
        );
    }
    // Ctrl-C came while the foreground spinner ran, and killed it.
    let foreground = &spinners[1]["pid"];
    assert_line_order(&outcome, &[&format!("spinner[{foreground}]: spinning=1")], &["^C"]);
    assert_line_order(&outcome, &["^C"], &["job.end", &format!("pid={foreground} ")]);

    // Arguments reach the program, one space apart.
    assert_values(
        &outcome,
        "printargs",
        &[("argc", "3"), ("arg1", "one"), ("arg2", "two=2"), ("arg3", "three")],
    );
    assert_exited(&outcome, "printargs", 0);
}

/// A foreground program that reads input gets it (and the Ctrl-C: it ends
/// itself), then the shell takes the input back; a line typed while a
/// foreground program runs waits for the shell's next prompt.
#[test]
fn input_goes_to_the_foreground_reader_and_comes_back() {
    let typing = Typing::new()
        .line(PROMPT, "run readlines verbose=1")
        .expect("input=attached")
        .send("to the reader\n")
        .expect("got=14")
        .send("\x03")
        .line(PROMPT, "run sleeper ticks=30")
        .send("echo typed ahead\n")
        .expect("]: typed ahead")
        .line(PROMPT, "exit");
    let outcome = run_typing(&shell_image("shell-input"), typing);
    assert_exit(&outcome, EXIT_SUCCESS);
    assert_values(&outcome, "readlines", &[("interrupted", "1"), ("input_lines", "1")]);
    let readlines = assert_exited(&outcome, "readlines", 130).to_string();
    let records = records(&outcome, "shell");
    // The Ctrl-C went to the reader, which ended itself: not killed.
    record(
        &records,
        "job.end",
        &[("pid", &readlines), ("ending", "exited"), ("detail", "130")],
        &outcome,
    );
    // The line typed during the sleeper ran after it, and shows after the
    // prompt that read it.
    let sleeper = &record(&records, "job.start", &[("name", "sleeper")], &outcome)["pid"];
    assert_line_order(
        &outcome,
        &["job.end", &format!("pid={sleeper} ")],
        &["shell[", "]: $ echo typed ahead"],
    );
    assert_line_order(
        &outcome,
        &["shell[", "]: $ echo typed ahead"],
        &["shell[", "]: typed ahead"],
    );
    assert_exited(&outcome, "shell", 0);
}
