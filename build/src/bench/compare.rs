//! What the figures are compared with: the seL4 reference (measured the
//! same way) and the performance targets of docs/performance.md.

use super::figures::IcountFigures;
use super::report::number;

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

/// Guest instructions a clock read (`libsys::time::Instant::now`,
/// `libsys::time::ticks`) may take, the measuring loop's 2 included.
pub const CLOCK_READ_LIMIT: u64 = 10;

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
    let clocks: Vec<(String, f64)> = ["clock.ticks", "clock.instant_now"]
        .iter()
        .filter_map(|key| icount.median(key).map(|value| (key.to_string(), value)))
        .collect();
    if let Some((worst, figure)) = clocks.iter().cloned().max_by(|a, b| a.1.total_cmp(&b.1)) {
        targets.push(Target {
            name: "clock_read",
            description: format!("clock read from the time page <= {CLOCK_READ_LIMIT}"),
            figure,
            subject: worst,
            limit: CLOCK_READ_LIMIT as f64,
            misses: clocks
                .iter()
                .filter(|(_, v)| *v > CLOCK_READ_LIMIT as f64)
                .map(|(k, _)| k.clone())
                .collect(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::figures::{GuestFigures, Hundredths};

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
            ("clock.ticks", 4),
            ("clock.instant_now", 12),
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
                ("clock_read", false),
                ("ipc_roundtrip", false),
                ("write_64_bytes", false),
                ("linux_pipe", true)
            ]
        );
        assert_eq!(targets[0].verdict(), "pass (3 under)");
        assert_eq!(targets[1].subject, "clock.instant_now");
        assert_eq!(targets[1].misses, ["clock.instant_now"]);
        assert_eq!(targets[2].subject, "ipc_roundtrip.words_4");
        assert_eq!(targets[2].misses, ["ipc_roundtrip.words_4"]);
        assert_eq!(targets[3].verdict(), "miss (by 30)");
        assert_eq!(targets[4].limit, 1298.52);
    }
}
