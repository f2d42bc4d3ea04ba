//! `cargo xtask bench --check`: every instruction count of a run against a
//! committed baseline ([`BASELINE`]), so that a change that makes a path
//! slower fails where it is made. Instruction counts under icount are the
//! same on every run and every host, so the check needs no tolerance for
//! noise; [`TOLERANCE_PERCENT`] only lets small, deliberate costs through
//! without a new baseline. `--write-baseline` records a run's counts.

use super::report::Report;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The baseline file, relative to the workspace root.
pub const BASELINE: &str = "build/bench-baseline.json";
/// How much a figure may grow over its baseline before the check fails.
pub const TOLERANCE_PERCENT: f64 = 2.0;

/// The baseline file of this workspace.
pub fn default_path() -> PathBuf {
    crate::workspace_root().join(BASELINE)
}

/// The instruction counts of `report` by key (`null_syscall.instructions`,
/// `smp.ipc_roundtrip.cross_cpu.instructions`, ...): the figures measured
/// here, not the seL4 or Linux references; and the boot's
/// (`boot.instructions_to_user`, ...), without `boot.smp_added`, the
/// difference of two of them.
pub fn counts(report: &Report) -> BTreeMap<String, f64> {
    let mut counts: BTreeMap<String, f64> = report
        .key_values()
        .into_iter()
        .filter(|(key, _)| {
            key.ends_with(".instructions")
                && !key.starts_with("sel4.")
                && !key.starts_with("linux.")
                && !key.starts_with("boot.")
        })
        .filter_map(|(key, value)| value.parse::<f64>().ok().map(|value| (key, value)))
        .collect();
    if let Some(boot) = &report.boot {
        counts.extend(boot.exact().into_iter().map(|(key, value)| (key, value as f64)));
    }
    counts
}

/// Writes `counts` as the baseline at `path` (a JSON object, keys sorted).
pub fn write(path: &Path, counts: &BTreeMap<String, f64>) -> Result<(), String> {
    let object: Map<String, Value> = counts
        .iter()
        .map(|(key, &value)| (key.clone(), serde_json::json!(value)))
        .collect();
    let text = serde_json::to_string_pretty(&Value::Object(object)).map_err(|e| e.to_string())? + "\n";
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Reads the baseline at `path`.
pub fn read(path: &Path) -> Result<BTreeMap<String, f64>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// A baseline's text: one JSON object of numbers.
pub fn parse(text: &str) -> Result<BTreeMap<String, f64>, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let Value::Object(object) = value else {
        return Err("a baseline is a JSON object of instruction counts".into());
    };
    object
        .into_iter()
        .map(|(key, value)| match value.as_f64() {
            Some(number) => Ok((key, number)),
            None => Err(format!("`{key}` is not a number")),
        })
        .collect()
}

/// One figure's verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub key: String,
    pub baseline: Option<f64>,
    pub now: Option<f64>,
    pub verdict: Verdict,
}

/// What the check says of one figure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Within the tolerance (or smaller).
    Ok,
    /// Grew by more than the tolerance.
    Grew,
    /// In the baseline, but the run did not report it.
    Missing,
    /// Reported, but not in the baseline (not a failure: record it).
    New,
}

impl Verdict {
    /// Whether this fails the check.
    pub fn fails(self) -> bool {
        matches!(self, Self::Grew | Self::Missing)
    }

    fn name(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Grew => "GREW",
            Self::Missing => "MISSING",
            Self::New => "new",
        }
    }
}

/// Compares `now` with `baseline`, figure by figure, in key order.
pub fn compare(baseline: &BTreeMap<String, f64>, now: &BTreeMap<String, f64>) -> Vec<Line> {
    let mut keys: Vec<&String> = baseline.keys().chain(now.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .map(|key| {
            let (base, current) = (baseline.get(key).copied(), now.get(key).copied());
            let verdict = match (base, current) {
                (Some(base), Some(current)) if current > base * (1.0 + TOLERANCE_PERCENT / 100.0) => Verdict::Grew,
                (Some(_), Some(_)) => Verdict::Ok,
                (Some(_), None) => Verdict::Missing,
                (None, _) => Verdict::New,
            };
            Line {
                key: key.clone(),
                baseline: base,
                now: current,
                verdict,
            }
        })
        .collect()
}

/// The comparison as a table, and a last line with the verdict.
pub fn text(lines: &[Line]) -> String {
    let show = |value: Option<f64>| value.map_or("-".to_string(), super::number);
    let rows: Vec<Vec<String>> = lines
        .iter()
        .map(|line| {
            let change = match (line.baseline, line.now) {
                (Some(base), Some(now)) if base > 0.0 => format!("{:+.2} %", (now - base) / base * 100.0),
                _ => "-".into(),
            };
            vec![
                line.key.trim_end_matches(".instructions").to_string(),
                show(line.baseline),
                show(line.now),
                change,
                line.verdict.name().to_string(),
            ]
        })
        .collect();
    let mut out = format!("\nCheck against the baseline (instructions; at most +{TOLERANCE_PERCENT} %)\n");
    out.push_str(&super::table(
        &["figure", "baseline", "now", "change", "verdict"],
        &rows,
    ));
    let failed = lines.iter().filter(|line| line.verdict.fails()).count();
    out.push_str(&if failed == 0 {
        "bench.check=pass\n".to_string()
    } else {
        format!("bench.check=fail ({failed} figures grew or are missing)\n")
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
        pairs.iter().map(|&(key, value)| (key.to_string(), value)).collect()
    }

    #[test]
    fn a_figure_may_grow_by_the_tolerance_and_no_more() {
        let baseline = map(&[
            ("a.instructions", 100.0),
            ("b.instructions", 100.0),
            ("c.instructions", 50.0),
        ]);
        let now = map(&[
            ("a.instructions", 102.0),
            ("b.instructions", 102.5),
            ("d.instructions", 7.0),
        ]);
        let lines = compare(&baseline, &now);
        let verdicts: Vec<(&str, Verdict)> = lines.iter().map(|l| (l.key.as_str(), l.verdict)).collect();
        assert_eq!(
            verdicts,
            [
                ("a.instructions", Verdict::Ok),
                ("b.instructions", Verdict::Grew),
                ("c.instructions", Verdict::Missing),
                ("d.instructions", Verdict::New),
            ]
        );
        let text = text(&lines);
        assert!(text.contains("bench.check=fail (2 figures"), "{text}");
        assert!(text.contains("+2.50 %"), "{text}");
    }

    #[test]
    fn smaller_figures_pass_and_the_file_round_trips() {
        let baseline = map(&[("a.instructions", 100.0), ("b.instructions", 2425.02)]);
        let now = map(&[("a.instructions", 60.0), ("b.instructions", 2425.02)]);
        assert!(compare(&baseline, &now).iter().all(|line| line.verdict == Verdict::Ok));
        let dir = std::env::temp_dir().join(format!("xtask-baseline-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("baseline.json");
        write(&path, &baseline).unwrap();
        assert_eq!(read(&path).unwrap(), baseline);
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(parse("[1, 2]").is_err());
        assert!(parse(r#"{"a.instructions": "many"}"#).is_err());
    }
}
