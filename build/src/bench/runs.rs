//! The runs of `cargo xtask bench`: what the options ask for, building the
//! benchmark image, booting it under icount and without (and the Linux
//! peer and the breakdown when asked), and collecting what each boot
//! printed into a [`Report`].

use super::boot::{self, BootCost, BootLines, IcountBoot, WallBoot, WallRun};
use super::breakdown;
use super::figures::{DONE, GuestFigures, IcountFigures, WallFigures, parse_guest, split_prefix};
use super::linux;
use super::report::Report;
use super::smp::{SMP_MANIFEST, SmpFigures};
use crate::Error;
use crate::image::{BuildOptions, Image, build_image_with};
use crate::manifest::Manifest;
use crate::qemu::{Accel, GuestStatus, Machine, RunOptions, RunOutcome};
use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The manifest `cargo xtask bench` boots (`manifests/bench.toml`).
pub const MANIFEST: &str = "bench";
/// How long one boot of the benchmark image may take.
pub const TIMEOUT: Duration = Duration::from_secs(120);

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
    /// Also boot the two-CPU image (`manifests/bench-smp.toml`); `--no-smp`
    /// turns it off.
    pub smp: bool,
    /// Also boot without icount for wall time (off for `--check`, which
    /// needs only the instruction counts).
    pub wall: bool,
    /// Compare the instruction counts with this baseline and fail when one
    /// grew by more than [`super::baseline::TOLERANCE_PERCENT`].
    pub check: Option<PathBuf>,
    /// Write the instruction counts as the new baseline to this file.
    pub write_baseline: Option<PathBuf>,
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
            smp: true,
            wall: true,
            check: None,
            write_baseline: None,
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
        if !self.icount && (self.check.is_some() || self.write_baseline.is_some()) {
            return Err("--check and --write-baseline need the instruction counts (drop --no-icount)".into());
        }
        if !self.icount && !self.wall {
            return Err("nothing to boot: neither icount nor wall time".into());
        }
        if !self.icount && self.breakdown {
            return Err("--breakdown checks its total against the icount figures (drop --no-icount)".into());
        }
        Ok(())
    }
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
pub(crate) fn tail(text: &str, count: usize) -> String {
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

/// Boots `probe` with QEMU's execution log and breaks its round trip down,
/// checking the total against its benchmark's median in `icount`.
fn run_breakdown(
    options: &BenchOptions,
    probe: &breakdown::Probe,
    icount: Option<&IcountFigures>,
) -> Result<breakdown::Breakdown, Error> {
    let benchmark = icount
        .and_then(|icount| icount.get(probe.benchmark))
        .map(|spread| spread.median);
    progress(
        options,
        format_args!(
            "breakdown: booting the probe ({}) with QEMU's execution log (takes a while)",
            probe.benchmark
        ),
    );
    let started = Instant::now();
    let result = breakdown::run(probe, options.timeout, options.echo, benchmark)?;
    progress(
        options,
        format_args!("breakdown: done in {:.1} s", started.elapsed().as_secs_f64()),
    );
    Ok(result)
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
        breakdown_cross_cpu: None,
        boot: None,
        smp: None,
    };
    let boot_manifest = Manifest::load(boot::MANIFEST)?;
    let boot_image = build_image_with(&boot_manifest, &boot_manifest.name, &build)?;
    let mut boot_cost = BootCost::default();

    if options.icount {
        let run_options = RunOptions {
            accel: Accel::Tcg,
            machine: Machine::Microvm,
            timeout: options.timeout,
            icount: true,
            ..RunOptions::default()
        };
        let (runs, walls, _) = boots(
            options,
            &image,
            &run_options,
            "icount (TCG, -icount shift=0,align=off,sleep=off)",
        )?;
        let icount = IcountFigures::from_runs(&runs, walls);
        if !icount.identical {
            progress(options, "warning: the instruction counts differ between runs");
        }
        report.icount = Some(icount);
        for cpus in [1, boot::SMP_CPUS] {
            let options_cpus = RunOptions {
                smp: Some(cpus),
                ..run_options.clone()
            };
            let what = format!("boot cost, icount, {cpus} CPU(s)");
            let runs: Vec<BootLines> = boot_boots(options, &boot_image, &options_cpus, &what)?
                .into_iter()
                .map(|(lines, _)| lines)
                .collect();
            boot_cost.icount.extend(IcountBoot::from_runs(cpus, &runs));
        }
        if !boot_cost.icount.iter().all(IcountBoot::identical) {
            progress(options, "warning: the boot's instruction counts differ between runs");
        }
    }

    // The wall-time boots (not for `--check`, which needs only the counts).
    let mut accel = options.accel;
    if options.wall {
        accel = match options.accel {
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
        let (wall, used) = wall_figures(options, &image, &run_options, &what)?;
        if accel == Accel::Auto {
            progress(options, format_args!("--accel auto chose {}", used.name()));
        }
        report.wall = Some(wall);
        for cpus in [1, boot::SMP_CPUS] {
            let options_cpus = RunOptions {
                smp: Some(cpus),
                accel: used,
                ..run_options.clone()
            };
            let what = format!("boot cost, wall time, {cpus} CPU(s)");
            let runs: Vec<WallRun> = boot_boots(options, &boot_image, &options_cpus, &what)?
                .iter()
                .map(|(lines, outcome)| {
                    WallRun::of(lines, boot::first_program_line(&outcome.serial, &outcome.serial_times))
                })
                .collect();
            boot_cost.wall.push(WallBoot::from_runs(cpus, &runs));
        }
    }
    report.boot = Some(boot_cost);

    if options.smp {
        report.smp = Some(smp(options, &build, accel)?);
    }

    if options.breakdown {
        report.breakdown = Some(run_breakdown(options, &breakdown::SAME_CPU, report.icount.as_ref())?);
        if let Some(smp) = &report.smp {
            report.breakdown_cross_cpu = Some(run_breakdown(options, &breakdown::CROSS_CPU, smp.icount.as_ref())?);
        }
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

/// `options.runs` boots of the boot-cost image with `run_options`: what its
/// `boot` program printed, and how each boot went.
fn boot_boots(
    options: &BenchOptions,
    image: &Image,
    run_options: &RunOptions,
    what: &str,
) -> Result<Vec<(BootLines, RunOutcome)>, Error> {
    let mut out = Vec::new();
    for number in 1..=options.runs {
        let outcome = crate::qemu::run(image, run_options)?;
        let failed = |why: String| {
            Error::Bench(format!(
                "{what}: the boot of {}: {why}; the serial output ended with:\n{}",
                image.name,
                tail(&outcome.serial, 12)
            ))
        };
        if outcome.status != GuestStatus::Exited(abi::machine::EXIT_SUCCESS) {
            return Err(failed(outcome.status.to_string()));
        }
        let lines = boot::parse(&outcome.serial).map_err(failed)?;
        progress(
            options,
            format_args!(
                "{what}: boot {number} of {} done in {:.2} s",
                options.runs,
                outcome.wall.as_secs_f64()
            ),
        );
        out.push((lines, outcome));
    }
    Ok(out)
}

/// Builds the two-CPU image and boots it: under icount (single-threaded
/// TCG, the CPUs in turn; exact instructions of both) unless
/// `--no-icount`, and for wall time with one host thread per CPU
/// (`accel`: TCG, or KVM when asked and working).
fn smp(options: &BenchOptions, build: &BuildOptions, accel: Accel) -> Result<SmpFigures, Error> {
    let manifest = Manifest::load(SMP_MANIFEST)?;
    let image = build_image_with(&manifest, &manifest.name, build)?;
    let mut figures = SmpFigures::default();
    if options.icount {
        let run_options = RunOptions {
            accel: Accel::Tcg,
            machine: Machine::Microvm,
            timeout: options.timeout,
            icount: true,
            ..RunOptions::default()
        };
        let (runs, walls, _) = boots(options, &image, &run_options, "two CPUs, icount (single-threaded TCG)")?;
        let icount = IcountFigures::from_runs(&runs, walls);
        if !icount.identical {
            progress(options, "warning: the two-CPU instruction counts differ between runs");
        }
        figures.icount = Some(icount);
    }
    if !options.wall {
        return Ok(figures);
    }
    let run_options = RunOptions {
        accel,
        machine: Machine::Microvm,
        timeout: options.timeout,
        parallel: true,
        ..RunOptions::default()
    };
    let what = format!("two CPUs, wall time (--accel {}, a host thread per CPU)", accel.name());
    figures.wall = Some(wall_figures(options, &image, &run_options, &what)?.0);
    Ok(figures)
}

/// Boots `image` for wall time as `run_options` say ([`boots`]) and makes
/// the figures of the runs; also the accelerator the runs used. `what`
/// names them in progress lines and errors.
fn wall_figures(
    options: &BenchOptions,
    image: &Image,
    run_options: &RunOptions,
    what: &str,
) -> Result<(WallFigures, Accel), Error> {
    let (runs, walls, used) = boots(options, image, run_options, what)?;
    let figures = WallFigures::from_runs(used, &runs, walls).map_err(|e| Error::Bench(format!("{what}: {e}")))?;
    Ok((figures, used))
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

#[cfg(test)]
mod tests {
    use super::*;

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
