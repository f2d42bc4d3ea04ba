//! Helpers for the system tests in `tests/tests/`: build a scenario's image
//! from inline TOML, boot it under TCG with a hard timeout, and assert on the
//! guest's exit value and serial output. Every failed assertion prints the
//! whole serial log, QEMU's stderr and the QEMU command.

use std::path::Path;
use std::time::Duration;

pub use xtask::{Accel, GuestStatus, Image, Input, Machine, Manifest, RunOptions, RunOutcome, Step};

/// Hard limit for one boot. A boot that ends normally takes well under a
/// second under TCG; nothing a test does may hang past this.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// A system with no programs: the kernel boots and stops by itself.
pub const NO_PROGRAMS: &str = r#"
[[endpoint]]
name = "console"
notices = true
"#;

/// Parses scenario TOML; relative crate paths are relative to `manifests/`.
pub fn manifest(toml: &str) -> Manifest {
    let base = xtask::workspace_root().join("manifests");
    Manifest::from_toml_str(toml, &base).unwrap_or_else(|error| panic!("scenario manifest: {error}"))
}

/// Builds the scenario's image into `target/image/systest-<name>/` (its own
/// directory, so tests running in parallel never share an initrd). Cargo's
/// output is shown only if the build fails.
pub fn image(name: &str, toml: &str) -> Image {
    let options = xtask::BuildOptions { echo_cargo: false };
    xtask::build_image_with(&manifest(toml), &format!("systest-{name}"), &options)
        .unwrap_or_else(|error| panic!("building scenario `{name}`: {error}"))
}

/// The options every test starts from: TCG, microvm, [`TIMEOUT`], no echo.
pub fn options(append: &str) -> RunOptions {
    RunOptions {
        accel: Accel::Tcg,
        timeout: Some(TIMEOUT),
        append: append.into(),
        ..RunOptions::default()
    }
}

/// Builds and boots a scenario with `append` added to the kernel command line.
pub fn boot(name: &str, toml: &str, append: &str) -> RunOutcome {
    boot_with(name, toml, options(append))
}

/// Builds and boots a scenario with explicit options (a missing timeout is
/// replaced by [`TIMEOUT`]: a test never waits forever).
pub fn boot_with(name: &str, toml: &str, options: RunOptions) -> RunOutcome {
    let image = image(name, toml);
    run_image(&image, options)
}

/// Boots a built image (see [`boot_with`]).
pub fn run_image(image: &Image, mut options: RunOptions) -> RunOutcome {
    if options.timeout.is_none_or(|t| t.is_zero() || t > TIMEOUT) {
        options.timeout = Some(TIMEOUT);
    }
    options.gdb = false;
    let outcome = xtask::run(image, &options).unwrap_or_else(|error| panic!("running `{}`: {error}", image.name));
    println!(
        "{} booted in {:.2} s: {}",
        image.name,
        outcome.wall.as_secs_f64(),
        outcome.status
    );
    outcome
}

/// Everything known about a run, for failure messages.
pub fn report(outcome: &RunOutcome) -> String {
    let script = match &outcome.script_stopped {
        Some(why) => format!("\ninput: {why}"),
        None => String::new(),
    };
    format!(
        "status: {}{script}\nwall: {:.2} s\ncommand: {}\n----- serial -----\n{}\n----- QEMU stderr -----\n{}------------------",
        outcome.status,
        outcome.wall.as_secs_f64(),
        outcome.command,
        outcome.serial.trim_end(),
        outcome.stderr
    )
}

/// What a person at the serial port types, step by step: each line after
/// the text it waits for (a prompt, a program's `ready` line), so nothing
/// is typed before the guest can take it. The run still has its hard
/// timeout; a step that never comes shows in [`report`].
#[derive(Clone, Debug, Default)]
pub struct Typing {
    steps: Vec<Step>,
}

impl Typing {
    /// Nothing typed yet.
    pub fn new() -> Typing {
        Typing::default()
    }

    /// Waits until the serial output shows `text` (after what the previous
    /// wait matched).
    pub fn expect(mut self, text: &str) -> Typing {
        self.steps.push(Step::Expect(text.into()));
        self
    }

    /// Types `bytes` at once, as a paste does.
    pub fn send(mut self, bytes: impl AsRef<[u8]>) -> Typing {
        self.steps.push(Step::Send(bytes.as_ref().to_vec()));
        self
    }

    /// Types what `make` makes of the serial output so far.
    pub fn send_from(mut self, make: fn(&str) -> Vec<u8>) -> Typing {
        self.steps.push(Step::SendFrom(make));
        self
    }

    /// Waits for `prompt`, then types `line` and Enter.
    pub fn line(self, prompt: &str, line: &str) -> Typing {
        self.expect(prompt).send(format!("{line}\n"))
    }

    /// The steps.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }
}

/// Builds and boots a scenario while `typing` types into its serial port.
pub fn boot_typing(name: &str, toml: &str, typing: Typing) -> RunOutcome {
    let image = image(name, toml);
    run_typing(&image, typing)
}

/// Boots a built image while `typing` types into its serial port; fails
/// the test if the script could not finish.
#[track_caller]
pub fn run_typing(image: &Image, typing: Typing) -> RunOutcome {
    let options = RunOptions {
        input: Input::Script(typing.steps),
        ..options("")
    };
    let outcome = run_image(image, options);
    if outcome.script_stopped.is_some() {
        panic!("the typing did not finish\n{}", report(&outcome));
    }
    outcome
}

/// The `kind key=value ...` records `program` printed (`program[pid]: kind
/// key=value ...`, the shell's way), in order: the kind, then the pairs.
pub fn records(outcome: &RunOutcome, program: &str) -> Vec<(String, std::collections::BTreeMap<String, String>)> {
    let prefix = format!("{program}[");
    outcome
        .serial
        .lines()
        .filter_map(|line| line.strip_prefix(&prefix)?.split_once("]: "))
        .filter_map(|(_, text)| {
            let mut words = text.split_whitespace();
            let kind = words.next()?;
            if kind.contains('=') {
                return None;
            }
            let pairs: std::collections::BTreeMap<String, String> = words
                .map(|word| word.split_once('='))
                .collect::<Option<Vec<_>>>()?
                .into_iter()
                .map(|(key, value)| (key.to_string(), value.to_string()))
                .collect();
            (!pairs.is_empty()).then(|| (kind.to_string(), pairs))
        })
        .collect()
}

/// Asserts the guest wrote `value` to `isa-debug-exit`.
#[track_caller]
pub fn assert_exit(outcome: &RunOutcome, value: u32) {
    if outcome.status != GuestStatus::Exited(value) {
        panic!(
            "expected guest exit value {value} ({}), got: {}\n{}",
            abi::machine::describe(value),
            outcome.status,
            report(outcome)
        );
    }
}

/// Asserts some serial line contains `needle`.
#[track_caller]
pub fn assert_serial_contains(outcome: &RunOutcome, needle: &str) {
    if !outcome.serial.lines().any(|line| line.contains(needle)) {
        panic!("no serial line contains {needle:?}\n{}", report(outcome));
    }
}

/// Asserts one serial line contains every one of `pieces`.
#[track_caller]
pub fn assert_line_with_all(outcome: &RunOutcome, pieces: &[&str]) {
    if !outcome
        .serial
        .lines()
        .any(|line| pieces.iter().all(|piece| line.contains(piece)))
    {
        panic!("no serial line contains all of {pieces:?}\n{}", report(outcome));
    }
}

/// Asserts no serial line contains `needle`.
#[track_caller]
pub fn assert_serial_lacks(outcome: &RunOutcome, needle: &str) {
    if let Some(line) = outcome.serial.lines().find(|line| line.contains(needle)) {
        panic!("unexpected serial line {line:?}\n{}", report(outcome));
    }
}

/// Asserts the run stopped by itself well before the hard timeout.
#[track_caller]
pub fn assert_quick(outcome: &RunOutcome, limit: Duration) {
    if outcome.wall > limit {
        panic!(
            "the run took {:.2} s, more than {:.0} s\n{}",
            outcome.wall.as_secs_f64(),
            limit.as_secs_f64(),
            report(outcome)
        );
    }
}

/// Whether `program` is on PATH (for tests that use optional host tools).
pub fn have_program(program: &str) -> bool {
    xtask::install::find_on_path(program).is_some()
}

/// Reads a file of a built image.
pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|error| panic!("reading {}: {error}", path.display()))
}

/// The console endpoint (which receives exit and fault notices) and the
/// console server: every scenario of programs starts with these.
pub const CONSOLE: &str = r#"
[[endpoint]]
name = "console"
notices = true

[[program]]
name = "console"
crate = "console"
priority = 6
io = ["serial"]
irqs = [4]
handles = [{ endpoint = "console", rights = ["recv"] }]
"#;

/// Scenario TOML: [`CONSOLE`] followed by `programs` (more endpoints and
/// programs, each listing its console SEND handle first: handle 0).
pub fn scenario(programs: &str) -> String {
    format!("{CONSOLE}\n{programs}")
}

/// A `hello` program at `priority` with a console handle: a well-behaved
/// bystander whose clean exit shows the kernel kept running.
pub fn hello(priority: u8) -> String {
    format!(
        "\n[[program]]\nname = \"hello\"\ncrate = \"hello\"\npriority = {priority}\n\
         handles = [{{ endpoint = \"console\", rights = [\"send\"] }}]\n"
    )
}

/// A program of the `testprogs` crate whose only handle is the console.
pub fn test_program(name: &str, priority: u8) -> String {
    format!(
        "\n[[program]]\nname = \"{name}\"\ncrate = \"testprogs\"\npriority = {priority}\n\
         handles = [{{ endpoint = \"console\", rights = [\"send\"] }}]\n"
    )
}

/// Index of the first serial line containing every one of `pieces`.
pub fn line_index(outcome: &RunOutcome, pieces: &[&str]) -> Option<usize> {
    outcome
        .serial
        .lines()
        .position(|line| pieces.iter().all(|piece| line.contains(piece)))
}

/// Serial lines containing every one of `pieces`.
pub fn lines_with_all<'a>(outcome: &'a RunOutcome, pieces: &[&str]) -> Vec<&'a str> {
    outcome
        .serial
        .lines()
        .filter(|line| pieces.iter().all(|piece| line.contains(piece)))
        .collect()
}

/// The first serial line containing every one of `pieces`; fails the test
/// if there is none.
#[track_caller]
pub fn find_line<'a>(outcome: &'a RunOutcome, pieces: &[&str]) -> &'a str {
    match lines_with_all(outcome, pieces).first() {
        Some(line) => line,
        None => panic!("no serial line contains all of {pieces:?}\n{}", report(outcome)),
    }
}

/// Asserts the first line with all of `earlier` comes before the first line
/// with all of `later` (both must exist).
#[track_caller]
pub fn assert_line_order(outcome: &RunOutcome, earlier: &[&str], later: &[&str]) {
    let first = line_index(outcome, earlier);
    let second = line_index(outcome, later);
    match (first, second) {
        (Some(first), Some(second)) if first < second => {}
        _ => panic!(
            "expected a line with {earlier:?} (line {first:?}) before a line with {later:?} (line {second:?})\n{}",
            report(outcome)
        ),
    }
}

/// The `key=value` lines `program` printed (`program[pid]: key=value`), by
/// key: how guests report results for tests to read. A key printed twice
/// keeps its last value.
pub fn values(outcome: &RunOutcome, program: &str) -> std::collections::BTreeMap<String, String> {
    let prefix = format!("{program}[");
    outcome
        .serial
        .lines()
        .filter_map(|line| line.strip_prefix(&prefix)?.split_once("]: "))
        .filter_map(|(_, text)| text.split_once('='))
        .filter(|(key, _)| !key.is_empty() && !key.contains(' '))
        .map(|(key, value)| (key.to_string(), value.trim().to_string()))
        .collect()
}

/// Asserts `program` printed `key=value` for each pair (see [`values`]).
#[track_caller]
pub fn assert_values(outcome: &RunOutcome, program: &str, expected: &[(&str, &str)]) {
    let values = values(outcome, program);
    for (key, value) in expected {
        if values.get(*key).map(String::as_str) != Some(*value) {
            panic!(
                "{program} printed {key}={:?}, expected {value:?}; all its values: {values:?}\n{}",
                values.get(*key),
                report(outcome)
            );
        }
    }
}

/// Asserts the console reported `name` exiting with `status`: the line
/// `[console] name[pid] exited with status N`. Returns the pid.
#[track_caller]
pub fn assert_exited(outcome: &RunOutcome, name: &str, status: i64) -> u64 {
    let suffix = format!("] exited with status {status}");
    let prefix = format!("[console] {name}[");
    for line in outcome.serial.lines() {
        if let Some(rest) = line.strip_prefix(&prefix)
            && let Some(pid) = rest.strip_suffix(&suffix)
            && let Ok(pid) = pid.parse()
        {
            return pid;
        }
    }
    panic!("no line `{prefix}N{suffix}`\n{}", report(outcome));
}

/// Asserts the console reported `name` killed by a fault and the line
/// contains every one of `pieces`. Returns the line.
#[track_caller]
pub fn assert_killed<'a>(outcome: &'a RunOutcome, name: &str, pieces: &[&str]) -> &'a str {
    let prefix = format!("[console] {name}[");
    let found = outcome.serial.lines().find(|line| {
        line.starts_with(&prefix) && line.contains("] killed: ") && pieces.iter().all(|p| line.contains(p))
    });
    match found {
        Some(line) => line,
        None => panic!(
            "no line `{prefix}N] killed: ...` with all of {pieces:?}\n{}",
            report(outcome)
        ),
    }
}

/// Asserts the run ended with exit value 0 and the bystander `hello`
/// printed its greeting and exited with status 0: the kernel stayed alive.
#[track_caller]
pub fn assert_kernel_alive(outcome: &RunOutcome) {
    assert_exit(outcome, abi::machine::EXIT_SUCCESS);
    assert_serial_contains(outcome, "Hello from ring 3!");
    assert_exited(outcome, "hello", 0);
    assert_serial_lacks(outcome, "PANIC");
}

/// Builds and boots a scenario with the kernel's syscall trace on (written
/// to `target/trace/systest-<name>.bin`); returns the run and the decoded
/// trace.
pub fn boot_traced(name: &str, toml: &str, append: &str) -> (RunOutcome, xtask::trace::Trace) {
    let options = RunOptions {
        trace: Some(xtask::trace::default_file(&format!("systest-{name}"))),
        ..options(append)
    };
    let outcome = boot_with(name, toml, options);
    let file = outcome.trace.clone().expect("a traced run names its trace file");
    let trace = xtask::trace::read_file(&file)
        .unwrap_or_else(|error| panic!("decoding the trace: {error}\n{}", report(&outcome)));
    (outcome, trace)
}

/// The index of the first of `lines` that contains every one of `pieces`;
/// fails with the lines and the run's report if there is none.
#[track_caller]
pub fn line_with_all(lines: &[String], pieces: &[&str], outcome: &RunOutcome) -> usize {
    lines
        .iter()
        .position(|line| pieces.iter().all(|piece| line.contains(piece)))
        .unwrap_or_else(|| {
            panic!(
                "no line contains all of {pieces:?}\n----- lines -----\n{}\n{}",
                lines.join("\n"),
                report(outcome)
            )
        })
}

/// Asserts one symbolized fault line contains every one of `pieces`.
#[track_caller]
pub fn assert_symbolized(outcome: &RunOutcome, pieces: &[&str]) {
    line_with_all(&outcome.symbolized, pieces, outcome);
}

// Robustness scenarios (tests/tests/hostile.rs): a supervisor spawns the
// hostile programs with well-behaved bystanders and proves the kernel got
// every resource back.

/// Priority of the supervisor: the highest below the console's (6).
pub const SUPERVISOR_PRIORITY: u8 = 5;
/// Priority of the echo server the `worker` bystander calls.
pub const ECHO_PRIORITY: u8 = 4;
/// Priority of the bystanders `hello` and `worker`.
pub const BYSTANDER_PRIORITY: u8 = 2;

/// A program of the `hostile` crate started only by a spawn: `bin` of that
/// crate, its console handle first, then the `handles` given (TOML inline
/// tables), and `extra` TOML lines (`cpu_limit = 30`, `args = "..."`,
/// `spawns = [...]`, `io = ["serial"]`).
pub fn hostile(name: &str, bin: &str, priority: u8, handles: &[&str], extra: &str) -> String {
    let mut list = vec![r#"{ endpoint = "console", rights = ["send"] }"#.to_string()];
    list.extend(handles.iter().map(|handle| handle.to_string()));
    format!(
        "\n[[program]]\nname = \"{name}\"\ncrate = \"hostile\"\nbin = \"{bin}\"\npriority = {priority}\n\
         start = \"spawn\"\n{extra}\nhandles = [{}]\n",
        list.join(", ")
    )
}

/// A supervised scenario: [`CONSOLE`], the echo server, the `supervisor`
/// (which spawns `spawn` in that order, then checks the resource counters)
/// and the bystanders `hello` and `worker` (start = "spawn": name them in
/// `spawn`), followed by `programs` (more endpoints and programs, typically
/// made with [`hostile`]). At most 8 names: a manifest entry spawns at most
/// that many programs.
pub fn supervised(spawn: &[&str], programs: &str) -> String {
    supervised_with(spawn, "", programs)
}

/// [`supervised`], with more arguments for the supervisor (`poll=5`: sleep
/// five ticks between polls of the counters; `bound=N`: give up after N
/// ticks).
pub fn supervised_with(spawn: &[&str], supervisor_args: &str, programs: &str) -> String {
    let quoted: Vec<String> = spawn.iter().map(|name| format!("\"{name}\"")).collect();
    let echo = r#"{ endpoint = "echo", rights = ["send"] }"#;
    scenario(&format!(
        r#"
[[endpoint]]
name = "sleep"

[[endpoint]]
name = "echo"

[[program]]
name = "supervisor"
crate = "hostile"
priority = {SUPERVISOR_PRIORITY}
spawns = [{spawns}]
args = "spawn={names} {supervisor_args}"
handles = [
    {{ endpoint = "console", rights = ["send"] }},
    {{ endpoint = "sleep", rights = ["recv"] }},
]

[[program]]
name = "echo"
crate = "echo"
priority = {ECHO_PRIORITY}
handles = [
    {{ endpoint = "console", rights = ["send"] }},
    {{ endpoint = "echo", rights = ["recv"] }},
]

[[program]]
name = "hello"
crate = "hello"
priority = {BYSTANDER_PRIORITY}
start = "spawn"
handles = [{{ endpoint = "console", rights = ["send"] }}]
{worker}
{programs}"#,
        spawns = quoted.join(", "),
        names = spawn.join(","),
        worker = hostile("worker", "worker", BYSTANDER_PRIORITY, &[echo], ""),
    ))
}

/// Asserts the supervisor found every resource counter back at its start
/// value (`accounting: counters back to start: available frames A = A, ...`) and
/// exited with 0. Returns the accounting line.
#[track_caller]
pub fn assert_accounting(outcome: &RunOutcome) -> &str {
    let line = find_line(outcome, &["supervisor[", "]: accounting: counters back to start: "]);
    let counters = line.split("counters back to start: ").nth(1).unwrap_or("");
    for name in ["available frames", "processes", "threads", "endpoints", "handles"] {
        let part = counters.split(", ").find(|part| part.starts_with(name)).unwrap_or("");
        let numbers: Vec<&str> = part[name.len().min(part.len())..].split_whitespace().collect();
        assert!(
            numbers.len() == 3 && numbers[1] == "=" && numbers[0] == numbers[2],
            "{name}: {part:?}\n{}",
            report(outcome)
        );
    }
    assert_exited(outcome, "supervisor", 0);
    line
}

/// Asserts the kernel stayed alive (exit value 0, no panic, `hello` greeted
/// and exited with 0), the `worker` finished its IPC round trips with echo
/// intact, and the supervisor's accounting came back.
#[track_caller]
pub fn assert_survived(outcome: &RunOutcome) {
    assert_kernel_alive(outcome);
    assert_line_with_all(
        outcome,
        &[
            "worker[",
            "]: worker: finished ",
            " IPC round trips with echo, all intact",
        ],
    );
    assert_exited(outcome, "worker", 0);
    assert_accounting(outcome);
}
