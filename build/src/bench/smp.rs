//! The two-CPU benchmarks of `cargo xtask bench`: `manifests/bench-smp.toml`
//! booted under icount (single-threaded TCG: the CPUs take turns on one host
//! thread, and the one virtual clock every CPU's TSC reads counts the
//! instructions of both) and for wall time under multi-threaded TCG (one
//! host thread per CPU). Its coordinator (`servers/bench/src/bin/smpbench.rs`)
//! prints the [`SMP_BENCHMARKS`]; this module adds what is made of them: the
//! throughput scaling of two independent IPC pairs and the cost of a
//! shootdown.

use super::figures::{Hundredths, IcountFigures, Spread, WallFigures};
use super::report::{number, table};
use serde_json::{Value, json};

/// The manifest of the two-CPU image (`manifests/bench-smp.toml`).
pub const SMP_MANIFEST: &str = "bench-smp";

/// The figures the two-CPU coordinator prints, in its order: per-operation
/// medians in TSC units.
pub const SMP_BENCHMARKS: &[&str] = &[
    "smp.ipc_roundtrip.same_cpu",
    "smp.ipc_roundtrip.cross_cpu",
    "smp.ipc_pairs.cpus_1",
    "smp.ipc_pairs.cpus_2",
    "smp.shootdown.unmap_local",
    "smp.shootdown.unmap_remote",
];

/// One pair on one CPU, and two independent pairs on two CPUs: TSC units
/// from the first start to the last end, per round trip of all pairs.
const ONE_PAIR: &str = "smp.ipc_pairs.cpus_1";
const TWO_PAIRS: &str = "smp.ipc_pairs.cpus_2";
const UNMAP_LOCAL: &str = "smp.shootdown.unmap_local";
const UNMAP_REMOTE: &str = "smp.shootdown.unmap_remote";

/// What the two-CPU boots measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SmpFigures {
    /// The icount boots (single-threaded TCG, exact instructions).
    pub icount: Option<IcountFigures>,
    /// The wall-time boots (multi-threaded TCG, or KVM with `--accel`).
    pub wall: Option<WallFigures>,
}

impl SmpFigures {
    /// Two pairs against one under icount: the instructions of the whole
    /// machine per round trip are the instructions each CPU spends per
    /// round trip of its own pair, so 2 x one pair's count over this count
    /// is how throughput would scale if the two CPUs ran at once and
    /// nothing made one wait for the other (the kernel lock does: see
    /// docs/performance.md).
    pub fn scaling_icount(&self) -> Option<f64> {
        let icount = self.icount.as_ref()?;
        scaling(icount.median(ONE_PAIR)?, icount.median(TWO_PAIRS)?, 2.0)
    }

    /// Two pairs against one in wall time, both CPUs running at once:
    /// round trips per second of both pairs over those of one.
    pub fn scaling_wall(&self) -> Option<f64> {
        let wall = self.wall.as_ref()?;
        scaling(wall.get(ONE_PAIR)?.median, wall.get(TWO_PAIRS)?.median, 1.0)
    }

    /// What the shootdown adds to an unmap, in instructions.
    pub fn shootdown_instructions(&self) -> Option<f64> {
        let icount = self.icount.as_ref()?;
        Some(icount.median(UNMAP_REMOTE)? - icount.median(UNMAP_LOCAL)?)
    }

    /// What the shootdown adds to an unmap, in ns.
    pub fn shootdown_ns(&self) -> Option<f64> {
        let wall = self.wall.as_ref()?;
        Some(wall.get(UNMAP_REMOTE)?.median - wall.get(UNMAP_LOCAL)?.median)
    }

    /// `key=value` lines: each figure's `.instructions` and `.ns` (with
    /// min and max over several runs), then the derived figures.
    pub fn key_values(&self, runs: usize) -> Vec<(String, String)> {
        let mut lines = Vec::new();
        if let Some(icount) = &self.icount {
            for (key, spread) in &icount.figures {
                lines.push((format!("{key}.instructions"), spread.median.to_string()));
                if runs > 1 {
                    lines.push((format!("{key}.instructions_min"), spread.min.to_string()));
                    lines.push((format!("{key}.instructions_max"), spread.max.to_string()));
                }
            }
            lines.push(("smp.instructions_identical".into(), yes_no(icount.identical)));
        }
        if let Some(wall) = &self.wall {
            lines.push(("smp.wall_accel".into(), wall_accel(wall)));
            for (key, spread) in &wall.figures {
                lines.push((format!("{key}.ns"), ns(spread.median)));
                if runs > 1 {
                    lines.push((format!("{key}.ns_min"), ns(spread.min)));
                    lines.push((format!("{key}.ns_max"), ns(spread.max)));
                }
            }
        }
        if let Some(cost) = self.shootdown_instructions() {
            lines.push(("smp.shootdown.cost.instructions".into(), number(cost)));
        }
        if let Some(cost) = self.shootdown_ns() {
            lines.push(("smp.shootdown.cost.ns".into(), ns(cost)));
        }
        if let Some(scaling) = self.scaling_icount() {
            lines.push(("smp.ipc_pairs.scaling_icount".into(), format!("{scaling:.2}")));
        }
        if let Some(scaling) = self.scaling_wall() {
            lines.push(("smp.ipc_pairs.scaling_wall".into(), format!("{scaling:.2}")));
        }
        lines
    }

    /// The readable table and the derived figures.
    pub fn text(&self, runs: usize) -> String {
        let mut out = String::from("\nOn two CPUs (manifests/bench-smp.toml; per operation)\n");
        let wall_header = self
            .wall
            .as_ref()
            .map_or("ns/op".to_string(), |wall| format!("{} ns/op", wall_accel(wall)));
        let keys: Vec<String> = match (&self.icount, &self.wall) {
            (Some(icount), _) => icount.figures.iter().map(|(key, _)| key.clone()).collect(),
            (None, Some(wall)) => wall.figures.iter().map(|(key, _)| key.clone()).collect(),
            (None, None) => Vec::new(),
        };
        let rows: Vec<Vec<String>> = keys
            .iter()
            .map(|key| {
                vec![
                    key.clone(),
                    self.icount
                        .as_ref()
                        .and_then(|icount| icount.get(key))
                        .map_or("-".into(), |s| spread_text(&s, |v: Hundredths| v.to_string())),
                    self.wall
                        .as_ref()
                        .and_then(|wall| wall.get(key))
                        .map_or("-".into(), |s| spread_text(&s, ns)),
                ]
            })
            .collect();
        out.push_str(&table(&["benchmark", "instructions", &wall_header], &rows));
        if let Some(icount) = &self.icount {
            out.push_str(&format!(
                "instructions: single-threaded TCG, icount; a TSC delta counts the instructions of both CPUs{}\n",
                if runs == 1 {
                    String::new()
                } else if icount.identical {
                    format!("; identical in all {runs} runs")
                } else {
                    format!("; NOT identical across the {runs} runs")
                }
            ));
        }
        if let Some(cost) = self.shootdown_instructions() {
            out.push_str(&format!(
                "shootdown: an unmap whose address space runs on the other CPU costs {} instructions more",
                number(cost)
            ));
            match self.shootdown_ns() {
                Some(ns_cost) => out.push_str(&format!(" ({} ns more in wall time)\n", ns(ns_cost))),
                None => out.push('\n'),
            }
        }
        if let Some(scaling) = self.scaling_icount() {
            out.push_str(&format!(
                "two independent pairs on two CPUs, by instructions per round trip per CPU: {scaling:.2} x one pair \
                 (if the CPUs ran at once and never waited for each other)\n"
            ));
        }
        if let Some(scaling) = self.scaling_wall() {
            out.push_str(&format!(
                "two independent pairs on two CPUs, by wall time ({}): {scaling:.2} x one pair's round trips per second\n",
                self.wall.as_ref().map(wall_accel).unwrap_or_default()
            ));
        }
        out
    }

    pub fn json(&self) -> Value {
        let icount = self.icount.as_ref().map(|icount| {
            icount.json("single-threaded TCG, -icount shift=0,align=off: instructions of both CPUs per operation")
        });
        let wall = self.wall.as_ref().map(|wall| wall.json(&wall_accel(wall)));
        json!({
            "manifest": SMP_MANIFEST,
            "icount": icount,
            "wall": wall,
            "scaling_icount": self.scaling_icount(),
            "scaling_wall": self.scaling_wall(),
            "shootdown_instructions": self.shootdown_instructions(),
            "shootdown_ns": self.shootdown_ns(),
        })
    }
}

/// `tcg-multi` (one host thread per CPU) or the accelerator used.
fn wall_accel(wall: &WallFigures) -> String {
    match wall.accel {
        crate::qemu::Accel::Tcg => "tcg-multi".into(),
        other => other.name().into(),
    }
}

/// `cpus` x the cost per round trip of one pair over that of two pairs.
fn scaling(one: f64, two: f64, cpus: f64) -> Option<f64> {
    (one > 0.0 && two > 0.0).then(|| cpus * one / two)
}

fn ns(value: f64) -> String {
    format!("{value:.1}")
}

fn yes_no(value: bool) -> String {
    (if value { "yes" } else { "no" }).into()
}

/// `47` when all runs agree, `47 [45..49]` otherwise.
fn spread_text<T: Copy + PartialOrd>(spread: &Spread<T>, show: impl Fn(T) -> String) -> String {
    if spread.identical() {
        show(spread.median)
    } else {
        format!("{} [{}..{}]", show(spread.median), show(spread.min), show(spread.max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::figures::GuestFigures;
    use crate::qemu::Accel;

    fn run(pairs: &[(&str, u64)], tsc_per_tick: u64) -> GuestFigures {
        GuestFigures {
            figures: pairs
                .iter()
                .map(|&(key, value)| (key.to_string(), Hundredths(value * 100)))
                .collect(),
            about: [("bench.tsc_per_tick".to_string(), tsc_per_tick.to_string())].into(),
            tick_hz: Some(100),
        }
    }

    #[test]
    fn scaling_and_shootdown_are_derived() {
        let icount = run(
            &[
                (ONE_PAIR, 500),
                (TWO_PAIRS, 500),
                (UNMAP_LOCAL, 2000),
                (UNMAP_REMOTE, 2200),
            ],
            10_000_000,
        );
        // 10e6 TSC units per 10 ms: 1 unit per ns.
        let wall = run(
            &[
                (ONE_PAIR, 10_000),
                (TWO_PAIRS, 8_000),
                (UNMAP_LOCAL, 9_000),
                (UNMAP_REMOTE, 29_000),
            ],
            10_000_000,
        );
        let figures = SmpFigures {
            icount: Some(IcountFigures::from_runs(&[icount], vec![])),
            wall: Some(WallFigures::from_runs(Accel::Tcg, &[wall], vec![]).unwrap()),
        };
        assert_eq!(figures.scaling_icount(), Some(2.0));
        assert_eq!(figures.scaling_wall(), Some(1.25));
        assert_eq!(figures.shootdown_instructions(), Some(200.0));
        assert_eq!(figures.shootdown_ns(), Some(20_000.0));
        let lines = figures.key_values(1);
        let get = |key: &str| lines.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        assert_eq!(get("smp.ipc_pairs.cpus_2.instructions"), Some("500"));
        assert_eq!(get("smp.ipc_pairs.cpus_2.ns"), Some("8000.0"));
        assert_eq!(get("smp.ipc_pairs.scaling_icount"), Some("2.00"));
        assert_eq!(get("smp.ipc_pairs.scaling_wall"), Some("1.25"));
        assert_eq!(get("smp.shootdown.cost.instructions"), Some("200"));
        assert_eq!(get("smp.wall_accel"), Some("tcg-multi"));
        assert!(figures.text(1).contains("2.00 x one pair"));
        assert_eq!(SmpFigures::default().key_values(1), Vec::new());
    }
}
