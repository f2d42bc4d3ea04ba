//! What the benchmark image prints, and the figures made of it: the
//! coordinator's `key=value` lines between [`BEGIN`] and [`DONE`], exact
//! decimals ([`Hundredths`]), and their spread over several boots
//! ([`IcountFigures`] in guest instructions, [`WallFigures`] in ns).

use crate::qemu::Accel;
use abi::results::Output;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// The timer rate assumed when the kernel does not print it at boot.
pub const DEFAULT_TICK_HZ: u64 = 100;

/// The figures the coordinator prints, in its order: per-operation medians
/// in TSC units. `bench.*` keys are about the run, not benchmarks.
pub const BENCHMARKS: &[&str] = &[
    "loop.empty",
    "null_syscall",
    "get_ticks",
    "clock.ticks",
    "clock.instant_now",
    "ipc_roundtrip.words_0",
    "ipc_roundtrip.words_1",
    "ipc_roundtrip.words_4",
    "ipc_roundtrip.words_6",
    "ipc_roundtrip.bytes_64",
    "ipc_roundtrip.bytes_4096",
    "write_64_bytes",
    "yield_switch",
    "spawn_exit",
    "mem_map_touch_unmap.pages_1",
    "mem_map_touch_unmap.pages_64",
    "bulk_1mib.messages",
    "bulk_1mib.shared",
];

/// The coordinator's first and last lines.
pub const BEGIN: &str = "bench.status=begin";
pub const DONE: &str = "bench.status=done";

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

/// Splits `bench[6]: key=value` into the program that wrote it (`bench`,
/// 6) and the text (`abi::results::Output`); lines no program wrote have
/// none.
pub(crate) fn split_prefix(line: &str) -> (Option<(&str, u64)>, &str) {
    match Output::parse(line) {
        Some(output) => (Some((output.program, output.pid)), output.text),
        None => (None, line),
    }
}

/// Collects the coordinator's lines between [`BEGIN`] and [`DONE`] from the
/// serial output (the console prefixes them with `bench[pid]: `; lines of
/// other programs are skipped).
pub fn parse_guest(serial: &str) -> Result<GuestFigures, String> {
    let mut result = GuestFigures::default();
    let mut program: Option<Option<(&str, u64)>> = None;
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
                let Some((key, value)) = abi::results::parse(rest) else {
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
    /// As JSON: `method` (how the counts were made), whether the runs
    /// agreed, each boot's seconds, and every figure's spread.
    pub fn json(&self, method: &str) -> Value {
        let figures: serde_json::Map<String, Value> = self
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
            "method": method,
            "identical": self.identical,
            "boot_seconds": self.walls.iter().map(Duration::as_secs_f64).collect::<Vec<_>>(),
            "instructions": figures,
        })
    }

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
    /// As JSON under `accel`: the TSC rate's spread, each boot's seconds,
    /// and every figure's spread in ns per operation.
    pub fn json(&self, accel: &str) -> Value {
        let figures: serde_json::Map<String, Value> = self
            .figures
            .iter()
            .map(|(key, s)| (key.clone(), json!({"min": s.min, "median": s.median, "max": s.max})))
            .collect();
        json!({
            "accel": accel,
            "tick_hz": self.tick_hz,
            "tsc_per_tick": {"min": self.tsc_per_tick.min, "median": self.tsc_per_tick.median, "max": self.tsc_per_tick.max},
            "boot_seconds": self.walls.iter().map(Duration::as_secs_f64).collect::<Vec<_>>(),
            "ns_per_op": figures,
        })
    }

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
}
