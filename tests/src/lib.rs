//! Helpers for the system tests in `tests/tests/`: build a scenario's image
//! from inline TOML, boot it under TCG with a hard timeout, and judge it by
//! structure, not prose: the guest's exit value, how each program ended
//! (the console's notices read by `xtask::endings`: [`ending`],
//! [`assert_exited`], [`assert_fault`]) and the `key=value` results the
//! programs report (read by `abi::results`: [`values`], [`assert_values`],
//! [`assert_checks`], [`assert_only_keys`]). What the programs and the tests
//! agree on (addresses, tables of cases) is in the `testspec` crate. The
//! kernel's own log is read only for what no program can ask the kernel
//! ([`kernel_line`]). Every failed assertion prints the whole serial log,
//! QEMU's stderr and the QEMU command.

use std::path::Path;
use std::time::Duration;

pub use abi::fault::vector;
pub use abi::results::Values;
pub use xtask::endings::{Access, Cause, Ended, Ending, FaultDetail, PageFault, Reporter};
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

/// The module a test function must sit in to boot on two CPUs: the
/// `*_2cpus.rs` test files include a test file of one CPU as
/// `mod on_2_cpus`, so the whole suite runs at both counts.
pub const TWO_CPUS_MODULE: &str = "on_2_cpus";

/// How many CPUs the calling test boots with: 2 for a test in a module
/// named [`TWO_CPUS_MODULE`] (libtest names each test's thread after its
/// path), else 1. A scenario that asks for a count itself keeps it.
pub fn test_cpus() -> usize {
    let thread = std::thread::current();
    let two = thread
        .name()
        .is_some_and(|name| name.split("::").any(|part| part == TWO_CPUS_MODULE));
    if two { 2 } else { 1 }
}

/// Builds the scenario's image into `target/image/systest-<name>/` (its own
/// directory, so tests running in parallel never share an initrd; a test
/// on two CPUs adds `-2cpus`). Cargo's output is shown only if the build
/// fails.
pub fn image(name: &str, toml: &str) -> Image {
    image_of(name, manifest(toml))
}

/// Builds `manifest` as [`image`] does: into `target/image/systest-<name>/`
/// (`-2cpus` added on two CPUs), on the test's CPUs ([`test_cpus`]) unless
/// the manifest asks for more.
pub fn image_of(name: &str, mut manifest: Manifest) -> Image {
    let options = xtask::BuildOptions { echo_cargo: false };
    let cpus = test_cpus();
    let dir = if cpus == 1 {
        format!("systest-{name}")
    } else {
        format!("systest-{name}-{cpus}cpus")
    };
    if manifest.cpus == 1 {
        manifest.cpus = cpus;
    }
    xtask::build_image_with(&manifest, &dir, &options)
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

/// Asserts one serial line contains every one of `pieces` (for the
/// kernel's log and the build tool's output; programs report values).
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

/// The kernel's log lines (`[kernel] LEVEL  text`) as (level, text), in
/// order. The kernel's log is prose meant for people; tests read from it
/// only what no program can ask the kernel (its banner, its command line,
/// why it refused an image, its own faults).
pub fn kernel_log(outcome: &RunOutcome) -> Vec<(&str, &str)> {
    outcome
        .serial
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("[kernel] ")?;
            let (level, text) = rest.split_once(' ')?;
            Some((level, text.trim()))
        })
        .collect()
}

/// The text of the first kernel log line at `level` that starts with
/// `prefix`; fails if there is none.
#[track_caller]
pub fn kernel_line<'a>(outcome: &'a RunOutcome, level: &str, prefix: &str) -> &'a str {
    kernel_log(outcome)
        .into_iter()
        .find(|(at, text)| *at == level && text.starts_with(prefix))
        .map(|(_, text)| text)
        .unwrap_or_else(|| panic!("no kernel {level} line starting with {prefix:?}\n{}", report(outcome)))
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

/// What `program` printed (`program[pid]: key=value`, read by
/// `abi::results`): how guests report results for tests to read. A key
/// printed twice keeps its last value ([`Values::get`]).
pub fn values(outcome: &RunOutcome, program: &str) -> Values {
    Values::read(&outcome.serial, program)
}

/// Asserts `program` printed `key=value` for each pair (see [`values`]).
#[track_caller]
pub fn assert_values(outcome: &RunOutcome, program: &str, expected: &[(&str, &str)]) {
    let values = values(outcome, program);
    for (key, value) in expected {
        if values.get(key) != Some(*value) {
            panic!(
                "{program} printed {key}={:?}, expected {value:?}; all it printed: {values}\n{}",
                values.get(key),
                report(outcome)
            );
        }
    }
}

/// The value of `key` in `values`; fails with the run's report if it is
/// missing.
#[track_caller]
pub fn value<'a>(outcome: &RunOutcome, values: &'a Values, key: &str) -> &'a str {
    values
        .get(key)
        .unwrap_or_else(|| panic!("no {key}= from {values}\n{}", report(outcome)))
}

/// The value of `key` in `values` as a number (decimal or `0x` hex); fails
/// with the run's report if it is missing or not a number.
#[track_caller]
pub fn number(outcome: &RunOutcome, values: &Values, key: &str) -> u64 {
    values
        .number(key)
        .unwrap_or_else(|| panic!("no number {key}= from {values}\n{}", report(outcome)))
}

/// The serial line index of `key` as `program` printed it (for the order of
/// events); fails if it did not print it.
#[track_caller]
pub fn line_of(outcome: &RunOutcome, program: &str, key: &str) -> usize {
    let values = values(outcome, program);
    values
        .line(key)
        .unwrap_or_else(|| panic!("no {key}= from {values}\n{}", report(outcome)))
}

/// Asserts that `program` printed `check.NAME=pass` for each of `names`,
/// and no check of its own failed. Returns all it printed.
#[track_caller]
pub fn assert_checks(outcome: &RunOutcome, program: &str, names: &[&str]) -> Values {
    let values = values(outcome, program);
    let checks = values.checks();
    for name in names {
        if checks.get(name) != Some(&abi::results::PASS) {
            panic!("{program}: check.{name} did not pass: {values}\n{}", report(outcome));
        }
    }
    if let Some((name, _)) = checks.iter().find(|(_, verdict)| **verdict != abi::results::PASS) {
        panic!("{program}: check.{name} failed: {values}\n{}", report(outcome));
    }
    values
}

/// Asserts that `program` printed exactly the keys `keys` (each once or
/// more) and no line that is not `key=value`: for a program that must die
/// after announcing what it does, the proof that it never got further
/// (whatever it would have printed then).
#[track_caller]
pub fn assert_only_keys(outcome: &RunOutcome, program: &str, keys: &[&str]) {
    let values = values(outcome, program);
    let mut expected = keys.to_vec();
    expected.sort_unstable();
    expected.dedup();
    if values.keys() != expected || values.other_lines().next().is_some() {
        panic!(
            "{program} printed other than exactly {expected:?}: {values}\n{}",
            report(outcome)
        );
    }
}

/// Asserts that `program` printed nothing at all (no serial line carries
/// its name): it never ran.
#[track_caller]
pub fn assert_silent(outcome: &RunOutcome, program: &str) {
    let values = values(outcome, program);
    if !values.is_empty() {
        panic!("{program} printed something: {values}\n{}", report(outcome));
    }
}

/// Every program end the run reports (`xtask::endings`: the console's
/// notices, or the kernel's when no one receives them), with the index of
/// its serial line.
pub fn endings(outcome: &RunOutcome) -> Vec<(usize, Ended)> {
    xtask::endings::find_with_lines(&outcome.serial)
}

/// The ends of the programs named `name`.
pub fn endings_of(outcome: &RunOutcome, name: &str) -> Vec<(usize, Ended)> {
    endings(outcome)
        .into_iter()
        .filter(|(_, ended)| ended.name == name)
        .collect()
}

/// The one reported end of `name`, with its line index; fails if there is
/// none or more than one.
#[track_caller]
pub fn ending(outcome: &RunOutcome, name: &str) -> (usize, Ended) {
    let mut found = endings_of(outcome, name);
    match found.len() {
        1 => found.remove(0),
        count => panic!("{count} reported ends of {name}, not one\n{}", report(outcome)),
    }
}

/// Asserts that nothing reported an end of `name` (it never ran, or still
/// runs).
#[track_caller]
pub fn assert_never_ended(outcome: &RunOutcome, name: &str) {
    let found = endings_of(outcome, name);
    if let Some((_, ended)) = found.first() {
        panic!("{name} ended: {}\n{}", ended.text, report(outcome));
    }
}

/// Asserts the console reported `name` exiting with `status`. Returns the
/// pid.
#[track_caller]
pub fn assert_exited(outcome: &RunOutcome, name: &str, status: i64) -> u64 {
    let (_, ended) = ending(outcome, name);
    if ended.how != Ending::Exited(status) || ended.by != Reporter::Console {
        panic!(
            "expected the console to report {name} exiting with status {status}: {ended:?}\n{}",
            report(outcome)
        );
    }
    ended.pid
}

/// How a program was killed for a CPU exception.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    pub pid: u64,
    /// The serial line index of the notice.
    pub line: usize,
    pub vector: u8,
    /// The instruction that faulted.
    pub rip: u64,
    pub detail: FaultDetail,
}

/// How the console reported `name` killed for a fault; fails if it was
/// not.
#[track_caller]
pub fn fault(outcome: &RunOutcome, name: &str) -> Fault {
    let (line, ended) = ending(outcome, name);
    match ended.how {
        Ending::Faulted { vector, rip, detail } if ended.by == Reporter::Console => Fault {
            pid: ended.pid,
            line,
            vector,
            rip,
            detail,
        },
        _ => panic!(
            "expected the console to report {name} killed by a fault: {}\n{}",
            ended.text,
            report(outcome)
        ),
    }
}

/// Asserts `name` was killed for exception `vector` with `detail`. Returns
/// the fault (its `rip` is where).
#[track_caller]
pub fn assert_fault(outcome: &RunOutcome, name: &str, vector: u8, detail: FaultDetail) -> Fault {
    let fault = fault(outcome, name);
    if (fault.vector, fault.detail) != (vector, detail) {
        panic!(
            "expected {name} killed by {} ({detail:?}), got {} ({:?})\n{}",
            abi::fault::vector_name(vector),
            abi::fault::vector_name(fault.vector),
            fault.detail,
            report(outcome)
        );
    }
    fault
}

/// Asserts `name` was killed by a page fault: `access` of `address`, for
/// `cause`. Returns the fault.
#[track_caller]
pub fn assert_page_fault(outcome: &RunOutcome, name: &str, access: Access, address: u64, cause: Cause) -> Fault {
    let detail = FaultDetail::Page(PageFault { access, cause, address });
    assert_fault(outcome, name, vector::PAGE_FAULT, detail)
}

/// Asserts `name` was killed for using up its CPU limit of `ticks`.
/// Returns the line index of the notice.
#[track_caller]
pub fn assert_over_limit(outcome: &RunOutcome, name: &str, ticks: u64) -> usize {
    let (line, ended) = ending(outcome, name);
    match ended.how {
        Ending::OverLimit { ticks: limit, .. } if limit == ticks && ended.by == Reporter::Console => line,
        _ => panic!(
            "expected {name} killed at its CPU limit of {ticks} ticks: {}\n{}",
            ended.text,
            report(outcome)
        ),
    }
}

/// The greeting the bystander `hello` (servers/hello) prints as process
/// `pid`.
pub fn hello_greeting(pid: u64) -> String {
    format!("Hello from ring 3! I am process {pid}.")
}

/// Asserts `hello` printed its greeting, whole and alone, and the console
/// reported it exiting with status 0. Returns its pid.
#[track_caller]
pub fn assert_hello_greeted(outcome: &RunOutcome) -> u64 {
    let pid = assert_exited(outcome, "hello", 0);
    let hello = values(outcome, "hello");
    let lines: Vec<&str> = hello.other_lines().collect();
    if lines != [hello_greeting(pid)] || !hello.keys().is_empty() {
        panic!("hello printed {lines:?}, not its greeting\n{}", report(outcome));
    }
    pid
}

/// Asserts the run ended with exit value 0 (which also rules out a kernel
/// panic: the panic handler stops the machine with `EXIT_KERNEL_PANIC`) and
/// the bystander `hello` greeted and exited with status 0: the kernel
/// stayed alive.
#[track_caller]
pub fn assert_kernel_alive(outcome: &RunOutcome) {
    assert_exit(outcome, abi::machine::EXIT_SUCCESS);
    assert_hello_greeted(outcome);
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

/// Asserts `program` found every counter of `testspec::counters` back at
/// its start value: `check.counters_back=pass`, and each `before.NAME`
/// equal to its `after.NAME`. Returns all it printed.
#[track_caller]
pub fn assert_counters_back(outcome: &RunOutcome, program: &str) -> Values {
    use testspec::counters::{COUNTERS, COUNTERS_BACK};
    let values = assert_checks(outcome, program, &[COUNTERS_BACK]);
    for (counter, _) in COUNTERS {
        let before = number(outcome, &values, &format!("before.{counter}"));
        let after = number(outcome, &values, &format!("after.{counter}"));
        assert_eq!(before, after, "{program}: {counter}\n{}", report(outcome));
    }
    values
}

/// Asserts the supervisor found every resource counter back at its start
/// value and exited with 0. Returns all it printed.
#[track_caller]
pub fn assert_accounting(outcome: &RunOutcome) -> Values {
    let values = assert_counters_back(outcome, "supervisor");
    assert_exited(outcome, "supervisor", 0);
    values
}

/// Asserts the kernel stayed alive (exit value 0, no panic, `hello` greeted
/// and exited with 0), the `worker` finished its IPC round trips with echo
/// intact, and the supervisor's accounting came back.
#[track_caller]
pub fn assert_survived(outcome: &RunOutcome) {
    assert_kernel_alive(outcome);
    let rounds = testspec::WORKER_ROUNDS.to_string();
    assert_values(outcome, "worker", &[("rounds", &rounds)]);
    assert_checks(outcome, "worker", &["replies_intact"]);
    assert_exited(outcome, "worker", 0);
    assert_accounting(outcome);
}
