//! `cargo xtask bench`: boots `manifests/bench.toml`, collects the `key=value`
//! lines its coordinator prints, and reports them beside reference figures.
//!
//! The method: QEMU TCG with `-icount shift=0,align=off`. The guest TSC then
//! advances by exactly one per executed guest instruction, so the in-guest
//! benchmarks' TSC medians are instruction counts, identical on every run
//! and on every host. Wall time comes from a second boot without icount,
//! whose TSC counts are turned into nanoseconds with the coordinator's
//! `bench.tsc_per_tick` (TSC units per timer tick).
//!
//! - [`linux`]: the Linux peer, for `--compare`.
//! - [`breakdown`]: where the instructions of one IPC round trip go, per
//!   function, from QEMU's execution log (`--breakdown`).

pub mod breakdown;
pub mod linux;

use crate::Error;
use crate::image::{BuildOptions, Image, build_image_with};
use crate::manifest::Manifest;
use crate::qemu::{Accel, GuestStatus, Machine, RunOptions, RunOutcome};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub use breakdown::Breakdown;
pub use linux::LinuxPeer;

/// The manifest `cargo xtask bench` boots (`manifests/bench.toml`).
pub const MANIFEST: &str = "bench";
/// How long one boot of the benchmark image may take.
pub const TIMEOUT: Duration = Duration::from_secs(120);
/// The timer rate assumed when the kernel does not print it at boot.
pub const DEFAULT_TICK_HZ: u64 = 100;

/// The figures the coordinator prints, in its order: per-operation medians
/// in TSC units. `bench.*` keys are about the run, not benchmarks.
pub const BENCHMARKS: &[&str] = &[
    "loop.empty",
    "null_syscall",
    "get_ticks",
    "ipc_roundtrip.words_0",
    "ipc_roundtrip.words_1",
    "ipc_roundtrip.words_4",
    "ipc_roundtrip.words_6",
    "ipc_roundtrip.bytes_64",
    "ipc_roundtrip.bytes_4096",
    "write_64_bytes",
    "yield_switch",
    "spawn_exit",
];

/// The coordinator's first and last lines.
pub const BEGIN: &str = "bench.status=begin";
pub const DONE: &str = "bench.status=done";

/// seL4 (fastpath, release build, one core, sel4bench) measured the same
/// way, in guest instructions: the fixed reference of every report.
pub mod sel4 {
    /// Null syscall.
    pub const NULL_SYSCALL: u64 = 90;
    /// `seL4_Call` one way across address spaces, 0 message words.
    pub const CALL: u64 = 199;
    /// `seL4_ReplyRecv` one way, 0 message words.
    pub const REPLY_RECV: u64 = 226;
    /// Call + reply round trip, 0 message words.
    pub const ROUND_TRIP: u64 = CALL + REPLY_RECV;
    /// `seL4_Call` one way with 10 message words.
    pub const CALL_WORDS_10: u64 = 835;
    /// `seL4_ReplyRecv` one way with 10 message words.
    pub const REPLY_RECV_WORDS_10: u64 = 799;
    /// Call + reply round trip with 10 message words.
    pub const ROUND_TRIP_WORDS_10: u64 = CALL_WORDS_10 + REPLY_RECV_WORDS_10;

    /// Our benchmark → the seL4 figure it compares with.
    pub fn reference(benchmark: &str) -> Option<u64> {
        match benchmark {
            "null_syscall" => Some(NULL_SYSCALL),
            "ipc_roundtrip.words_0" => Some(ROUND_TRIP),
            _ => None,
        }
    }
}

/// A decimal figure with two decimals, kept exactly as hundredths (the
/// coordinator prints medians times 100 with two decimals).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hundredths(pub u64);

impl Hundredths {
    /// Parses `47`, `47.5` or `1959.02` (at most two decimals, no sign).
    pub fn parse(text: &str) -> Option<Self> {
        let (whole, fraction) = match text.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (text, None),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || fraction.is_some_and(|f| f.len() > 2 || !digits(f)) {
            return None;
        }
        let whole: u64 = whole.parse().ok()?;
        let fraction: u64 = match fraction {
            None => 0,
            Some(f) if f.len() == 1 => f.parse::<u64>().ok()? * 10,
            Some(f) => f.parse().ok()?,
        };
        whole.checked_mul(100)?.checked_add(fraction).map(Self)
    }

    pub fn as_f64(self) -> f64 {
        self.0 as f64 / 100.0
    }
}

/// `47` for whole numbers, `1959.02` otherwise.
impl fmt::Display for Hundredths {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = if self.0.is_multiple_of(100) {
            format!("{}", self.0 / 100)
        } else {
            format!("{}.{:02}", self.0 / 100, self.0 % 100)
        };
        f.pad(&text)
    }
}

/// What one boot of the benchmark image printed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GuestFigures {
    /// Benchmark → median per operation in TSC units, in the order printed.
    pub figures: Vec<(String, Hundredths)>,
    /// The `bench.*` lines other than the status (`bench.tsc_per_tick`, ...).
    pub about: BTreeMap<String, String>,
    /// The kernel's timer rate (`timer: 100 Hz` at boot), if it said.
    pub tick_hz: Option<u64>,
}

impl GuestFigures {
    pub fn get(&self, benchmark: &str) -> Option<Hundredths> {
        self.figures
            .iter()
            .find(|(key, _)| key == benchmark)
            .map(|&(_, value)| value)
    }

    /// TSC units per timer tick, as the coordinator measured it.
    pub fn tsc_per_tick(&self) -> Option<u64> {
        self.about.get("bench.tsc_per_tick")?.parse().ok().filter(|&t| t > 0)
    }
}

/// Splits `bench[6]: key=value` into the program prefix (`bench[6]`) and the
/// rest; lines without such a prefix have none.
fn split_prefix(line: &str) -> (Option<&str>, &str) {
    if let Some((prefix, rest)) = line.split_once("]: ")
        && let Some((name, pid)) = prefix.split_once('[')
        && !name.is_empty()
        && !name.contains(char::is_whitespace)
        && !pid.is_empty()
        && pid.bytes().all(|b| b.is_ascii_digit())
    {
        return (Some(prefix), rest);
    }
    (None, line)
}

fn is_key(key: &str) -> bool {
    !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

/// Collects the coordinator's lines between [`BEGIN`] and [`DONE`] from the
/// serial output (the console prefixes them with `bench[pid]: `; lines of
/// other programs are skipped).
pub fn parse_guest(serial: &str) -> Result<GuestFigures, String> {
    let mut result = GuestFigures::default();
    let mut program: Option<Option<&str>> = None;
    let mut done = false;
    for line in serial.lines() {
        let line = line.trim_end_matches('\r');
        let (prefix, rest) = split_prefix(line);
        let rest = rest.trim();
        if let Some(hz) = timer_hz(line) {
            result.tick_hz.get_or_insert(hz);
        }
        match program {
            None if rest == BEGIN => program = Some(prefix),
            None => {}
            Some(begun) if begun != prefix => {}
            Some(_) if rest == DONE => {
                done = true;
                break;
            }
            Some(_) => {
                let Some((key, value)) = rest.split_once('=').filter(|(key, _)| is_key(key)) else {
                    continue;
                };
                if key.starts_with("bench.") {
                    result.about.insert(key.to_string(), value.to_string());
                } else {
                    let figure = Hundredths::parse(value)
                        .ok_or_else(|| format!("`{rest}`: the value is not a decimal number"))?;
                    if result.get(key).is_some() {
                        return Err(format!("`{key}` is printed twice"));
                    }
                    result.figures.push((key.to_string(), figure));
                }
            }
        }
    }
    match (program, done) {
        (None, _) => Err(format!("the guest never printed `{BEGIN}`")),
        (Some(_), false) => Err(format!("the guest never printed `{DONE}`")),
        (Some(_), true) => Ok(result),
    }
}

/// The kernel's boot line `... timer: 100 Hz, ...` → 100.
fn timer_hz(line: &str) -> Option<u64> {
    let (_, tail) = line.split_once("timer: ")?;
    let (number, rest) = tail.split_once(' ')?;
    if !rest.starts_with("Hz") {
        return None;
    }
    number.parse().ok().filter(|&hz| hz > 0)
}

/// The smallest, middle and largest of some runs' values (the middle is the
/// lower median for an even number of runs: always one of the values).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread<T> {
    pub min: T,
    pub median: T,
    pub max: T,
}

impl<T: Copy + PartialOrd> Spread<T> {
    pub fn of(values: &[T]) -> Option<Self> {
        let mut sorted = values.to_vec();
        sorted.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        Some(Self {
            min: *sorted.first()?,
            median: sorted[(sorted.len() - 1) / 2],
            max: *sorted.last()?,
        })
    }

    pub fn identical(&self) -> bool {
        self.min == self.max
    }
}

/// What `cargo xtask bench` does.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchOptions {
    /// The accelerator of the wall-time boots (the icount boots are TCG).
    pub accel: Accel,
    /// Boot under icount (the method); `--no-icount` turns it off.
    pub icount: bool,
    /// Run the Linux peer and compare.
    pub compare: bool,
    /// Boots of each kind.
    pub runs: usize,
    /// Where the instructions of one IPC round trip go.
    pub breakdown: bool,
    /// Also write the report as JSON to this file.
    pub json: Option<PathBuf>,
    /// Limit of each boot; `None`: no limit.
    pub timeout: Option<Duration>,
    /// Progress and cargo's output on stderr.
    pub echo: bool,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            accel: Accel::Tcg,
            icount: true,
            compare: false,
            runs: 1,
            breakdown: false,
            json: None,
            timeout: Some(TIMEOUT),
            echo: true,
        }
    }
}

impl BenchOptions {
    /// Combinations that make no sense.
    pub fn check(&self) -> Result<(), String> {
        if self.runs == 0 {
            return Err("--runs needs at least 1".into());
        }
        if !self.icount && self.compare {
            return Err("--compare compares instruction counts: it needs the icount boots (drop --no-icount)".into());
        }
        if !self.icount && self.breakdown {
            return Err("--breakdown checks its total against the icount figures (drop --no-icount)".into());
        }
        Ok(())
    }
}

/// Instruction counts of the icount boots.
#[derive(Clone, Debug, PartialEq)]
pub struct IcountFigures {
    /// Benchmark → spread over the runs, in the coordinator's order.
    pub figures: Vec<(String, Spread<Hundredths>)>,
    /// Every run printed the same counts.
    pub identical: bool,
    /// Wall-clock time of each boot.
    pub walls: Vec<Duration>,
}

impl IcountFigures {
    pub fn from_runs(runs: &[GuestFigures], walls: Vec<Duration>) -> Self {
        let figures: Vec<(String, Spread<Hundredths>)> = keys_of(runs)
            .into_iter()
            .filter_map(|key| {
                let values: Vec<Hundredths> = runs.iter().filter_map(|run| run.get(&key)).collect();
                Spread::of(&values).map(|spread| (key, spread))
            })
            .collect();
        let identical = runs.windows(2).all(|pair| pair[0].figures == pair[1].figures);
        Self {
            figures,
            identical,
            walls,
        }
    }

    pub fn get(&self, benchmark: &str) -> Option<Spread<Hundredths>> {
        self.figures
            .iter()
            .find(|(key, _)| key == benchmark)
            .map(|&(_, spread)| spread)
    }

    /// The median instruction count of a benchmark.
    pub fn median(&self, benchmark: &str) -> Option<f64> {
        self.get(benchmark).map(|spread| spread.median.as_f64())
    }
}

/// Every benchmark key of some runs, in the order the first run printed them.
fn keys_of(runs: &[GuestFigures]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for run in runs {
        for (key, _) in &run.figures {
            if !keys.contains(key) {
                keys.push(key.clone());
            }
        }
    }
    keys
}

/// Wall-clock figures of the boots without icount.
#[derive(Clone, Debug, PartialEq)]
pub struct WallFigures {
    /// The accelerator used.
    pub accel: Accel,
    /// Benchmark → nanoseconds per operation over the runs.
    pub figures: Vec<(String, Spread<f64>)>,
    /// TSC units per timer tick over the runs.
    pub tsc_per_tick: Spread<u64>,
    /// Timer ticks per second.
    pub tick_hz: u64,
    pub walls: Vec<Duration>,
}

impl WallFigures {
    /// Turns each run's TSC units into nanoseconds with its own
    /// `bench.tsc_per_tick`.
    pub fn from_runs(accel: Accel, runs: &[GuestFigures], walls: Vec<Duration>) -> Result<Self, String> {
        let tick_hz = runs.iter().find_map(|run| run.tick_hz).unwrap_or(DEFAULT_TICK_HZ);
        let rates: Vec<u64> = runs
            .iter()
            .map(|run| {
                run.tsc_per_tick()
                    .ok_or_else(|| "the guest printed no usable bench.tsc_per_tick".to_string())
            })
            .collect::<Result<_, _>>()?;
        let tsc_per_tick = Spread::of(&rates).ok_or("no wall-time runs")?;
        let ns_per_tick = 1e9 / tick_hz as f64;
        let figures = keys_of(runs)
            .into_iter()
            .filter_map(|key| {
                let values: Vec<f64> = runs
                    .iter()
                    .zip(&rates)
                    .filter_map(|(run, &rate)| run.get(&key).map(|tsc| tsc.as_f64() * ns_per_tick / rate as f64))
                    .collect();
                Spread::of(&values).map(|spread| (key, spread))
            })
            .collect();
        Ok(Self {
            accel,
            figures,
            tsc_per_tick,
            tick_hz,
            walls,
        })
    }

    pub fn get(&self, benchmark: &str) -> Option<Spread<f64>> {
        self.figures
            .iter()
            .find(|(key, _)| key == benchmark)
            .map(|&(_, spread)| spread)
    }
}

/// Everything one `cargo xtask bench` measured.
#[derive(Clone, Debug)]
pub struct Report {
    /// `git rev-parse --short HEAD` of the workspace, and whether the tree
    /// had changes.
    pub commit: Option<String>,
    pub dirty: bool,
    pub runs: usize,
    pub icount: Option<IcountFigures>,
    pub wall: Option<WallFigures>,
    /// With `--compare`.
    pub linux: Option<LinuxPeer>,
    /// With `--breakdown`.
    pub breakdown: Option<Breakdown>,
}

/// Boots an image once and collects the coordinator's figures. A guest that
/// does not exit with 0 or never prints [`DONE`] is an error that quotes the
/// end of its output.
pub fn boot(image: &Image, options: &RunOptions) -> Result<(GuestFigures, RunOutcome), Error> {
    let outcome = crate::qemu::run(image, options)?;
    let kind = if options.icount { "icount" } else { "wall-time" };
    let failed = |what: String| {
        Error::Bench(format!(
            "the {kind} boot of {}: {what}; the serial output ended with:\n{}",
            image.name,
            tail(&outcome.serial, 12)
        ))
    };
    if outcome.status != GuestStatus::Exited(abi::machine::EXIT_SUCCESS) {
        let mut what = outcome.status.to_string();
        if !outcome.serial.lines().any(|line| split_prefix(line).1.trim() == DONE) {
            what.push_str(&format!(" before `{DONE}`"));
        }
        return Err(failed(what));
    }
    let figures = parse_guest(&outcome.serial).map_err(failed)?;
    Ok((figures, outcome))
}

/// The last `count` lines of `text`, indented.
fn tail(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(count);
    if lines.is_empty() {
        return "    (nothing)".into();
    }
    lines[start..]
        .iter()
        .map(|line| format!("    {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The short commit of the workspace and whether it has uncommitted changes.
pub fn commit() -> (Option<String>, bool) {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(crate::workspace_root())
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string())
    };
    let commit = git(&["rev-parse", "--short", "HEAD"]).filter(|c| !c.is_empty());
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    (commit, dirty)
}

fn progress(options: &BenchOptions, message: impl fmt::Display) {
    if options.echo {
        eprintln!("xtask: bench: {message}");
    }
}

/// Builds the benchmark image, boots it as `options` ask, and gathers the
/// reference figures.
pub fn run(options: &BenchOptions) -> Result<Report, Error> {
    options.check().map_err(Error::Usage)?;
    let manifest = Manifest::load(MANIFEST)?;
    let build = BuildOptions {
        echo_cargo: options.echo,
    };
    let image = build_image_with(&manifest, &manifest.name, &build)?;
    let (commit, dirty) = commit();
    let mut report = Report {
        commit,
        dirty,
        runs: options.runs,
        icount: None,
        wall: None,
        linux: None,
        breakdown: None,
    };

    if options.icount {
        let run_options = RunOptions {
            accel: Accel::Tcg,
            machine: Machine::Microvm,
            timeout: options.timeout,
            icount: true,
            ..RunOptions::default()
        };
        let (runs, walls, _) = boots(options, &image, &run_options, "icount (TCG, -icount shift=0,align=off)")?;
        let icount = IcountFigures::from_runs(&runs, walls);
        if !icount.identical {
            progress(options, "warning: the instruction counts differ between runs");
        }
        report.icount = Some(icount);
    }

    let accel = match options.accel {
        Accel::Kvm => {
            let probe = crate::qemu::probe_kvm(&image, Machine::Microvm)?;
            if !probe.works {
                return Err(Error::Bench(format!(
                    "--accel kvm: KVM does not work on this machine ({}); use --accel tcg or auto",
                    probe.reason
                )));
            }
            Accel::Kvm
        }
        other => other,
    };
    let run_options = RunOptions {
        accel,
        machine: Machine::Microvm,
        timeout: options.timeout,
        echo: false,
        ..RunOptions::default()
    };
    let what = format!("wall time (--accel {})", accel.name());
    let (runs, walls, used) = boots(options, &image, &run_options, &what)?;
    if accel == Accel::Auto {
        progress(options, format_args!("--accel auto chose {}", used.name()));
    }
    report.wall =
        Some(WallFigures::from_runs(used, &runs, walls).map_err(|e| Error::Bench(format!("wall time: {e}")))?);

    if options.breakdown {
        progress(
            options,
            "breakdown: booting the probe with QEMU's execution log (takes a while)",
        );
        let started = Instant::now();
        let benchmark = report
            .icount
            .as_ref()
            .and_then(|icount| icount.get(breakdown::BENCHMARK))
            .map(|spread| spread.median);
        let result = breakdown::run(options.timeout, options.echo, benchmark)?;
        progress(
            options,
            format_args!("breakdown: done in {:.1} s", started.elapsed().as_secs_f64()),
        );
        report.breakdown = Some(result);
    }

    if options.compare {
        progress(
            options,
            "compare: running the Linux peer (the first run downloads a Debian kernel)",
        );
        let started = Instant::now();
        let peer = linux::run(options.echo);
        progress(
            options,
            format_args!("compare: {} in {:.1} s", peer.status(), started.elapsed().as_secs_f64()),
        );
        report.linux = Some(peer);
    }
    Ok(report)
}

/// `options.runs` boots with `run_options`: what each printed, how long each
/// took, and the accelerator used (`auto` resolved).
fn boots(
    options: &BenchOptions,
    image: &Image,
    run_options: &RunOptions,
    what: &str,
) -> Result<(Vec<GuestFigures>, Vec<Duration>, Accel), Error> {
    let mut runs = Vec::new();
    let mut walls = Vec::new();
    let mut accel = run_options.accel;
    for number in 1..=options.runs {
        let (figures, outcome) = boot(image, run_options)?;
        progress(
            options,
            format_args!(
                "{what}: boot {number} of {} done in {:.1} s",
                options.runs,
                outcome.wall.as_secs_f64()
            ),
        );
        runs.push(figures);
        walls.push(outcome.wall);
        accel = outcome.accel;
    }
    Ok((runs, walls, accel))
}

/// A performance target and how today's figures fare.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    /// Stable key: `target.<name>=pass|miss`.
    pub name: &'static str,
    pub description: String,
    /// The figure the target limits (the worst of the figures it covers).
    pub figure: f64,
    /// What the figure is (`null_syscall`, ...).
    pub subject: String,
    pub limit: f64,
    /// Figures over the limit, for targets covering several.
    pub misses: Vec<String>,
}

impl Target {
    pub fn pass(&self) -> bool {
        self.figure <= self.limit
    }

    /// `pass (3 under)` or `miss (by 95)`.
    pub fn verdict(&self) -> String {
        let margin = (self.limit - self.figure).abs();
        if self.pass() {
            format!("pass ({} under)", number(margin))
        } else {
            format!("miss (by {})", number(margin))
        }
    }
}

/// The performance targets (docs/performance.md) that the figures allow to judge. The Linux one
/// needs the Linux peer's pipe round trip.
pub fn targets(icount: &IcountFigures, linux_pipe: Option<f64>) -> Vec<Target> {
    let mut targets = Vec::new();
    if let Some(null) = icount.median("null_syscall") {
        targets.push(Target {
            name: "null_syscall",
            description: "null syscall round trip <= 50".into(),
            figure: null,
            subject: "null_syscall".into(),
            limit: 50.0,
            misses: Vec::new(),
        });
    }
    let words: Vec<(String, f64)> = [
        "ipc_roundtrip.words_0",
        "ipc_roundtrip.words_1",
        "ipc_roundtrip.words_4",
    ]
    .iter()
    .filter_map(|key| icount.median(key).map(|value| (key.to_string(), value)))
    .collect();
    if let Some((worst, figure)) = words.iter().cloned().max_by(|a, b| a.1.total_cmp(&b.1)) {
        targets.push(Target {
            name: "ipc_roundtrip",
            description: "IPC call+reply round trip, 0-4 words <= 300".into(),
            figure,
            subject: worst,
            limit: 300.0,
            misses: words
                .iter()
                .filter(|(_, v)| *v > 300.0)
                .map(|(k, _)| k.clone())
                .collect(),
        });
    }
    if let (Some(write), Some(round_trip)) = (icount.median("write_64_bytes"), icount.median("ipc_roundtrip.words_0")) {
        targets.push(Target {
            name: "write_64_bytes",
            description: format!("64-byte write <= 3 x the IPC round trip (3 x {})", number(round_trip)),
            figure: write,
            subject: "write_64_bytes".into(),
            limit: 3.0 * round_trip,
            misses: Vec::new(),
        });
    }
    if let Some(pipe) = linux_pipe {
        let limit = pipe / 10.0;
        let covered: Vec<(String, f64)> = icount
            .figures
            .iter()
            .filter(|(key, _)| key != "loop.empty")
            .map(|(key, spread)| (key.clone(), spread.median.as_f64()))
            .collect();
        if let Some((worst, figure)) = covered.iter().cloned().max_by(|a, b| a.1.total_cmp(&b.1)) {
            targets.push(Target {
                name: "linux_pipe",
                description: format!(
                    "every figure >= 10x below Linux's pipe round trip ({} / 10)",
                    number(pipe)
                ),
                figure,
                subject: worst,
                limit,
                misses: covered
                    .iter()
                    .filter(|(_, v)| *v > limit)
                    .map(|(k, _)| k.clone())
                    .collect(),
            });
        }
    }
    targets
}

/// `47`, `1959.02`, `12985.2`: at most two decimals, none for whole numbers.
pub fn number(value: f64) -> String {
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" { "0".into() } else { text.into() }
}

fn ratio(ours: f64, theirs: f64) -> String {
    if theirs > 0.0 {
        format!("{:.2}", ours / theirs)
    } else {
        "-".into()
    }
}

/// `47` when all runs agree, `47 [45..49]` otherwise.
fn spread_text<T: Copy + PartialOrd + fmt::Display>(spread: &Spread<T>, show: impl Fn(T) -> String) -> String {
    if spread.identical() {
        show(spread.median)
    } else {
        format!("{} [{}..{}]", show(spread.median), show(spread.min), show(spread.max))
    }
}

fn ns(value: f64) -> String {
    format!("{value:.1}")
}

impl Report {
    /// The `key=value` lines: stable keys, one figure each.
    pub fn key_values(&self) -> Vec<(String, String)> {
        let mut lines: Vec<(String, String)> = Vec::new();
        let mut add = |key: String, value: String| lines.push((key, value));
        add(
            "bench.commit".into(),
            self.commit.clone().unwrap_or_else(|| "unknown".into()),
        );
        add("bench.dirty".into(), yes_no(self.dirty));
        add("bench.runs".into(), self.runs.to_string());
        if let Some(icount) = &self.icount {
            for (key, spread) in &icount.figures {
                add(format!("{key}.instructions"), spread.median.to_string());
                if self.runs > 1 {
                    add(format!("{key}.instructions_min"), spread.min.to_string());
                    add(format!("{key}.instructions_max"), spread.max.to_string());
                }
            }
            add("bench.instructions_identical".into(), yes_no(icount.identical));
        }
        if let Some(wall) = &self.wall {
            add("bench.wall_accel".into(), wall.accel.name().into());
            add("bench.tsc_per_tick".into(), wall.tsc_per_tick.median.to_string());
            add("bench.tick_hz".into(), wall.tick_hz.to_string());
            for (key, spread) in &wall.figures {
                add(format!("{key}.ns"), ns(spread.median));
                if self.runs > 1 {
                    add(format!("{key}.ns_min"), ns(spread.min));
                    add(format!("{key}.ns_max"), ns(spread.max));
                }
            }
        }
        for (key, value) in [
            ("null_syscall", sel4::NULL_SYSCALL),
            ("call", sel4::CALL),
            ("reply_recv", sel4::REPLY_RECV),
            ("ipc_roundtrip.words_0", sel4::ROUND_TRIP),
            ("call.words_10", sel4::CALL_WORDS_10),
            ("reply_recv.words_10", sel4::REPLY_RECV_WORDS_10),
            ("ipc_roundtrip.words_10", sel4::ROUND_TRIP_WORDS_10),
        ] {
            add(format!("sel4.{key}.instructions"), value.to_string());
        }
        if let Some(icount) = &self.icount {
            for (key, spread) in &icount.figures {
                if let Some(reference) = sel4::reference(key) {
                    add(
                        format!("ratio.{key}.sel4"),
                        ratio(spread.median.as_f64(), reference as f64),
                    );
                }
            }
        }
        if let Some(peer) = &self.linux {
            add("linux.status".into(), peer.status().into());
            if let LinuxPeer::Ran { figures, .. } = peer {
                if let Some(kernel) = figures.get("sys.kernel") {
                    add("linux.kernel".into(), kernel.clone());
                }
                for key in linux::FIGURES {
                    if let Some(value) = linux::figure(figures, key) {
                        add(format!("linux.{key}.instructions"), number(value));
                    }
                }
                if let Some(icount) = &self.icount {
                    for comparison in linux::COMPARISONS {
                        if let (Some(ours), Some(theirs)) =
                            (icount.median(comparison.ours), linux::figure(figures, comparison.linux))
                        {
                            add(format!("ratio.{}.linux", comparison.ours), ratio(ours, theirs));
                        }
                    }
                }
            }
        }
        if let Some(icount) = &self.icount {
            for target in targets(icount, self.linux_pipe()) {
                add(
                    format!("target.{}", target.name),
                    (if target.pass() { "pass" } else { "miss" }).into(),
                );
            }
        }
        if let Some(breakdown) = &self.breakdown {
            lines.extend(breakdown.key_values());
        }
        lines
    }

    /// The Linux peer's pipe ping-pong round trip, if it ran.
    pub fn linux_pipe(&self) -> Option<f64> {
        match &self.linux {
            Some(LinuxPeer::Ran { figures, .. }) => linux::figure(figures, linux::PIPE),
            _ => None,
        }
    }

    /// The readable tables.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let commit = match (&self.commit, self.dirty) {
            (Some(commit), true) => format!("commit {commit} (with uncommitted changes)"),
            (Some(commit), false) => format!("commit {commit}"),
            (None, _) => "commit unknown".into(),
        };
        let runs = if self.runs == 1 {
            "1 run".to_string()
        } else {
            format!("{} runs, median [min..max]", self.runs)
        };
        out.push_str(&format!("Benchmarks ({commit}; {runs}; per operation)\n"));
        let wall_header = match &self.wall {
            Some(wall) => format!("{} ns/op", wall.accel.name()),
            None => "ns/op".into(),
        };
        let mut rows = Vec::new();
        let keys: Vec<String> = match (&self.icount, &self.wall) {
            (Some(icount), _) => icount.figures.iter().map(|(key, _)| key.clone()).collect(),
            (None, Some(wall)) => wall.figures.iter().map(|(key, _)| key.clone()).collect(),
            (None, None) => Vec::new(),
        };
        for key in &keys {
            let instructions = self.icount.as_ref().and_then(|icount| icount.get(key));
            let reference = sel4::reference(key);
            rows.push(vec![
                key.clone(),
                instructions.map_or("-".into(), |s| spread_text(&s, |v| v.to_string())),
                self.wall
                    .as_ref()
                    .and_then(|wall| wall.get(key))
                    .map_or("-".into(), |s| spread_text(&s, ns)),
                reference.map_or("-".into(), |r| r.to_string()),
                match (instructions, reference) {
                    (Some(ours), Some(reference)) => ratio(ours.median.as_f64(), reference as f64),
                    _ => "-".into(),
                },
            ]);
        }
        out.push_str(&table(
            &["benchmark", "instructions", &wall_header, "seL4", "ours/seL4"],
            &rows,
        ));
        if let Some(icount) = &self.icount {
            out.push_str(&format!(
                "instructions: TCG with -icount shift=0,align=off (exact guest instructions); {}\n",
                if self.runs == 1 {
                    "one run".to_string()
                } else if icount.identical {
                    format!("identical in all {} runs", self.runs)
                } else {
                    format!("NOT identical across the {} runs", self.runs)
                }
            ));
        }
        if let Some(wall) = &self.wall {
            out.push_str(&format!(
                "{wall_header}: without icount; TSC units per {} ms timer tick: {}\n",
                number(1000.0 / wall.tick_hz as f64),
                spread_text(&wall.tsc_per_tick, |v| v.to_string())
            ));
        }

        out.push_str(&format!(
            "\nseL4 reference (fastpath, release build, one core, sel4bench; measured the same way):\n\
             {}",
            table(
                &["operation", "0 words", "10 words"],
                &[
                    vec!["null syscall".into(), sel4::NULL_SYSCALL.to_string(), "-".into()],
                    vec![
                        "seL4_Call, one way".into(),
                        sel4::CALL.to_string(),
                        sel4::CALL_WORDS_10.to_string()
                    ],
                    vec![
                        "seL4_ReplyRecv, one way".into(),
                        sel4::REPLY_RECV.to_string(),
                        sel4::REPLY_RECV_WORDS_10.to_string()
                    ],
                    vec![
                        "call + reply round trip".into(),
                        sel4::ROUND_TRIP.to_string(),
                        sel4::ROUND_TRIP_WORDS_10.to_string()
                    ],
                ],
            )
        ));

        if let Some(peer) = &self.linux {
            out.push('\n');
            out.push_str(&peer.text(self.icount.as_ref()));
        }

        if let Some(icount) = &self.icount {
            let targets = targets(icount, self.linux_pipe());
            let rows: Vec<Vec<String>> = targets
                .iter()
                .map(|target| {
                    let mut verdict = target.verdict();
                    if target.misses.len() > 1 {
                        verdict.push_str(&format!("; over: {}", target.misses.join(", ")));
                    }
                    vec![
                        target.description.clone(),
                        format!("{} = {}", target.subject, number(target.figure)),
                        verdict,
                    ]
                })
                .collect();
            out.push_str("\nTargets (guest instructions)\n");
            out.push_str(&table(&["target", "figure (worst)", "verdict"], &rows));
            if self.linux_pipe().is_none() {
                out.push_str("(the Linux target needs --compare)\n");
            }
        }

        if let Some(breakdown) = &self.breakdown {
            out.push('\n');
            out.push_str(&breakdown.text());
        }
        out
    }

    /// The whole report as JSON.
    pub fn json(&self) -> Value {
        let icount = self.icount.as_ref().map(|icount| {
            let figures: serde_json::Map<String, Value> = icount
                .figures
                .iter()
                .map(|(key, s)| {
                    (
                        key.clone(),
                        json!({"min": s.min.as_f64(), "median": s.median.as_f64(), "max": s.max.as_f64()}),
                    )
                })
                .collect();
            json!({
                "method": "TCG, -icount shift=0,align=off: guest instructions per operation",
                "identical": icount.identical,
                "boot_seconds": icount.walls.iter().map(Duration::as_secs_f64).collect::<Vec<_>>(),
                "instructions": figures,
            })
        });
        let wall = self.wall.as_ref().map(|wall| {
            let figures: serde_json::Map<String, Value> = wall
                .figures
                .iter()
                .map(|(key, s)| (key.clone(), json!({"min": s.min, "median": s.median, "max": s.max})))
                .collect();
            json!({
                "accel": wall.accel.name(),
                "tick_hz": wall.tick_hz,
                "tsc_per_tick": {"min": wall.tsc_per_tick.min, "median": wall.tsc_per_tick.median, "max": wall.tsc_per_tick.max},
                "boot_seconds": wall.walls.iter().map(Duration::as_secs_f64).collect::<Vec<_>>(),
                "ns_per_op": figures,
            })
        });
        let targets = self.icount.as_ref().map(|icount| {
            targets(icount, self.linux_pipe())
                .iter()
                .map(|t| {
                    json!({
                        "name": t.name,
                        "description": t.description,
                        "subject": t.subject,
                        "figure": t.figure,
                        "limit": t.limit,
                        "pass": t.pass(),
                        "over": t.misses,
                    })
                })
                .collect::<Vec<_>>()
        });
        json!({
            "schema_version": 1,
            "commit": self.commit,
            "dirty": self.dirty,
            "runs": self.runs,
            "icount": icount,
            "wall": wall,
            "sel4": {
                "source": "seL4 fastpath, release build, one core, sel4bench; TCG icount",
                "null_syscall": sel4::NULL_SYSCALL,
                "call": sel4::CALL,
                "reply_recv": sel4::REPLY_RECV,
                "ipc_roundtrip.words_0": sel4::ROUND_TRIP,
                "call.words_10": sel4::CALL_WORDS_10,
                "reply_recv.words_10": sel4::REPLY_RECV_WORDS_10,
                "ipc_roundtrip.words_10": sel4::ROUND_TRIP_WORDS_10,
            },
            "linux": self.linux.as_ref().map(LinuxPeer::json),
            "targets": targets,
            "breakdown": self.breakdown.as_ref().map(Breakdown::json),
        })
    }
}

fn yes_no(value: bool) -> String {
    (if value { "yes" } else { "no" }).into()
}

/// A plain-text table: columns of figures (cells starting with a digit, or
/// `-`) right-aligned, the others left-aligned.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let columns = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    let mut figures = vec![true; columns];
    figures[0] = false;
    for row in rows {
        for (index, cell) in row.iter().enumerate().take(columns) {
            widths[index] = widths[index].max(cell.chars().count());
            if !cell.is_empty() && !cell.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
                figures[index] = false;
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut text = String::from(" ");
        for (index, cell) in cells.iter().enumerate().take(columns) {
            let width = widths[index];
            if figures[index] {
                text.push_str(&format!(" {cell:>width$}"));
            } else {
                text.push_str(&format!(" {cell:<width$}"));
            }
            if index + 1 < columns {
                text.push(' ');
            }
        }
        text.trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERIAL: &str = "\
[kernel] INFO  timer: 100 Hz, 624957 APIC counts per tick (calibrated on PIT channel 0)
[kernel] INFO  boot: started 6 programs
bench[6]: bench.status=begin
bench[6]: loop.empty=2.00
bench[6]: null_syscall=47.00
other[3]: null_syscall=1.00
bench[6]: ipc_roundtrip.words_0=395.00
bench[6]: ipc_roundtrip.words_1=401.00
bench[6]: ipc_roundtrip.words_4=413.00
bench[6]: ipc_roundtrip.bytes_64=1959.02
bench[6]: write_64_bytes=1766.5
bench[6]: spawn_exit=60662.50
bench[6]: bench.tsc_per_tick=9999339
bench[6]: bench.status=done
bench[6]: after=1.00
";

    #[test]
    fn hundredths() {
        assert_eq!(Hundredths::parse("47"), Some(Hundredths(4700)));
        assert_eq!(Hundredths::parse("47.5"), Some(Hundredths(4750)));
        assert_eq!(Hundredths::parse("1959.02"), Some(Hundredths(195902)));
        for bad in ["", ".5", "4.", "-1", "1.234", "x", "1e3"] {
            assert_eq!(Hundredths::parse(bad), None, "{bad}");
        }
        assert_eq!(Hundredths(4700).to_string(), "47");
        assert_eq!(Hundredths(195902).to_string(), "1959.02");
        assert_eq!(Hundredths(4750).to_string(), "47.50");
        assert_eq!(format!("{:>6}", Hundredths(4700)), "    47");
    }

    #[test]
    fn guest_lines_are_collected() {
        let figures = parse_guest(SERIAL).unwrap();
        assert_eq!(figures.tick_hz, Some(100));
        assert_eq!(figures.tsc_per_tick(), Some(9999339));
        assert_eq!(figures.get("null_syscall"), Some(Hundredths(4700)));
        assert_eq!(figures.get("write_64_bytes"), Some(Hundredths(176650)));
        assert_eq!(figures.get("after"), None);
        assert_eq!(figures.figures.len(), 8);
        assert_eq!(figures.figures[0].0, "loop.empty");
    }

    #[test]
    fn unfinished_output_is_refused() {
        let cut = SERIAL.split("bench[6]: bench.status=done").next().unwrap();
        assert_eq!(
            parse_guest(cut).unwrap_err(),
            "the guest never printed `bench.status=done`"
        );
        assert_eq!(
            parse_guest("[kernel] hello\n").unwrap_err(),
            "the guest never printed `bench.status=begin`"
        );
        let bad = SERIAL.replace("=47.00", "=forty");
        assert!(parse_guest(&bad).unwrap_err().contains("not a decimal"));
    }

    #[test]
    fn spreads() {
        let spread = Spread::of(&[3, 1, 2, 2]).unwrap();
        assert_eq!((spread.min, spread.median, spread.max), (1, 2, 3));
        assert!(!spread.identical());
        assert!(Spread::of(&[5, 5]).unwrap().identical());
        assert_eq!(Spread::<u64>::of(&[]), None);
    }

    fn icount(pairs: &[(&str, u64)]) -> IcountFigures {
        let run = GuestFigures {
            figures: pairs
                .iter()
                .map(|&(k, v)| (k.to_string(), Hundredths(v * 100)))
                .collect(),
            ..GuestFigures::default()
        };
        IcountFigures::from_runs(&[run.clone(), run], vec![])
    }

    #[test]
    fn targets_are_judged() {
        let figures = icount(&[
            ("loop.empty", 2),
            ("null_syscall", 47),
            ("ipc_roundtrip.words_0", 290),
            ("ipc_roundtrip.words_4", 310),
            ("write_64_bytes", 900),
        ]);
        assert!(figures.identical);
        let targets = targets(&figures, Some(12985.2));
        let verdicts: Vec<(&str, bool)> = targets.iter().map(|t| (t.name, t.pass())).collect();
        assert_eq!(
            verdicts,
            [
                ("null_syscall", true),
                ("ipc_roundtrip", false),
                ("write_64_bytes", false),
                ("linux_pipe", true)
            ]
        );
        assert_eq!(targets[0].verdict(), "pass (3 under)");
        assert_eq!(targets[1].subject, "ipc_roundtrip.words_4");
        assert_eq!(targets[1].misses, ["ipc_roundtrip.words_4"]);
        assert_eq!(targets[2].verdict(), "miss (by 30)");
        assert_eq!(targets[3].limit, 1298.52);
    }

    #[test]
    fn wall_time_uses_the_tick() {
        let run = GuestFigures {
            figures: vec![("null_syscall".into(), Hundredths(5000))],
            about: [("bench.tsc_per_tick".to_string(), "20000000".to_string())].into(),
            tick_hz: Some(100),
        };
        // 20e6 TSC units per 10 ms: 2 units per ns.
        let wall = WallFigures::from_runs(Accel::Tcg, &[run], vec![]).unwrap();
        assert_eq!(wall.get("null_syscall").unwrap().median, 25.0);
        let mut broken = GuestFigures::default();
        broken.about.insert("bench.tsc_per_tick".into(), "0".into());
        assert!(WallFigures::from_runs(Accel::Tcg, &[broken], vec![]).is_err());
    }

    #[test]
    fn numbers_and_tables() {
        assert_eq!(number(47.0), "47");
        assert_eq!(number(12985.2), "12985.2");
        assert_eq!(number(1298.519), "1298.52");
        let text = table(&["a", "b", "c"], &[vec!["long name".into(), "1".into(), "pass".into()]]);
        assert_eq!(text, "  a          b  c\n  long name  1  pass\n");
    }

    #[test]
    fn options_are_checked() {
        assert!(BenchOptions::default().check().is_ok());
        let no_icount = BenchOptions {
            icount: false,
            ..BenchOptions::default()
        };
        assert!(no_icount.check().is_ok());
        for options in [
            BenchOptions {
                runs: 0,
                ..BenchOptions::default()
            },
            BenchOptions {
                compare: true,
                ..no_icount.clone()
            },
            BenchOptions {
                breakdown: true,
                ..no_icount.clone()
            },
        ] {
            assert!(options.check().is_err(), "{options:?}");
        }
    }
}
