//! The report of `cargo xtask bench`: stable `key=value` lines, readable
//! tables and JSON, from the figures of the runs and their comparisons.

use super::boot::{self, BootCost};
use super::breakdown::Breakdown;
use super::compare::{sel4, targets};
use super::figures::{IcountFigures, Spread, WallFigures};
use super::linux::{self, LinuxPeer};
use super::smp::SmpFigures;
use serde_json::{Value, json};
use std::fmt;

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
    /// With `--breakdown`: the round trip on one CPU, and (with the
    /// two-CPU image) the one between two CPUs.
    pub breakdown: Option<Breakdown>,
    pub breakdown_cross_cpu: Option<Breakdown>,
    /// The boot cost (`manifests/boot.toml`).
    pub boot: Option<BootCost>,
    /// The two-CPU image (unless `--no-smp`).
    pub smp: Option<SmpFigures>,
}

/// `47`, `1959.02`, `12985.2`: at most two decimals, none for whole numbers.
pub fn number(value: f64) -> String {
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" { "0".into() } else { text.into() }
}

pub(crate) fn ratio(ours: f64, theirs: f64) -> String {
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
        if let Some(boot) = &self.boot {
            for (key, value) in boot.key_values(self.runs) {
                add(key, value);
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
        for target in self.targets() {
            add(
                format!("target.{}", target.name),
                (if target.pass() { "pass" } else { "miss" }).into(),
            );
        }
        if let Some(smp) = &self.smp {
            lines.extend(smp.key_values(self.runs));
        }
        for breakdown in self.breakdown.iter().chain(&self.breakdown_cross_cpu) {
            lines.extend(breakdown.key_values());
        }
        lines
    }

    /// Every target today's figures allow to judge.
    pub fn targets(&self) -> Vec<super::compare::Target> {
        let mut out = match &self.icount {
            Some(icount) => targets(icount, self.linux_pipe()),
            None => Vec::new(),
        };
        if let Some(boot) = &self.boot {
            out.extend(boot::targets(boot));
        }
        out
    }

    /// The exact figures `--check` compares with the baseline: every
    /// benchmark's instructions (`<benchmark>.instructions`) and the boot's
    /// (`boot.instructions_to_user`, ...), as numbers.
    pub fn exact_figures(&self) -> Vec<(String, f64)> {
        let mut out = Vec::new();
        if let Some(icount) = &self.icount {
            for (key, spread) in &icount.figures {
                out.push((format!("{key}.instructions"), spread.median.as_f64()));
            }
        }
        if let Some(boot) = &self.boot {
            for (key, value) in boot.exact() {
                out.push((key, value as f64));
            }
        }
        out
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
                "instructions: TCG with -icount shift=0,align=off,sleep=off (exact guest instructions); {}\n",
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

        if let Some(boot) = &self.boot {
            out.push('\n');
            out.push_str(&boot.text(self.runs));
        }

        if let Some(peer) = &self.linux {
            out.push('\n');
            out.push_str(&peer.text(self.icount.as_ref()));
        }

        let targets = self.targets();
        if !targets.is_empty() {
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
            out.push_str("\nTargets (guest instructions; the boot's wall time in ms)\n");
            out.push_str(&table(&["target", "figure (worst)", "verdict"], &rows));
            if self.icount.is_some() && self.linux_pipe().is_none() {
                out.push_str("(the Linux target needs --compare)\n");
            }
        }

        if let Some(smp) = &self.smp {
            out.push_str(&smp.text(self.runs));
        }

        for breakdown in self.breakdown.iter().chain(&self.breakdown_cross_cpu) {
            out.push('\n');
            out.push_str(&breakdown.text());
        }
        out
    }

    /// The whole report as JSON.
    pub fn json(&self) -> Value {
        let icount = self
            .icount
            .as_ref()
            .map(|icount| icount.json("TCG, -icount shift=0,align=off,sleep=off: guest instructions per operation"));
        let wall = self.wall.as_ref().map(|wall| wall.json(wall.accel.name()));
        let targets = Some(
            self.targets()
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
                .collect::<Vec<_>>(),
        );
        let boot = self.boot.as_ref().map(|boot| {
            let lines: serde_json::Map<String, Value> = boot
                .key_values(self.runs)
                .into_iter()
                .map(|(key, value)| (key, json!(value)))
                .collect();
            json!({
                "manifest": format!("manifests/{}.toml", boot::MANIFEST),
                "figures": lines,
            })
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
            "boot": boot,
            "breakdown": self.breakdown.as_ref().map(Breakdown::json),
            "breakdown_cross_cpu": self.breakdown_cross_cpu.as_ref().map(Breakdown::json),
            "smp": self.smp.as_ref().map(SmpFigures::json),
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

    #[test]
    fn numbers_and_tables() {
        assert_eq!(number(47.0), "47");
        assert_eq!(number(12985.2), "12985.2");
        assert_eq!(number(1298.519), "1298.52");
        let text = table(&["a", "b", "c"], &[vec!["long name".into(), "1".into(), "pass".into()]]);
        assert_eq!(text, "  a          b  c\n  long name  1  pass\n");
    }
}
