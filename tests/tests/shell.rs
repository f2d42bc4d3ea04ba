//! System tests of the shell (`manifests/shell.toml`, what `cargo xtask run
//! --manifest shell` boots): the harness types commands into the serial
//! port, each after the shell's prompt, and the tests read what the shell
//! reports (`start.PID=NAME MODE`, `end.PID=NAME ENDING DETAIL`, ... read
//! with `abi::results`), `ps`'s table, and the programs' own values.

use abi::machine::EXIT_SUCCESS;
use systests::*;

/// The shell's prompt, after the console's `shell[pid]: `.
const PROMPT: &str = "]: $ ";

/// The image of `manifests/shell.toml`, on the CPUs the test runs with
/// ([`test_cpus`]).
fn shell_image(name: &str) -> Image {
    image_of(name, Manifest::load("shell").unwrap_or_else(|error| panic!("{error}")))
}

/// The jobs the shell started, in order: (pid, name, mode) from its
/// `start.PID=NAME MODE` lines.
fn started(values: &Values) -> Vec<(u64, String, String)> {
    values
        .reported()
        .iter()
        .filter_map(|reported| {
            let pid = reported.key.strip_prefix("start.")?.parse().ok()?;
            let (name, mode) = reported.value.split_once(' ')?;
            Some((pid, name.to_string(), mode.to_string()))
        })
        .collect()
}

/// The pids of the jobs named `name` the shell started, in order.
fn pids_of(values: &Values, name: &str) -> Vec<u64> {
    started(values)
        .into_iter()
        .filter(|(_, job, _)| job == name)
        .map(|(pid, _, _)| pid)
        .collect()
}

/// `kill PID` for the last spinner the shell started.
fn kill_the_spinner(serial: &str) -> Vec<u8> {
    let values = Values::read(serial, "shell");
    match pids_of(&values, "spinner").last() {
        Some(pid) => format!("kill {pid}\n").into_bytes(),
        None => b"kill none\n".to_vec(),
    }
}

/// One row of `ps`'s table.
#[derive(Debug)]
struct Row {
    pid: u64,
    name: String,
    state: String,
    priority: u8,
    handles: u32,
    frames: u64,
}

/// The rows of the first `ps` table the shell printed: its lines after the
/// header, while they have the header's seven columns.
fn ps_table(outcome: &RunOutcome, values: &Values) -> Vec<Row> {
    let lines: Vec<&str> = values.other_lines().collect();
    let header = lines
        .iter()
        .position(|text| {
            text.split_whitespace()
                .eq(["PID", "NAME", "STATE", "PRI", "TICKS", "HANDLES", "FRAMES"])
        })
        .unwrap_or_else(|| panic!("no ps header\n{}", report(outcome)));
    lines[header + 1..]
        .iter()
        .map_while(|text| {
            let columns: Vec<&str> = text.split_whitespace().collect();
            let [pid, name, state, priority, ticks, handles, frames] = columns[..] else {
                return None;
            };
            ticks.parse::<u64>().ok()?;
            Some(Row {
                pid: pid.parse().ok()?,
                name: name.into(),
                state: state.into(),
                priority: priority.parse().ok()?,
                handles: handles.parse().ok()?,
                frames: frames.parse().ok()?,
            })
        })
        .collect()
}

/// The index of the first serial line that is exactly `text` (`^C`, the
/// console's echo of Ctrl-C).
fn line_index(outcome: &RunOutcome, text: &str) -> usize {
    outcome
        .serial
        .lines()
        .position(|line| line == text)
        .unwrap_or_else(|| panic!("no line {text:?}\n{}", report(outcome)))
}

/// `ps`, a background job and `wait`, `kill PID` of a background spinner,
/// Ctrl-C of a foreground one, a program with arguments, commands that
/// cannot be done, and `exit`, after which only the console is left and the
/// machine powers off (status 0).
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
        .line(PROMPT, "run nosuchprogram")
        .line(PROMPT, "kill 999")
        .line(PROMPT, "frobnicate")
        .line(PROMPT, "uptime")
        .line(PROMPT, "exit");
    let outcome = run_typing(&shell_image("shell"), typing);
    assert_exit(&outcome, EXIT_SUCCESS);
    let shell_pid = assert_exited(&outcome, "shell", 0);
    let shell = shell_pid.to_string();
    let values = values(&outcome, "shell");

    // ps: the console and the shell (running: it is the one asking).
    let rows = ps_table(&outcome, &values);
    let console = rows.iter().find(|row| row.name == "console");
    let me = rows.iter().find(|row| row.name == "shell");
    let (Some(console), Some(me)) = (console, me) else {
        panic!("ps lists no console or no shell: {rows:?}\n{}", report(&outcome));
    };
    assert_eq!((console.priority, console.state.as_str()), (6, "blocked"), "{rows:?}");
    assert_eq!(
        (me.pid, me.priority, me.state.as_str()),
        (shell_pid, 3, "running"),
        "{rows:?}"
    );
    assert!(rows.iter().all(|row| row.handles > 0 && row.frames > 0), "{rows:?}");

    // A background job, and `wait` reports how it ended.
    let jobs = started(&values);
    let sleeper = pids_of(&values, "sleeper");
    assert_eq!(sleeper.len(), 1, "{jobs:?}");
    assert!(
        jobs.contains(&(sleeper[0], "sleeper".into(), "background".into())),
        "{jobs:?}"
    );
    assert_values(
        &outcome,
        "shell",
        &[
            (&format!("end.{}", sleeper[0]), "sleeper exited 3"),
            ("wait.ended", "1"),
        ],
    );
    // It slept (at least) what it was asked to: its own tick count says so.
    assert!(number(&outcome, &systests::values(&outcome, "sleeper"), "slept") >= 20);

    // `kill PID` of a background spinner and Ctrl-C of a foreground one:
    // both killed by the shell.
    let spinners = pids_of(&values, "spinner");
    assert_eq!(spinners.len(), 2, "{jobs:?}");
    assert!(jobs.contains(&(spinners[0], "spinner".into(), "background".into())));
    assert!(jobs.contains(&(spinners[1], "spinner".into(), "foreground".into())));
    for pid in &spinners {
        assert_values(
            &outcome,
            "shell",
            &[(&format!("end.{pid}"), &format!("spinner killed {shell}"))],
        );
    }
    // The Ctrl-C came while the foreground spinner ran, and ended it.
    let spinning = systests::values(&outcome, "spinner").reported()[1].line;
    let interrupt = line_index(&outcome, "^C");
    let ended = line_of(&outcome, "shell", &format!("end.{}", spinners[1]));
    assert!(
        spinning < interrupt && interrupt < ended,
        "{spinning} {interrupt} {ended}"
    );

    // Arguments reach the program, one space apart.
    assert_values(
        &outcome,
        "printargs",
        &[("argc", "3"), ("arg1", "one"), ("arg2", "two=2"), ("arg3", "three")],
    );
    assert_exited(&outcome, "printargs", 0);

    // What cannot be done is an error with its reason, and the shell goes
    // on.
    let error = |key: &str| value(&outcome, &values, key).split_whitespace().next().unwrap_or("");
    assert_eq!(error("error.run"), "ENOTFOUND");
    assert!(value(&outcome, &values, "error.kill").contains("999"));
    assert!(value(&outcome, &values, "error.command").contains("frobnicate"));
    assert!(number(&outcome, &values, "uptime.ticks") > 0);
}

/// A foreground program that reads input gets it (and the Ctrl-C: it ends
/// itself), then the shell takes the input back; a line typed while a
/// foreground program runs waits for the shell's next prompt, which shows
/// it.
#[test]
fn input_goes_to_the_foreground_reader_and_comes_back() {
    let typing = Typing::new()
        .line(PROMPT, "run readlines verbose=1")
        .expect("input=attached")
        .send("to the reader\n")
        .expect("got=14")
        .send("\x03")
        .line(PROMPT, "run sleeper ticks=30")
        .send("echo typed=ahead\n")
        .expect("]: typed=ahead")
        .line(PROMPT, "exit");
    let outcome = run_typing(&shell_image("shell-input"), typing);
    assert_exit(&outcome, EXIT_SUCCESS);
    assert_values(&outcome, "readlines", &[("interrupted", "1"), ("input_lines", "1")]);
    let readlines = assert_exited(&outcome, "readlines", 130);
    // The Ctrl-C went to the reader, which ended itself: not killed.
    assert_values(
        &outcome,
        "shell",
        &[(&format!("end.{readlines}"), "readlines exited 130")],
    );
    // The line typed during the sleeper ran after it ended, and the prompt
    // that read it shows it.
    let values = values(&outcome, "shell");
    let sleeper = pids_of(&values, "sleeper");
    let sleeper_end = line_of(&outcome, "shell", &format!("end.{}", sleeper[0]));
    let typed = line_of(&outcome, "shell", "typed");
    assert!(sleeper_end < typed, "{sleeper_end} {typed}\n{}", report(&outcome));
    assert!(
        values.other_lines().any(|text| text == "$ echo typed=ahead"),
        "the prompt does not show the line typed ahead\n{}",
        report(&outcome)
    );
    assert_exited(&outcome, "shell", 0);
}
