//! The boot cost: how many guest instructions the machine runs before its
//! first user instruction, and how long it takes until the first line a
//! program prints.
//!
//! `manifests/boot.toml` is the console server and one program, `boot`
//! (`servers/bench/src/bin/boot.rs`), at a higher priority than the console,
//! so the kernel runs it first. Its first instruction reads the TSC
//! (`libsys::rt::entry_tsc`); its first line is the first user output, and it
//! reads the TSC again once that line is written. Booted:
//!
//! - under icount (`-icount shift=0,align=off,sleep=off`), on one CPU and on
//!   [`SMP_CPUS`]: the TSC values are then exact instruction counts since the
//!   machine started (the firmware's included), the same on every run;
//! - without icount (plain TCG), where the TSC counts the host's time since
//!   the machine started: the guest's own view of the time to its first
//!   output (`boot.first_output_written / boot.tsc_hz`), and the host's (from
//!   starting QEMU, its own start-up included, to the arrival of that line).

use super::figures::Spread;
use super::report::number;
use abi::results::Output;
use std::time::Duration;

/// The manifest of the boot-cost image.
pub const MANIFEST: &str = "boot";
/// The program that measures.
pub const PROGRAM: &str = "boot";
/// CPUs of the second icount boot, which shows what bringing up the other
/// CPUs adds.
pub const SMP_CPUS: usize = 2;
/// The target: guest instructions to the first user instruction (one CPU).
pub const INSTRUCTIONS_LIMIT: u64 = 2_000_000;
/// The target: milliseconds of TCG wall time to the first user output, as
/// the guest measures it (from the machine's start).
pub const WALL_MS_LIMIT: f64 = 50.0;

/// What the `boot` program printed in one boot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootLines {
    /// The TSC its first instruction read.
    pub first_user_instruction: u64,
    /// The TSC once its first line was written.
    pub first_output_written: u64,
    /// The kernel's TSC rate (the time page's), 0 when it has none.
    pub tsc_hz: u64,
}

/// Reads the `boot.*` lines of the `boot` program from the serial output.
pub fn parse(serial: &str) -> Result<BootLines, String> {
    let mut user = None;
    let mut output = None;
    let mut hz = None;
    let mut done = false;
    for line in serial.lines() {
        let Some(out) = Output::parse(line.trim_end_matches('\r')) else {
            continue;
        };
        if out.program != PROGRAM {
            continue;
        }
        let Some((key, value)) = abi::results::parse(out.text.trim()) else {
            continue;
        };
        let number = || {
            value
                .parse::<u64>()
                .map_err(|_| format!("`{key}={value}`: not a whole number"))
        };
        match key {
            "boot.first_user_instruction" => user = Some(number()?),
            "boot.first_output_written" => output = Some(number()?),
            "boot.tsc_hz" => hz = Some(number()?),
            "boot.status" if value == "done" => done = true,
            _ => {}
        }
    }
    if !done {
        return Err(format!("the `{PROGRAM}` program never printed `boot.status=done`"));
    }
    match (user, output, hz) {
        (Some(first_user_instruction), Some(first_output_written), Some(tsc_hz)) => Ok(BootLines {
            first_user_instruction,
            first_output_written,
            tsc_hz,
        }),
        _ => Err(format!(
            "the `{PROGRAM}` program did not print boot.first_user_instruction, boot.first_output_written and boot.tsc_hz"
        )),
    }
}

/// When the first line any program wrote arrived on the host (`times` has
/// one entry per line of `serial`).
pub fn first_program_line(serial: &str, times: &[Duration]) -> Option<Duration> {
    serial
        .lines()
        .zip(times)
        .find(|(line, _)| Output::parse(line.trim_end_matches('\r')).is_some())
        .map(|(_, &time)| time)
}

/// The icount boots on some number of CPUs.
#[derive(Clone, Debug, PartialEq)]
pub struct IcountBoot {
    pub cpus: usize,
    /// Guest instructions before the first user instruction.
    pub to_user: Spread<u64>,
    /// Guest instructions until the first user line was written.
    pub to_output: Spread<u64>,
}

impl IcountBoot {
    pub fn from_runs(cpus: usize, runs: &[BootLines]) -> Option<Self> {
        let user: Vec<u64> = runs.iter().map(|r| r.first_user_instruction).collect();
        let output: Vec<u64> = runs.iter().map(|r| r.first_output_written).collect();
        Some(Self {
            cpus,
            to_user: Spread::of(&user)?,
            to_output: Spread::of(&output)?,
        })
    }

    pub fn identical(&self) -> bool {
        self.to_user.identical() && self.to_output.identical()
    }
}

/// One plain-TCG boot's times to the first user output.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WallRun {
    /// The guest's view: its TSC when the line was written, at its TSC rate
    /// (`None` when the kernel has no TSC rate).
    pub guest_ms: Option<f64>,
    /// The host's: from starting QEMU to the line's arrival.
    pub host_ms: Option<f64>,
}

impl WallRun {
    pub fn of(lines: &BootLines, host: Option<Duration>) -> Self {
        Self {
            guest_ms: (lines.tsc_hz > 0).then(|| lines.first_output_written as f64 * 1000.0 / lines.tsc_hz as f64),
            host_ms: host.map(|time| time.as_secs_f64() * 1000.0),
        }
    }
}

/// The plain-TCG boots on some number of CPUs.
#[derive(Clone, Debug, PartialEq)]
pub struct WallBoot {
    pub cpus: usize,
    pub guest_ms: Option<Spread<f64>>,
    pub host_ms: Option<Spread<f64>>,
}

impl WallBoot {
    pub fn from_runs(cpus: usize, runs: &[WallRun]) -> Self {
        let guest: Vec<f64> = runs.iter().filter_map(|r| r.guest_ms).collect();
        let host: Vec<f64> = runs.iter().filter_map(|r| r.host_ms).collect();
        Self {
            cpus,
            guest_ms: Spread::of(&guest),
            host_ms: Spread::of(&host),
        }
    }
}

/// Everything the boot-cost boots measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BootCost {
    /// One CPU first, then [`SMP_CPUS`].
    pub icount: Vec<IcountBoot>,
    pub wall: Vec<WallBoot>,
}

/// `boot` for one CPU, `boot.cpus_2` for two: the prefix of the keys.
pub fn prefix(cpus: usize) -> String {
    if cpus == 1 {
        "boot".into()
    } else {
        format!("boot.cpus_{cpus}")
    }
}

impl BootCost {
    pub fn icount(&self, cpus: usize) -> Option<&IcountBoot> {
        self.icount.iter().find(|boot| boot.cpus == cpus)
    }

    pub fn wall(&self, cpus: usize) -> Option<&WallBoot> {
        self.wall.iter().find(|boot| boot.cpus == cpus)
    }

    /// What bringing up the other CPUs adds to the first user instruction.
    pub fn smp_added(&self) -> Option<i64> {
        let one = self.icount(1)?.to_user.median;
        let more = self.icount(SMP_CPUS)?.to_user.median;
        Some(more as i64 - one as i64)
    }

    /// The exact figures (guest instructions), for `--check`: key → value.
    pub fn exact(&self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        for boot in &self.icount {
            let prefix = prefix(boot.cpus);
            out.push((format!("{prefix}.instructions_to_user"), boot.to_user.median));
            out.push((format!("{prefix}.instructions_to_output"), boot.to_output.median));
        }
        out
    }

    /// The `key=value` lines.
    pub fn key_values(&self, runs: usize) -> Vec<(String, String)> {
        let mut lines = Vec::new();
        for boot in &self.icount {
            let prefix = prefix(boot.cpus);
            for (what, spread) in [("to_user", boot.to_user), ("to_output", boot.to_output)] {
                lines.push((format!("{prefix}.instructions_{what}"), spread.median.to_string()));
                if runs > 1 {
                    lines.push((format!("{prefix}.instructions_{what}_min"), spread.min.to_string()));
                    lines.push((format!("{prefix}.instructions_{what}_max"), spread.max.to_string()));
                }
            }
        }
        if let Some(added) = self.smp_added() {
            lines.push(("boot.smp_added.instructions".into(), added.to_string()));
        }
        if !self.icount.is_empty() {
            let identical = self.icount.iter().all(IcountBoot::identical);
            lines.push((
                "boot.instructions_identical".into(),
                (if identical { "yes" } else { "no" }).into(),
            ));
        }
        for boot in &self.wall {
            let prefix = prefix(boot.cpus);
            if let Some(guest) = boot.guest_ms {
                lines.push((format!("{prefix}.ms_to_output"), ms(guest.median)));
            }
            if let Some(host) = boot.host_ms {
                lines.push((format!("{prefix}.host_ms_to_output"), ms(host.median)));
            }
        }
        lines
    }

    /// The readable table.
    pub fn text(&self, runs: usize) -> String {
        let show_u64 = |s: &Spread<u64>| {
            if s.identical() {
                s.median.to_string()
            } else {
                format!("{} [{}..{}]", s.median, s.min, s.max)
            }
        };
        let show_ms = |s: &Option<Spread<f64>>| match s {
            None => "-".to_string(),
            Some(s) if runs == 1 || s.identical() => ms(s.median),
            Some(s) => format!("{} [{}..{}]", ms(s.median), ms(s.min), ms(s.max)),
        };
        let mut cpus: Vec<usize> = self.icount.iter().map(|b| b.cpus).collect();
        for boot in &self.wall {
            if !cpus.contains(&boot.cpus) {
                cpus.push(boot.cpus);
            }
        }
        let rows: Vec<Vec<String>> = cpus
            .iter()
            .map(|&n| {
                let icount = self.icount(n);
                let wall = self.wall(n);
                vec![
                    n.to_string(),
                    icount.map_or("-".into(), |b| show_u64(&b.to_user)),
                    icount.map_or("-".into(), |b| show_u64(&b.to_output)),
                    wall.map_or("-".into(), |b| show_ms(&b.guest_ms)),
                    wall.map_or("-".into(), |b| show_ms(&b.host_ms)),
                ]
            })
            .collect();
        let mut out = format!("Boot (manifests/{MANIFEST}.toml: the console and one program)\n");
        out.push_str(&super::report::table(
            &[
                "cpus",
                "instructions to 1st user insn",
                "to 1st output",
                "TCG ms to 1st output",
                "host ms (QEMU start)",
            ],
            &rows,
        ));
        out.push_str(
            "instructions: icount, since the machine started (firmware included); ms: plain TCG, \
             the guest's TSC at its kernel's rate; host ms: from starting QEMU, its own start-up included\n",
        );
        if let Some(added) = self.smp_added() {
            out.push_str(&format!(
                "bringing up {} more CPU(s) adds {added} instructions before the first user instruction\n",
                SMP_CPUS - 1
            ));
        }
        out
    }
}

fn ms(value: f64) -> String {
    format!("{value:.1}")
}

/// The boot targets: `(name, description, figure, limit)`.
pub fn targets(boot: &BootCost) -> Vec<super::compare::Target> {
    let mut targets = Vec::new();
    if let Some(one) = boot.icount(1) {
        targets.push(super::compare::Target {
            name: "boot_instructions",
            description: format!("guest instructions to the first user instruction <= {INSTRUCTIONS_LIMIT}"),
            figure: one.to_user.median as f64,
            subject: "boot.instructions_to_user".into(),
            limit: INSTRUCTIONS_LIMIT as f64,
            misses: Vec::new(),
        });
    }
    if let Some(guest) = boot.wall(1).and_then(|w| w.guest_ms) {
        targets.push(super::compare::Target {
            name: "boot_wall",
            description: format!("TCG ms to the first user output <= {}", number(WALL_MS_LIMIT)),
            figure: guest.median,
            subject: "boot.ms_to_output".into(),
            limit: WALL_MS_LIMIT,
            misses: Vec::new(),
        });
    }
    targets
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERIAL: &str = "\
[kernel] INFO  boot: started 2 programs
boot[2]: boot.first_user_instruction=480000
boot[2]: boot.first_output_written=486000
boot[2]: boot.tsc_hz=2600000000
boot[2]: boot.status=done
[kernel] INFO  boot[2] exited with status 0
";

    #[test]
    fn lines_are_parsed() {
        let lines = parse(SERIAL).unwrap();
        assert_eq!(
            lines,
            BootLines {
                first_user_instruction: 480_000,
                first_output_written: 486_000,
                tsc_hz: 2_600_000_000
            }
        );
        assert!(parse("boot[2]: boot.first_user_instruction=1\n").is_err());
        let other = SERIAL.replace("boot[2]", "other[2]");
        assert!(parse(&other).is_err());
        let bad = SERIAL.replace("=480000", "=many");
        assert!(parse(&bad).unwrap_err().contains("not a whole number"));
    }

    #[test]
    fn the_first_program_line_is_timed() {
        let times: Vec<Duration> = (1..=6).map(|n| Duration::from_millis(10 * n)).collect();
        assert_eq!(first_program_line(SERIAL, &times), Some(Duration::from_millis(20)));
        assert_eq!(first_program_line("[kernel] x\n", &times), None);
        // 486000 TSC counts at 2.6 GHz.
        let run = WallRun::of(&parse(SERIAL).unwrap(), Some(Duration::from_millis(20)));
        assert!((run.guest_ms.unwrap() - 0.186923).abs() < 1e-5);
        assert_eq!(run.host_ms, Some(20.0));
    }

    #[test]
    fn figures_keys_and_targets() {
        let one = parse(SERIAL).unwrap();
        let two = BootLines {
            first_user_instruction: 500_000,
            ..one
        };
        let cost = BootCost {
            icount: vec![
                IcountBoot::from_runs(1, &[one, one]).unwrap(),
                IcountBoot::from_runs(2, &[two]).unwrap(),
            ],
            wall: vec![WallBoot::from_runs(1, &[WallRun::of(&one, None)])],
        };
        assert_eq!(cost.smp_added(), Some(20_000));
        assert_eq!(
            cost.exact(),
            [
                ("boot.instructions_to_user".to_string(), 480_000),
                ("boot.instructions_to_output".to_string(), 486_000),
                ("boot.cpus_2.instructions_to_user".to_string(), 500_000),
                ("boot.cpus_2.instructions_to_output".to_string(), 486_000),
            ]
        );
        let keys = cost.key_values(1);
        assert!(keys.contains(&("boot.smp_added.instructions".into(), "20000".into())));
        assert!(keys.contains(&("boot.instructions_identical".into(), "yes".into())));
        assert!(keys.contains(&("boot.ms_to_output".into(), "0.2".into())));
        let verdicts: Vec<(&str, bool)> = targets(&cost).iter().map(|t| (t.name, t.pass())).collect();
        assert_eq!(verdicts, [("boot_instructions", true), ("boot_wall", true)]);
        assert!(cost.text(1).contains("480000"));
    }
}
