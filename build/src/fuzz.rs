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
//! A run passes when the guest exits with 0, the fuzzer's summary says it
//! made every call with 0 violations, the checker says the counters are
//! unchanged, both exit with status 0, and no program was killed. The
//! summary and the checker's verdict are `key=value` lines, read with
//! `abi::results`. `docs/reliability.md` describes what the fuzzer
//! generates and checks.

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
/// The program that prints the fuzzer's report (and the reproducers').
pub const PRINTER: &str = "printer";
/// The program that compares the kernel's counters.
pub const CHECKER: &str = "checker";
/// Keys of the fuzzer's summary: the seed, the calls made, the violations
/// found and the ticks it took. It prints them last.
pub const SEED: &str = "fuzz.seed";
pub const CALLS: &str = "fuzz.calls";
pub const VIOLATIONS: &str = "fuzz.violations";
pub const TICKS: &str = "fuzz.ticks";
/// `fuzz.outcomes.SYSCALL=ok:N EFAULT:N ...`, per syscall (`unknown`:
/// numbers not in the table; `all`: every call).
pub const OUTCOMES: &str = "fuzz.outcomes.";
/// The checker's check that every counter came back.
pub const COUNTERS_BACK: &str = "counters_back";
/// How a violation's report (prose for people) starts.
pub const VIOLATION: &str = "fuzz: VIOLATION ";

/// What `cargo xtask fuzz` was asked to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuzzOptions {
    /// The first seed.
    pub seed: u64,
    /// Syscalls per boot.
    pub calls: u64,
    /// Boots, with seeds `seed`, `seed + 1`, ...
    pub seeds: u64,
    /// Limit of each boot; `None`: no limit. `cargo xtask fuzz` gives
    /// [`timeout_for`] the number of calls unless told otherwise.
    pub timeout: Option<Duration>,
}

impl Default for FuzzOptions {
    fn default() -> Self {
        Self {
            seed: DEFAULT_SEED,
            calls: DEFAULT_CALLS,
            seeds: 1,
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

/// The image's manifest for one seed, as TOML.
pub fn manifest_toml(seed: u64, calls: u64) -> String {
    let header = format!(
        "# The syscall fuzzer's image: `cargo xtask fuzz` writes this manifest with\n\
         # the seed and number of calls it is given (build/src/fuzz.rs); see\n\
         # docs/reliability.md. This one has seed {seed} and {calls} calls.\n"
    );
    render(&header, "", &format!("seed={seed} calls={calls}"), seed)
}

/// The interrupt line the fuzzer's manifest grants it (`fuzzer::IRQ_LINE`):
/// one no device of the machine uses.
pub const FUZZER_IRQ: u32 = 5;

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
    render(&header, "bin = \"fuzz-repro\"\n", &format!("case={case}"), 1)
}

/// The manifest text: `header`, then the image with the fuzzer program's
/// `bin` line (empty: the `fuzzer` binary) and `args`.
fn render(header: &str, bin: &str, args: &str, seed: u64) -> String {
    let irq = FUZZER_IRQ;
    format!(
        r#"{header}
[kernel]
cmdline = ""

[[endpoint]]
name = "console"
notices = true

# The fuzzer's console (handle 0): swallows its random writes.
[[endpoint]]
name = "sink"

# Answers every message the fuzzer sends.
[[endpoint]]
name = "mirror"

# Where the pinger calls the fuzzer.
[[endpoint]]
name = "inbox"

# The fuzzer's report.
[[endpoint]]
name = "printer"

# Only the fuzzer receives here: the checker's send ends when it is gone.
[[endpoint]]
name = "lifeline"

# Nobody sends here: the checker sleeps on it.
[[endpoint]]
name = "nap"

[[program]]
name = "console"
crate = "console"
priority = 6
io = ["serial"]
irqs = [4]
handles = [{{ endpoint = "console", rights = ["recv"] }}]

[[program]]
name = "checker"
crate = "fuzzer"
bin = "fuzz-checker"
priority = 5
spawns = ["fuzzer"]
handles = [
    {{ endpoint = "console", rights = ["send"] }},
    {{ endpoint = "lifeline", rights = ["send"] }},
    {{ endpoint = "nap", rights = ["recv"] }},
]

[[program]]
name = "printer"
crate = "fuzzer"
bin = "fuzz-printer"
priority = 4
handles = [
    {{ endpoint = "console", rights = ["send"] }},
    {{ endpoint = "printer", rights = ["recv"] }},
]

[[program]]
name = "sink"
crate = "fuzzer"
bin = "fuzz-peer"
priority = 4
args = "mode=sink"
handles = [
    {{ endpoint = "console", rights = ["send"] }},
    {{ endpoint = "sink", rights = ["recv"] }},
]

[[program]]
name = "mirror"
crate = "fuzzer"
bin = "fuzz-peer"
priority = 4
args = "mode=mirror"
handles = [
    {{ endpoint = "console", rights = ["send"] }},
    {{ endpoint = "mirror", rights = ["recv"] }},
]

[[program]]
name = "fuzzer"
crate = "fuzzer"
{bin}priority = 3
start = "spawn"
spawns = ["pinger", "victim"]
args = "{args}"
# An ISA line no device of the machine uses: it never fires.
irqs = [{irq}]
handles = [
    {{ endpoint = "sink", rights = ["send", "transfer"] }},
    {{ endpoint = "mirror", rights = ["send", "transfer"] }},
    {{ endpoint = "inbox", rights = ["send", "recv", "transfer"] }},
    {{ endpoint = "printer", rights = ["send"] }},
    {{ endpoint = "lifeline", rights = ["recv"] }},
]

[[program]]
name = "pinger"
crate = "fuzzer"
bin = "fuzz-pinger"
priority = 3
start = "spawn"
args = "seed={seed}"
handles = [
    {{ endpoint = "console", rights = ["send"] }},
    {{ endpoint = "inbox", rights = ["send"], badge = 1 }},
    {{ endpoint = "lifeline", rights = ["send"] }},
]

[[program]]
name = "victim"
crate = "fuzzer"
bin = "fuzz-victim"
priority = 2
start = "spawn"
handles = [
    {{ endpoint = "console", rights = ["send"] }},
    {{ endpoint = "inbox", rights = ["send"], badge = 2 }},
]
"#
    )
}

/// The image's manifest for one seed.
pub fn manifest(seed: u64, calls: u64) -> Result<Manifest, Error> {
    let base = crate::workspace_root().join("manifests");
    let mut manifest = Manifest::from_toml_str(&manifest_toml(seed, calls), &base)?;
    manifest.name = "fuzz".into();
    Ok(manifest)
}

/// How one boot went.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub seed: u64,
    /// Calls the fuzzer was asked to make.
    pub wanted: u64,
    /// Calls its summary reports, if it printed one.
    pub calls: Option<u64>,
    /// Violations its summary reports.
    pub violations: Option<u64>,
    /// The outcomes of the calls per syscall (`unknown`, `all`): outcome
    /// (`ok`, `EFAULT`, ...) → calls.
    pub outcomes: BTreeMap<String, BTreeMap<String, u64>>,
    /// Ticks its summary reports.
    pub ticks: Option<u64>,
    /// Whether the checker found the counters unchanged (`None`: it said
    /// nothing).
    pub unchanged: Option<bool>,
    pub status: GuestStatus,
    pub wall: Duration,
    /// Everything that makes the run a failure; empty when it passed.
    pub problems: Vec<String>,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
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

/// Judges a run of the fuzz image with `seed` and `wanted` calls.
pub fn judge(outcome: &RunOutcome, seed: u64, wanted: u64) -> Verdict {
    judge_serial(outcome.status, &outcome.serial, outcome.wall, seed, wanted)
}

/// [`judge`] from the run's exit status, serial output and wall time.
pub fn judge_serial(status: GuestStatus, serial: &str, wall: Duration, seed: u64, wanted: u64) -> Verdict {
    let mut problems = Vec::new();
    if status != GuestStatus::Exited(abi::machine::EXIT_SUCCESS) {
        problems.push(format!("the guest did not finish cleanly: {status}"));
    }
    let printer = Values::read(serial, PRINTER);
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
        if calls != Some(wanted) {
            problems.push(format!("the fuzzer made {calls:?} calls, not {wanted}"));
        }
        match violations {
            Some(0) => {}
            Some(count) => problems.push(format!("{count} violations")),
            None => problems.push("the summary has no violation count".into()),
        }
    }
    for line in serial.lines().filter(|line| line.contains(VIOLATION)).take(5) {
        problems.push(line.trim().to_string());
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
    for name in ["fuzzer", "checker"] {
        if !exit_statuses(serial, name).any(|status| status == 0) {
            problems.push(format!("{name} did not exit with status 0"));
        }
    }
    for ended in crate::endings::find(serial) {
        // The fuzzer kills victims (`process_kill`) on purpose.
        if ended.name == "victim" && ended.text.contains("] killed by process ") {
            continue;
        }
        if ended.how != Ending::Exited(0) {
            problems.push(ended.text);
        }
    }
    Verdict {
        seed,
        wanted,
        calls,
        violations,
        outcomes,
        ticks,
        unchanged,
        status,
        wall,
        problems,
    }
}

/// Builds the image for `seed` and boots it under TCG, for at most
/// `timeout` (`None`: no limit); `echo` streams the serial output.
pub fn run_seed(seed: u64, calls: u64, timeout: Option<Duration>, echo: bool) -> Result<(Verdict, RunOutcome), Error> {
    let manifest = manifest(seed, calls)?;
    let image = crate::build_image(&manifest, &manifest.name)?;
    let options = RunOptions {
        accel: Accel::Tcg,
        timeout,
        echo,
        ..RunOptions::default()
    };
    let outcome = crate::run(&image, &options)?;
    Ok((judge(&outcome, seed, calls), outcome))
}

/// The results table of several runs.
pub fn table(verdicts: &[Verdict]) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{:>20}  {:>10}  {:>10}  {:>9}  {:>8}  {:>9}  result",
        "seed", "calls", "violations", "counters", "ticks", "wall"
    );
    let shown = |value: Option<u64>| value.map_or("-".to_string(), |v| v.to_string());
    for verdict in verdicts {
        let counters = match verdict.unchanged {
            Some(true) => "unchanged",
            Some(false) => "CHANGED",
            None => "-",
        };
        let _ = writeln!(
            text,
            "{:>20}  {:>10}  {:>10}  {:>9}  {:>8}  {:>7.1} s  {}",
            verdict.seed,
            shown(verdict.calls),
            shown(verdict.violations),
            counters,
            shown(verdict.ticks),
            verdict.wall.as_secs_f64(),
            if verdict.passed() { "ok" } else { "FAILED" }
        );
    }
    let total: u64 = verdicts.iter().filter_map(|v| v.calls).sum();
    let wall: f64 = verdicts.iter().map(|v| v.wall.as_secs_f64()).sum();
    let failed = verdicts.iter().filter(|v| !v.passed()).count();
    let _ = writeln!(
        text,
        "{} seeds, {total} calls, {failed} failed, {wall:.1} s",
        verdicts.len()
    );
    text
}

/// `cargo xtask fuzz`: runs every seed, streaming the serial output, then
/// prints the table. Exit status 0 when every run passed, 1 otherwise.
pub fn run_command(options: &FuzzOptions) -> Result<u8, Error> {
    let mut verdicts = Vec::new();
    for seed in options.seed..options.seed + options.seeds {
        eprintln!("xtask: fuzz: seed {seed}, {} calls", options.calls);
        let (verdict, outcome) = run_seed(seed, options.calls, options.timeout, true)?;
        for line in &outcome.symbolized {
            eprintln!("xtask: {line}");
        }
        if verdict.passed() {
            eprintln!("xtask: fuzz: seed {seed} passed in {:.1} s", verdict.wall.as_secs_f64());
        } else {
            eprintln!("xtask: fuzz: seed {seed} FAILED:");
            for problem in &verdict.problems {
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

    fn judged(serial: &str, status: GuestStatus, seed: u64, wanted: u64) -> Verdict {
        judge_serial(status, serial, Duration::from_secs(3), seed, wanted)
    }

    const GOOD: &str = "\
printer[4]: fuzz.outcomes.write=ok:60 EFAULT:30
printer[4]: fuzz.outcomes.unknown=ENOSYS:10
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
        assert!(verdict.passed(), "{:?}", verdict.problems);
        assert_eq!(
            (verdict.calls, verdict.violations, verdict.ticks, verdict.unchanged),
            (Some(100), Some(0), Some(12), Some(true))
        );
        assert_eq!(verdict.outcomes["write"]["EFAULT"], 30);
        assert_eq!(verdict.outcomes["unknown"]["ENOSYS"], 10);
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
}
