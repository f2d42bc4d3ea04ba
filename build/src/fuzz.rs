//! `cargo xtask fuzz`: boots the ring-3 syscall fuzzer (`servers/fuzzer`)
//! with a chosen seed and number of calls, and judges the run.
//!
//! The image (written by [`manifest_toml`]; `manifests/fuzz.toml` is the
//! same with the defaults) holds the console, the `checker` (which spawns
//! the fuzzer, waits until it and its helpers are gone and compares the
//! kernel's resource counters), the `printer` (the fuzzer's report goes
//! there), the `sink` (the fuzzer's handle 0: its random writes never reach
//! the serial port), the `mirror` (answers every message), and the
//! spawn-only `fuzzer`, `pinger` (calls the fuzzer) and `victim`.
//!
//! With `--cpus N` ([`smp_manifest_toml`]) the image holds N copies of the
//! fuzzer's world, one per CPU, each program of copy `I` named `NAME-I`
//! (`fuzzer-0`, `printer-1`, ...) with its own endpoints and pinned to CPU
//! `I` (`cpus = [I]`), all beside one console and one checker, which
//! spawns every fuzzer at once and compares the counters once for the
//! whole run. Copy `I` fuzzes with seed `seed + I`.
//!
//! A run passes when the guest exits with 0, every fuzzer's summary says it
//! made every call with 0 violations, the checker says the counters are
//! unchanged, the fuzzers and the checker exit with 0, no program was
//! killed (but victims, by their fuzzer), and several fuzzers ran at the
//! same time. The summaries and the checker's verdict are `key=value`
//! lines, read with `abi::results`. `docs/reliability.md` describes what
//! the fuzzer generates and checks.

use crate::endings::Ending;
use crate::{Accel, Error, GuestStatus, Manifest, RunOptions, RunOutcome};
use abi::results::{PASS, Values};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

/// Seed of `cargo xtask fuzz` without `--seed` (and of `manifests/fuzz.toml`).
pub const DEFAULT_SEED: u64 = 1;
/// Calls of `cargo xtask fuzz` without `--calls` (and of `manifests/fuzz.toml`).
pub const DEFAULT_CALLS: u64 = 100_000;
/// The program that prints the fuzzer's report (and the reproducers'), in
/// the image of one fuzzer ([`program`] names it in the others).
pub const PRINTER: &str = "printer";
/// The program that compares the kernel's counters.
pub const CHECKER: &str = "checker";
/// Keys of the fuzzer's summary: the seed, the calls made, the violations
/// found and the ticks it took. It prints them last.
pub const SEED: &str = "fuzz.seed";
pub const CALLS: &str = "fuzz.calls";
pub const VIOLATIONS: &str = "fuzz.violations";
pub const TICKS: &str = "fuzz.ticks";
/// Keys of the fuzzer's summary: which instance it is (0 when alone), and
/// the tick at which it started fuzzing.
pub const INSTANCE: &str = "fuzz.instance";
pub const START_TICK: &str = "fuzz.start_tick";
/// `fuzz.outcomes.SYSCALL=ok:N EFAULT:N ...`, per syscall (`unknown`:
/// numbers not in the table; `all`: every call).
pub const OUTCOMES: &str = "fuzz.outcomes.";
/// The checker's check that every counter came back.
pub const COUNTERS_BACK: &str = "counters_back";
/// How a violation's report (prose for people) starts.
pub const VIOLATION: &str = "fuzz: VIOLATION ";

/// Fuzzers one image runs at most, one per CPU (`fuzzer::instances::MAX`):
/// they measure at once how many memory objects one process may refer to
/// (16 each) against the kernel's shared table of 64.
pub const MAX_CPUS: usize = 3;

/// What `cargo xtask fuzz` was asked to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuzzOptions {
    /// The first seed.
    pub seed: u64,
    /// Syscalls per boot and per fuzzer.
    pub calls: u64,
    /// Boots, with seeds `seed`, `seed + cpus`, ... (the fuzzer on CPU `I`
    /// adding `I`).
    pub seeds: u64,
    /// CPUs of the machine, and fuzzers running at once, one on each (1 to
    /// [`MAX_CPUS`]).
    pub cpus: usize,
    /// Several CPUs under TCG with one host thread each
    /// ([`RunOptions::parallel`]).
    pub parallel: bool,
    /// Limit of each boot; `None`: no limit. `cargo xtask fuzz` gives
    /// [`timeout_for`] the number of calls (times the CPUs) unless told
    /// otherwise.
    pub timeout: Option<Duration>,
}

impl Default for FuzzOptions {
    fn default() -> Self {
        Self {
            seed: DEFAULT_SEED,
            calls: DEFAULT_CALLS,
            seeds: 1,
            cpus: 1,
            parallel: false,
            timeout: Some(timeout_for(DEFAULT_CALLS)),
        }
    }
}

/// A generous limit for a boot making `calls` syscalls under TCG: a minute,
/// plus a millisecond per call (the fuzzer makes about ten times more per
/// millisecond on a loaded host).
pub fn timeout_for(calls: u64) -> Duration {
    Duration::from_secs(60) + Duration::from_millis(calls)
}

/// The name of program `base` of the fuzzer on CPU `cpu` of `cpus`
/// (`fuzzer::instances::name`): `base` alone on one CPU, else `base-CPU`.
pub fn program(base: &str, cpu: usize, cpus: usize) -> String {
    if cpus > 1 {
        format!("{base}-{cpu}")
    } else {
        base.to_string()
    }
}

/// Whether `name` is a victim's (of any fuzzer of the image).
fn is_victim(name: &str) -> bool {
    name == "victim"
        || name
            .strip_prefix("victim-")
            .is_some_and(|cpu| !cpu.is_empty() && cpu.bytes().all(|b| b.is_ascii_digit()))
}

/// The image's manifest for one seed, as TOML.
pub fn manifest_toml(seed: u64, calls: u64) -> String {
    let header = format!(
        "# The syscall fuzzer's image: `cargo xtask fuzz` writes this manifest with\n\
         # the seed and number of calls it is given (build/src/fuzz.rs); see\n\
         # docs/reliability.md. This one has seed {seed} and {calls} calls.\n"
    );
    render(&header, "", &|_| format!("seed={seed} calls={calls}"), seed, 1)
}

/// The image of `cpus` fuzzers at once, one per CPU, each making `calls`
/// calls; the one on CPU `I` has seed `seed + I`. With one CPU, it is
/// [`manifest_toml`].
pub fn smp_manifest_toml(seed: u64, cpus: usize, calls: u64) -> String {
    if cpus <= 1 {
        return manifest_toml(seed, calls);
    }
    let last = seed + cpus as u64 - 1;
    let header = format!(
        "# The syscall fuzzer's image with {cpus} fuzzers at once, one per CPU\n\
         # (`cargo xtask fuzz --cpus {cpus}`, build/src/fuzz.rs; see docs/reliability.md):\n\
         # seeds {seed} to {last}, {calls} calls each.\n"
    );
    let args = |cpu: usize| {
        format!(
            "seed={} calls={calls} instance={cpu} instances={cpus}",
            seed + cpu as u64
        )
    };
    render(&header, "", &args, seed, cpus)
}

/// The interrupt lines the fuzzers are granted (`fuzzer::IRQ_LINE` is the
/// first, of the one-CPU image), one per fuzzer since a line is granted to
/// one program: lines no device of the machine uses, which never fire.
pub const FUZZER_IRQS: [u32; MAX_CPUS] = [5, 7, 6];
/// The interrupt line the one-CPU image grants its fuzzer.
pub const FUZZER_IRQ: u32 = FUZZER_IRQS[0];

/// The kernel bugs the fuzzer found, which `fuzz-repro` reproduces
/// (docs/reliability.md; all fixed, so these are regression cases).
pub const REPRO_CASES: [&str; 4] = [
    "stale-deadline",
    "recv-checks-msginfo",
    "reply-handle-errors",
    "write-passes-console-errors",
];

/// The fuzz image with `fuzz-repro` in the fuzzer's place, running the
/// reproducer `case` (one of [`REPRO_CASES`]).
pub fn repro_manifest_toml(case: &str) -> String {
    let header = format!(
        "# The fuzz image with the reproducer `{case}` of a kernel bug the fuzzer found in the\n\
         # fuzzer's place (build/src/fuzz.rs, docs/reliability.md).\n"
    );
    render(&header, "bin = \"fuzz-repro\"\n", &|_| format!("case={case}"), 1, 1)
}

/// The manifest text: `header`, then the image of `cpus` fuzzers, each
/// with the fuzzer program's `bin` line (empty: the `fuzzer` binary) and
/// `args(cpu)`; the pinger of the one on CPU `I` gets seed `seed + I`.
fn render(header: &str, bin: &str, args: &dyn Fn(usize) -> String, seed: u64, cpus: usize) -> String {
    let several = cpus > 1;
    let n = |base: &str, cpu: usize| program(base, cpu, cpus);
    let mut text = format!("{header}\n[kernel]\ncmdline = \"\"\n");
    if several {
        let _ = writeln!(text, "cpus = {cpus}");
    }
    text.push_str(
        r#"
[[endpoint]]
name = "console"
notices = true
"#,
    );
    for cpu in 0..cpus {
        if several {
            let _ = write!(text, "\n# The endpoints of the fuzzer on CPU {cpu}.\n");
        }
        text.push('\n');
        let _ = write!(
            text,
            r#"# The fuzzer's console (handle 0): swallows its random writes.
[[endpoint]]
name = "{sink}"

# Answers every message the fuzzer sends.
[[endpoint]]
name = "{mirror}"

# Where the pinger calls the fuzzer.
[[endpoint]]
name = "{inbox}"

# The fuzzer's report.
[[endpoint]]
name = "{printer}"

# Only the fuzzer receives here: the checker's send ends when it is gone.
[[endpoint]]
name = "{lifeline}"
"#,
            sink = n("sink", cpu),
            mirror = n("mirror", cpu),
            inbox = n("inbox", cpu),
            printer = n("printer", cpu),
            lifeline = n("lifeline", cpu),
        );
    }
    text.push_str(
        r#"
[[program]]
name = "console"
crate = "console"
priority = 6
io = ["serial"]
irqs = [4]
handles = [{ endpoint = "console", rights = ["recv"] }]
"#,
    );
    let fuzzers: Vec<String> = (0..cpus).map(|cpu| format!("\"{}\"", n("fuzzer", cpu))).collect();
    let _ = write!(
        text,
        r#"
[[program]]
name = "checker"
crate = "fuzzer"
bin = "fuzz-checker"
priority = 5
spawns = [{spawns}]
"#,
        spawns = fuzzers.join(", ")
    );
    if several {
        let _ = writeln!(text, "args = \"instances={cpus}\"");
    }
    let _ = write!(
        text,
        r#"handles = [
    {{ endpoint = "console", rights = ["send"] }},
    {{ endpoint = "{lifeline}", rights = ["send"] }},
"#,
        lifeline = n("lifeline", 0)
    );
    for cpu in 1..cpus {
        let _ = writeln!(
            text,
            "    {{ endpoint = \"{}\", rights = [\"send\"] }},",
            n("lifeline", cpu)
        );
    }
    text.push_str("]\n");
    // A fuzzer named for its CPU names its binary.
    let bin = match bin {
        "" if several => "bin = \"fuzzer\"\n",
        bin => bin,
    };
    for (cpu, irq) in FUZZER_IRQS.into_iter().enumerate().take(cpus) {
        let pin = if several {
            format!("cpus = [{cpu}]\n")
        } else {
            String::new()
        };
        if several {
            let _ = write!(
                text,
                "\n# The fuzzer on CPU {cpu} and its peers, pinned there: on its CPU the\n\
                 # sink and the mirror answer every message before the fuzzer runs again.\n"
            );
        }
        let _ = write!(
            text,
            r#"
[[program]]
name = "{printer}"
crate = "fuzzer"
bin = "fuzz-printer"
priority = 4
{pin}handles = [
    {{ endpoint = "console", rights = ["send"] }},
    {{ endpoint = "{printer}", rights = ["recv"] }},
]

[[program]]
name = "{sink}"
crate = "fuzzer"
bin = "fuzz-peer"
priority = 4
{pin}args = "mode=sink"
handles = [
    {{ endpoint = "console", rights = ["send"] }},
    {{ endpoint = "{sink}", rights = ["recv"] }},
]

[[program]]
name = "{mirror}"
crate = "fuzzer"
bin = "fuzz-peer"
priority = 4
{pin}args = "mode=mirror"
handles = [
    {{ endpoint = "console", rights = ["send"] }},
    {{ endpoint = "{mirror}", rights = ["recv"] }},
]

[[program]]
name = "{fuzzer}"
crate = "fuzzer"
{bin}priority = 3
{pin}start = "spawn"
spawns = ["{pinger}", "{victim}"]
args = "{args}"
# An ISA line no device of the machine uses: it never fires.
irqs = [{irq}]
handles = [
    {{ endpoint = "{sink}", rights = ["send", "transfer"] }},
    {{ endpoint = "{mirror}", rights = ["send", "transfer"] }},
    {{ endpoint = "{inbox}", rights = ["send", "recv", "transfer"] }},
    {{ endpoint = "{printer}", rights = ["send"] }},
    {{ endpoint = "{lifeline}", rights = ["recv"] }},
]

[[program]]
name = "{pinger}"
crate = "fuzzer"
bin = "fuzz-pinger"
priority = 3
{pin}start = "spawn"
args = "seed={pinger_seed}"
handles = [
    {{ endpoint = "console", rights = ["send"] }},
    {{ endpoint = "{inbox}", rights = ["send"], badge = 1 }},
    {{ endpoint = "{lifeline}", rights = ["send"] }},
]

[[program]]
name = "{victim}"
crate = "fuzzer"
bin = "fuzz-victim"
priority = 2
{pin}start = "spawn"
handles = [
    {{ endpoint = "console", rights = ["send"] }},
    {{ endpoint = "{inbox}", rights = ["send"], badge = 2 }},
]
"#,
            printer = n("printer", cpu),
            sink = n("sink", cpu),
            mirror = n("mirror", cpu),
            inbox = n("inbox", cpu),
            lifeline = n("lifeline", cpu),
            fuzzer = n("fuzzer", cpu),
            pinger = n("pinger", cpu),
            victim = n("victim", cpu),
            args = args(cpu),
            pinger_seed = seed + cpu as u64,
        );
    }
    text
}

/// The image's manifest for one seed.
pub fn manifest(seed: u64, calls: u64) -> Result<Manifest, Error> {
    smp_manifest(seed, 1, calls)
}

/// The image of [`smp_manifest_toml`] (`fuzz`, or `fuzz-Ncpus`).
pub fn smp_manifest(seed: u64, cpus: usize, calls: u64) -> Result<Manifest, Error> {
    let base = crate::workspace_root().join("manifests");
    let mut manifest = Manifest::from_toml_str(&smp_manifest_toml(seed, cpus, calls), &base)?;
    manifest.name = if cpus > 1 {
        format!("fuzz-{cpus}cpus")
    } else {
        "fuzz".into()
    };
    Ok(manifest)
}

/// How one fuzzer of a boot went.
#[derive(Clone, Debug, PartialEq)]
pub struct Instance {
    /// Its CPU, which is its instance number.
    pub cpu: usize,
    pub seed: u64,
    /// Calls it was asked to make.
    pub wanted: u64,
    /// Calls its summary reports, if it printed one.
    pub calls: Option<u64>,
    /// Violations its summary reports.
    pub violations: Option<u64>,
    /// The outcomes of the calls per syscall (`unknown`, `all`): outcome
    /// (`ok`, `EFAULT`, ...) → calls.
    pub outcomes: BTreeMap<String, BTreeMap<String, u64>>,
    /// Ticks its summary reports, and the tick it started fuzzing at.
    pub ticks: Option<u64>,
    pub start_tick: Option<u64>,
    /// Everything that makes this fuzzer's run a failure.
    pub problems: Vec<String>,
}

impl Instance {
    /// The ticks during which it fuzzed, if its summary says.
    fn span(&self) -> Option<(u64, u64)> {
        Some((self.start_tick?, self.start_tick? + self.ticks?))
    }
}

/// How one boot went.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// Each fuzzer, by CPU.
    pub instances: Vec<Instance>,
    /// Whether the checker found the counters unchanged (`None`: it said
    /// nothing).
    pub unchanged: Option<bool>,
    pub status: GuestStatus,
    pub wall: Duration,
    /// Everything about the whole boot that makes it a failure (the
    /// fuzzers' own problems are theirs).
    pub problems: Vec<String>,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.problems.is_empty() && self.instances.iter().all(|instance| instance.problems.is_empty())
    }

    /// Every problem, the fuzzers' saying which CPU's.
    pub fn all_problems(&self) -> Vec<String> {
        let several = self.instances.len() > 1;
        let mut all = self.problems.clone();
        for instance in &self.instances {
            for problem in &instance.problems {
                all.push(if several {
                    format!("CPU {} (seed {}): {problem}", instance.cpu, instance.seed)
                } else {
                    problem.clone()
                });
            }
        }
        all
    }
}

/// Reads `ok:8311 EFAULT:10047` (the value of a `fuzz.outcomes.*` key).
pub fn parse_outcomes(value: &str) -> Option<BTreeMap<String, u64>> {
    value
        .split_whitespace()
        .map(|pair| {
            let (outcome, count) = pair.split_once(':')?;
            Some((outcome.to_string(), count.parse().ok()?))
        })
        .collect()
}

/// The status of every exit of `name` the serial output reports.
fn exit_statuses<'a>(serial: &'a str, name: &'a str) -> impl Iterator<Item = i64> + 'a {
    crate::endings::find(serial)
        .into_iter()
        .filter(move |ended| ended.name == name)
        .filter_map(|ended| match ended.how {
            Ending::Exited(status) => Some(status),
            _ => None,
        })
}

/// Judges a run of the fuzz image of `cpus` fuzzers (the first with
/// `seed`), each asked for `wanted` calls.
pub fn judge(outcome: &RunOutcome, seed: u64, cpus: usize, wanted: u64) -> Verdict {
    judge_serial(outcome.status, &outcome.serial, outcome.wall, seed, cpus, wanted)
}

/// What the fuzzer on CPU `cpu` of `cpus` reported.
fn judge_instance(serial: &str, cpu: usize, cpus: usize, seed: u64, wanted: u64) -> Instance {
    let mut problems = Vec::new();
    let printer_name = program(PRINTER, cpu, cpus);
    let printer = Values::read(serial, &printer_name);
    let (calls, violations, ticks) = (printer.number(CALLS), printer.number(VIOLATIONS), printer.number(TICKS));
    let mut outcomes = BTreeMap::new();
    for key in printer.keys_with_prefix(OUTCOMES) {
        let value = printer.get(key).unwrap_or("");
        match parse_outcomes(value) {
            Some(counts) => {
                outcomes.insert(key[OUTCOMES.len()..].to_string(), counts);
            }
            None => problems.push(format!("{key}={value}: not outcome:count pairs")),
        }
    }
    if calls.is_none() {
        problems.push("the fuzzer printed no summary".into());
    } else {
        if printer.number(SEED) != Some(seed) {
            problems.push(format!("the summary is not for seed {seed}"));
        }
        if printer.number(INSTANCE) != Some(cpu as u64) {
            problems.push(format!("the summary is not of instance {cpu}"));
        }
        if calls != Some(wanted) {
            problems.push(format!("the fuzzer made {calls:?} calls, not {wanted}"));
        }
        match violations {
            Some(0) => {}
            Some(count) => problems.push(format!("{count} violations")),
            None => problems.push("the summary has no violation count".into()),
        }
    }
    let violation_lines = printer.other_lines().filter(|line| line.contains(VIOLATION));
    for line in violation_lines.take(5) {
        problems.push(line.trim().to_string());
    }
    let fuzzer = program("fuzzer", cpu, cpus);
    if !exit_statuses(serial, &fuzzer).any(|status| status == 0) {
        problems.push(format!("{fuzzer} did not exit with status 0"));
    }
    Instance {
        cpu,
        seed,
        wanted,
        calls,
        violations,
        outcomes,
        ticks,
        start_tick: printer.number(START_TICK),
        problems,
    }
}

/// [`judge`] from the run's exit status, serial output and wall time.
pub fn judge_serial(status: GuestStatus, serial: &str, wall: Duration, seed: u64, cpus: usize, wanted: u64) -> Verdict {
    let cpus = cpus.max(1);
    let mut problems = Vec::new();
    if status != GuestStatus::Exited(abi::machine::EXIT_SUCCESS) {
        problems.push(format!("the guest did not finish cleanly: {status}"));
    }
    let instances: Vec<Instance> = (0..cpus)
        .map(|cpu| judge_instance(serial, cpu, cpus, seed + cpu as u64, wanted))
        .collect();
    // Several fuzzers must have fuzzed at the same time: some tick when
    // every one of them was at work.
    let spans: Vec<(u64, u64)> = instances.iter().filter_map(Instance::span).collect();
    if cpus > 1 && spans.len() == cpus {
        let latest_start = spans.iter().map(|span| span.0).max().unwrap_or(0);
        let earliest_end = spans.iter().map(|span| span.1).min().unwrap_or(0);
        if latest_start >= earliest_end {
            problems.push(format!("the fuzzers did not run at the same time (ticks {spans:?})"));
        }
    }
    let checker = Values::read(serial, CHECKER);
    let unchanged = match checker.checks().get(COUNTERS_BACK) {
        Some(&verdict) if verdict == PASS => Some(true),
        Some(_) => {
            let changed: Vec<String> = checker
                .keys_with_prefix("before.")
                .into_iter()
                .filter_map(|before| {
                    let name = &before["before.".len()..];
                    let (a, b) = (checker.get(before)?, checker.get(&format!("after.{name}"))?);
                    (a != b).then(|| format!("{name} {a} != {b}"))
                })
                .collect();
            problems.push(format!("the counters CHANGED: {}", changed.join(", ")));
            Some(false)
        }
        None => {
            problems.push("the checker printed no counters".into());
            None
        }
    };
    if !exit_statuses(serial, CHECKER).any(|status| status == 0) {
        problems.push(format!("{CHECKER} did not exit with status 0"));
    }
    for ended in crate::endings::find(serial) {
        // The fuzzers kill victims (`process_kill`) on purpose.
        if is_victim(&ended.name) && ended.text.contains("] killed by process ") {
            continue;
        }
        if ended.how != Ending::Exited(0) {
            problems.push(ended.text);
        }
    }
    Verdict {
        instances,
        unchanged,
        status,
        wall,
        problems,
    }
}

/// Builds the image of `cpus` fuzzers (the first with `seed`) and boots
/// it under TCG (`parallel`: one host thread per CPU), for at most
/// `timeout` (`None`: no limit); `echo` streams the serial output.
pub fn run_boot(
    seed: u64,
    cpus: usize,
    calls: u64,
    parallel: bool,
    timeout: Option<Duration>,
    echo: bool,
) -> Result<(Verdict, RunOutcome), Error> {
    let manifest = smp_manifest(seed, cpus, calls)?;
    let image = crate::build_image(&manifest, &manifest.name)?;
    let options = RunOptions {
        accel: Accel::Tcg,
        timeout,
        echo,
        parallel,
        ..RunOptions::default()
    };
    let outcome = crate::run(&image, &options)?;
    Ok((judge(&outcome, seed, cpus, calls), outcome))
}

/// [`run_boot`] of the one-CPU image.
pub fn run_seed(seed: u64, calls: u64, timeout: Option<Duration>, echo: bool) -> Result<(Verdict, RunOutcome), Error> {
    run_boot(seed, 1, calls, false, timeout, echo)
}

/// The results table of several boots: a line per fuzzer, with its seed
/// and CPU (the counters and the wall time are the boot's).
pub fn table(verdicts: &[Verdict]) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{:>20}  {:>3}  {:>10}  {:>10}  {:>9}  {:>8}  {:>9}  result",
        "seed", "cpu", "calls", "violations", "counters", "ticks", "wall"
    );
    let shown = |value: Option<u64>| value.map_or("-".to_string(), |v| v.to_string());
    for verdict in verdicts {
        let counters = match verdict.unchanged {
            Some(true) => "unchanged",
            Some(false) => "CHANGED",
            None => "-",
        };
        for instance in &verdict.instances {
            let passed = verdict.problems.is_empty() && instance.problems.is_empty();
            let _ = writeln!(
                text,
                "{:>20}  {:>3}  {:>10}  {:>10}  {:>9}  {:>8}  {:>7.1} s  {}",
                instance.seed,
                instance.cpu,
                shown(instance.calls),
                shown(instance.violations),
                counters,
                shown(instance.ticks),
                verdict.wall.as_secs_f64(),
                if passed { "ok" } else { "FAILED" }
            );
        }
    }
    let instances = || verdicts.iter().flat_map(|verdict| &verdict.instances);
    let seeds = instances().count();
    let total: u64 = instances().filter_map(|instance| instance.calls).sum();
    let failed = verdicts
        .iter()
        .flat_map(|verdict| {
            let boot_failed = !verdict.problems.is_empty();
            verdict
                .instances
                .iter()
                .map(move |instance| boot_failed || !instance.problems.is_empty())
        })
        .filter(|failed| *failed)
        .count();
    let wall: f64 = verdicts.iter().map(|v| v.wall.as_secs_f64()).sum();
    let boots = if seeds == verdicts.len() {
        String::new()
    } else {
        let plural = if verdicts.len() == 1 { "" } else { "s" };
        format!(" ({} boot{plural}, a fuzzer per CPU)", verdicts.len())
    };
    let _ = writeln!(
        text,
        "{seeds} seeds{boots}, {total} calls, {failed} failed, {wall:.1} s"
    );
    text
}

/// `cargo xtask fuzz`: runs every boot, streaming the serial output, then
/// prints the table. Exit status 0 when every run passed, 1 otherwise.
pub fn run_command(options: &FuzzOptions) -> Result<u8, Error> {
    let cpus = options.cpus.max(1);
    let mut verdicts = Vec::new();
    for boot in 0..options.seeds {
        let seed = options.seed + boot * cpus as u64;
        if cpus == 1 {
            eprintln!("xtask: fuzz: seed {seed}, {} calls", options.calls);
        } else {
            let last = seed + cpus as u64 - 1;
            eprintln!(
                "xtask: fuzz: {cpus} fuzzers at once, one per CPU, seeds {seed} to {last} (CPU I: seed {seed} + I), {} calls each",
                options.calls
            );
        }
        let (verdict, outcome) = run_boot(seed, cpus, options.calls, options.parallel, options.timeout, true)?;
        for line in &outcome.symbolized {
            eprintln!("xtask: {line}");
        }
        let seeds = if cpus == 1 {
            format!("seed {seed}")
        } else {
            format!("seeds {seed} to {}", seed + cpus as u64 - 1)
        };
        if verdict.passed() {
            eprintln!("xtask: fuzz: {seeds} passed in {:.1} s", verdict.wall.as_secs_f64());
        } else {
            eprintln!("xtask: fuzz: {seeds} FAILED:");
            for problem in verdict.all_problems() {
                eprintln!("xtask:     {problem}");
            }
        }
        verdicts.push(verdict);
    }
    print!("{}", table(&verdicts));
    Ok(if verdicts.iter().all(Verdict::passed) { 0 } else { 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_is_accepted_and_carries_the_arguments() {
        let manifest = manifest(42, 1234).unwrap();
        let fuzzer = manifest.programs.iter().find(|p| p.name == "fuzzer").unwrap();
        assert_eq!(fuzzer.args, "seed=42 calls=1234");
        assert_eq!(fuzzer.handles.len(), 5, "the handles fuzzer::handles names");
        let pinger = manifest.programs.iter().find(|p| p.name == "pinger").unwrap();
        assert_eq!(pinger.args, "seed=42");
        let base = crate::workspace_root().join("manifests");
        for case in REPRO_CASES {
            let repro = Manifest::from_toml_str(&repro_manifest_toml(case), &base).unwrap();
            let program = repro.programs.iter().find(|p| p.name == "fuzzer").unwrap();
            assert_eq!(
                (program.bin.as_str(), program.args.clone()),
                ("fuzz-repro", format!("case={case}"))
            );
        }
    }

    /// `manifests/fuzz.toml` is `manifest_toml` with the defaults, for
    /// `cargo xtask run --manifest fuzz`. With `FUZZ_WRITE_MANIFEST=1` in the
    /// environment this test rewrites it.
    #[test]
    fn the_checked_in_manifest_is_the_default_one() {
        let path = crate::workspace_root().join("manifests/fuzz.toml");
        let expected = manifest_toml(DEFAULT_SEED, DEFAULT_CALLS);
        if std::env::var_os("FUZZ_WRITE_MANIFEST").is_some() {
            std::fs::write(&path, &expected).unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text == expected,
            "{} differs from manifest_toml(DEFAULT_SEED, DEFAULT_CALLS) in build/src/fuzz.rs \
             (FUZZ_WRITE_MANIFEST=1 cargo test -p xtask --lib fuzz rewrites it)",
            path.display()
        );
    }

    /// The two-CPU image: a world per CPU, each program of it named for
    /// its CPU and pinned there, the fuzzers told which they are, one
    /// checker spawning both, and every name, endpoint and line distinct.
    #[test]
    fn the_two_cpu_manifest_has_a_world_per_cpu() {
        let manifest = smp_manifest(7, 2, 1000).unwrap();
        assert_eq!((manifest.cpus, manifest.name.as_str()), (2, "fuzz-2cpus"));
        let find = |name: &str| {
            manifest
                .programs
                .iter()
                .find(|p| p.name == name)
                .unwrap_or_else(|| panic!("no program {name}"))
        };
        for cpu in 0..2u32 {
            let seed = 7 + cpu as u64;
            let fuzzer = find(&format!("fuzzer-{cpu}"));
            assert_eq!(
                fuzzer.args,
                format!("seed={seed} calls=1000 instance={cpu} instances=2")
            );
            assert_eq!(fuzzer.handles.len(), 5, "the handles fuzzer::handles names");
            assert_eq!(fuzzer.irqs, vec![FUZZER_IRQS[cpu as usize]]);
            assert_eq!(find(&format!("pinger-{cpu}")).args, format!("seed={seed}"));
            for base in ["printer", "sink", "mirror", "fuzzer", "pinger", "victim"] {
                assert_eq!(find(&format!("{base}-{cpu}")).cpus, vec![cpu], "{base}-{cpu} is pinned");
            }
        }
        let checker = find(CHECKER);
        assert_eq!(checker.args, "instances=2");
        assert_eq!(checker.handles.len(), 3, "console, lifeline-0, lifeline-1");
        assert!(checker.cpus.is_empty() && find("console").cpus.is_empty());
        assert_eq!(manifest.programs.len(), 2 + 2 * 6);
        assert_eq!(smp_manifest_toml(1, 1, 5), manifest_toml(1, 5));
        for cpus in 1..=MAX_CPUS {
            smp_manifest(1, cpus, 10).unwrap();
        }
    }

    fn judged(serial: &str, status: GuestStatus, seed: u64, wanted: u64) -> Verdict {
        judge_serial(status, serial, Duration::from_secs(3), seed, 1, wanted)
    }

    const GOOD: &str = "\
printer[4]: fuzz.outcomes.write=ok:60 EFAULT:30
printer[4]: fuzz.outcomes.unknown=ENOSYS:10
printer[4]: fuzz.instance=0
printer[4]: fuzz.start_tick=3
printer[4]: fuzz.seed=5
printer[4]: fuzz.calls=100
printer[4]: fuzz.violations=0
printer[4]: fuzz.ticks=12
checker[2]: before.available_frames=9
checker[2]: after.available_frames=9
checker[2]: check.counters_back=pass
[console] victim[9] exited with status 0
[console] fuzzer[7] exited with status 0
[console] checker[2] exited with status 0
";

    #[test]
    fn judging() {
        let verdict = judged(GOOD, GuestStatus::Exited(0), 5, 100);
        assert!(verdict.passed(), "{:?}", verdict.all_problems());
        let instance = &verdict.instances[0];
        assert_eq!(
            (instance.calls, instance.violations, instance.ticks, verdict.unchanged),
            (Some(100), Some(0), Some(12), Some(true))
        );
        assert_eq!(instance.outcomes["write"]["EFAULT"], 30);
        assert_eq!(instance.outcomes["unknown"]["ENOSYS"], 10);
        assert!(!judged(GOOD, GuestStatus::Exited(0), 6, 100).passed());
        assert!(!judged(GOOD, GuestStatus::Exited(0), 5, 101).passed());
        assert!(!judged(GOOD, GuestStatus::Exited(18), 5, 100).passed());
        let bad = [
            GOOD.replace("fuzz.violations=0", "fuzz.violations=2"),
            GOOD.replace("after.available_frames=9", "after.available_frames=8")
                .replace("counters_back=pass", "counters_back=fail"),
            GOOD.replace("check.counters_back=pass\n", ""),
            GOOD.replace("fuzzer[7] exited with status 0", "fuzzer[7] exited with status 1"),
            GOOD.replace(
                "victim[9] exited with status 0",
                "victim[9] killed: page fault at 0x0 (read of 0x0, not present)",
            ),
            GOOD.replace("printer[4]: fuzz.calls=100", "printer[4]: nothing"),
            GOOD.replace("ok:60", "ok=60"),
            GOOD.replace("fuzz.instance=0", "fuzz.instance=1"),
            GOOD.replace(
                "fuzz.seed=5",
                "fuzz.seed=5\nprinter[4]: fuzz: VIOLATION seed 5 call 3: oops",
            ),
        ];
        for serial in bad {
            let verdict = judged(&serial, GuestStatus::Exited(0), 5, 100);
            assert!(!verdict.passed(), "{serial}");
        }
        let killed = GOOD.replace(
            "[console] victim[9] exited with status 0",
            "[console] victim[9] killed by process 7 at 0x201000",
        );
        assert!(
            judged(&killed, GuestStatus::Exited(0), 5, 100).passed(),
            "the fuzzer kills victims on purpose"
        );
        let table = table(&[verdict]);
        assert!(table.contains("unchanged") && table.contains(" ok"), "{table}");
    }

    /// Two fuzzers' summaries, each read from its own printer, and the
    /// fuzzers must overlap in time.
    #[test]
    fn judging_two_cpus() {
        let instance = |cpu: usize, seed: u64, start: u64, ticks: u64| {
            format!(
                "printer-{cpu}[{pid}]: fuzz.instance={cpu}\n\
                 printer-{cpu}[{pid}]: fuzz.start_tick={start}\n\
                 printer-{cpu}[{pid}]: fuzz.seed={seed}\n\
                 printer-{cpu}[{pid}]: fuzz.calls=100\n\
                 printer-{cpu}[{pid}]: fuzz.violations=0\n\
                 printer-{cpu}[{pid}]: fuzz.ticks={ticks}\n\
                 [console] victim-{cpu}[20] killed by process 7 at 0x201000\n\
                 [console] fuzzer-{cpu}[{fuzzer}] exited with status 0\n",
                pid = 3 + cpu * 6,
                fuzzer = 6 + cpu * 6,
            )
        };
        let checker = "checker[2]: check.counters_back=pass\n[console] checker[2] exited with status 0\n";
        let serial = format!("{}{}{checker}", instance(0, 8, 3, 40), instance(1, 9, 5, 30));
        let judge = |serial: &str| judge_serial(GuestStatus::Exited(0), serial, Duration::from_secs(3), 8, 2, 100);
        let verdict = judge(&serial);
        assert!(verdict.passed(), "{:?}", verdict.all_problems());
        assert_eq!(
            verdict.instances.iter().map(|i| (i.cpu, i.seed)).collect::<Vec<_>>(),
            [(0, 8), (1, 9)]
        );
        let table = table(&[verdict]);
        assert!(table.contains("2 seeds (1 boot, a fuzzer per CPU)"), "{table}");
        // One after the other: not at once.
        let apart = format!("{}{}{checker}", instance(0, 8, 3, 40), instance(1, 9, 50, 30));
        assert!(!judge(&apart).passed());
        // A violation of the second, its seeds swapped, its fuzzer failed.
        let bad = [
            serial.replace("printer-1[9]: fuzz.violations=0", "printer-1[9]: fuzz.violations=1"),
            serial.replace("printer-1[9]: fuzz.seed=9", "printer-1[9]: fuzz.seed=8"),
            serial.replace("fuzzer-1[12] exited with status 0", "fuzzer-1[12] exited with status 1"),
        ];
        for serial in bad {
            let verdict = judge(&serial);
            assert!(!verdict.passed(), "{serial}");
            let problems = verdict.all_problems();
            assert!(
                problems.iter().any(|problem| problem.starts_with("CPU 1 (seed 9): "))
                    && !problems.iter().any(|problem| problem.starts_with("CPU 0")),
                "{problems:?}"
            );
        }
    }
}
