//! The command line of `cargo xtask`, declared once with clap's derive: the
//! parser, `cargo xtask help` and `cargo xtask help COMMAND` all come from
//! the declarations below, so they cannot drift apart. Each option name
//! means one thing in every command that takes it (`--timeout S` is always
//! the limit of each QEMU boot, 0 for none; `--accel` always picks QEMU's
//! accelerator).
//!
//! [`parse`] turns the words into a [`Command`] of the library's option
//! types; [`execute`] runs it and returns the exit status.

use crate::bench::{BenchOptions, LinuxPeer};
use crate::fuzz::FuzzOptions;
use crate::trace::{self, Filter, Stream};
use crate::{Accel, Error, Machine, Manifest, RunOptions};
use clap::error::ErrorKind;
use clap::{Args, CommandFactory, Parser, Subcommand};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Exit statuses, shown at the end of `cargo xtask help`.
const EXIT_STATUS: &str = "\
Exit status of `cargo xtask run`: the guest's exit value (0: every program
finished; 16 kernel panic, 17 kernel fault, 18 deadlock, 19 unusable boot
image), 1 when --strict found a program that ended otherwise than its
manifest entry expects, 124 when the run timed out, 126 when QEMU stopped
without a guest exit status (a triple fault, a QEMU error). `cargo xtask fuzz`: 0 when
every boot passed, 1 otherwise. Every command: 125 for an error of the tool
itself (bad manifest, failed build, QEMU missing or not startable,
unreadable trace), 2 for a mistake on the command line.";

/// cargo xtask: build the kernel and programs, pack boot images, run them in QEMU
#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    after_help = EXIT_STATUS,
    disable_version_flag = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<CliCommand>,
}

#[derive(Debug, Subcommand)]
enum CliCommand {
    /// Add what is missing: the pinned toolchain's target and components, QEMU
    ///
    /// Makes sure the toolchain pinned in rust-toolchain.toml has the
    /// x86_64-unknown-none target and its components (rustup target add,
    /// rustup component add) and that qemu-system-x86_64 is installed (with
    /// apt-get as root), each only when missing. Every command that builds
    /// checks the target by itself; CI runs this first. Prints key=value
    /// lines: toolchain, sysroot, targets, components, qemu.
    #[command(verbatim_doc_comment)]
    Setup,
    /// Cross-build the kernel and a manifest's programs into a boot image
    ///
    /// Writes target/image/<manifest>/kernel and initrd.cpio, and a copy of
    /// each program's ELF (with its debug info) in target/image/<manifest>/elf/.
    #[command(verbatim_doc_comment)]
    Build(BuildArgs),
    /// Build, then boot the image in QEMU; serial output goes to stdout
    ///
    /// Afterwards, fault reports in the output (a program killed by a fault,
    /// a kernel fault, a kernel panic) are resolved to function and source
    /// line from the ELF debug info, on stderr, innermost first:
    ///   xtask: faulty[7] at 0x20154a: core::ptr::read_volatile at .../ptr/mod.rs:2091:9
    ///   xtask:     inlined into faulty::main at servers/demo/src/bin/faulty.rs:12:26
    /// When the run times out, the kernel is first asked for every thread's
    /// state (an NMI through QEMU's monitor) and given 2 seconds to print
    /// them, then QEMU is killed; the exit status is 124 either way.
    #[command(verbatim_doc_comment, after_long_help = TRACE_HELP)]
    Run(RunArgs),
    /// Decode a trace file (from run --trace)
    #[command(subcommand)]
    Trace(TraceCommand),
    /// Print the ABI reference generated from the abi crate
    ///
    /// --markdown prints the generated part of docs/abi.md (--write rewrites
    /// it there); --json prints the whole ABI for other tools (its schema is
    /// docs/abi.schema.json).
    #[command(verbatim_doc_comment)]
    Abi(AbiArgs),
    /// Deterministic benchmarks: guest instructions per operation
    ///
    /// Builds manifests/bench.toml and boots it under TCG with
    /// -icount shift=0,align=off, where the guest TSC counts executed
    /// instructions: every figure is an exact number of guest instructions
    /// per operation, the same on every run. Then boots it once more without
    /// icount for wall time (TSC units turned into ns with the guest's
    /// bench.tsc_per_tick). Prints key=value lines (null_syscall.instructions=47,
    /// null_syscall.ns=61.2, ...), then tables: the benchmarks beside the seL4
    /// reference, the performance targets, and what the options add. Exit
    /// status 125 when a boot failed, timed out or never printed
    /// bench.status=done, or when --compare's Linux peer failed (after
    /// printing everything else). See docs/performance.md.
    #[command(verbatim_doc_comment)]
    Bench(BenchArgs),
    /// Write a new server crate, with its client and manifest, anywhere
    ///
    /// DIR/ (default: ./NAME) gets a crate with a server binary NAME, a
    /// client binary NAME-client that calls it (and faults on purpose with
    /// args = "fault"), a manifest NAME.toml booting the console server and
    /// both, a .cargo/config.toml that makes plain `cargo build` and
    /// rust-analyzer build for the kernel and defines `cargo xtask` there, a
    /// rust-toolchain.toml and a README. libsys is referenced by the absolute
    /// path of this repository.
    #[command(verbatim_doc_comment)]
    New(NewArgs),
    /// Boot the ring-3 syscall fuzzer under TCG and judge the run
    ///
    /// M random and edge-case syscalls from seed N, each result checked
    /// against the ABI table, then the kernel's resource counters compared
    /// with the start (see docs/reliability.md). With --cpus C, C fuzzers at
    /// once, one pinned to each CPU, seeds N to N+C-1. Serial output goes to
    /// stdout, then a table (seed, CPU, calls, violations, counters, ticks,
    /// wall time). Exit status 0 when every boot exited 0 with 0 violations,
    /// every call made and the counters unchanged; 1 otherwise.
    #[command(verbatim_doc_comment)]
    Fuzz(FuzzArgs),
}

/// `--manifest`, shared by build and run.
#[derive(Debug, Args)]
struct ManifestArg {
    /// manifests/NAME.toml of this repository, or a TOML file
    ///
    /// A path has a `/` or ends in .toml, and is relative to the current
    /// directory; crate paths inside it are relative to the file.
    #[arg(long, verbatim_doc_comment, value_name = "NAME|PATH", default_value = "demo", value_parser = non_empty)]
    manifest: String,
}

#[derive(Debug, Args)]
struct BuildArgs {
    #[command(flatten)]
    manifest: ManifestArg,
}

#[derive(Debug, Args)]
struct NewArgs {
    /// The crate's name, also its server's program name (1 to 16 of a-z,
    /// 0-9, - and _, starting with a letter)
    #[arg(value_name = "NAME")]
    name: String,
    /// Where to write it (must not exist, or be empty); default: ./NAME
    #[arg(long, value_name = "DIR")]
    path: Option<PathBuf>,
}

/// Each boot's limit: seconds, 0 for none.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Limit(Option<Duration>);

/// What `run` connects to the guest's serial port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum InputChoice {
    /// The terminal, when stdin is one; else nothing.
    Auto,
    /// The terminal (stdin).
    Terminal,
    /// Nothing.
    None,
}

#[derive(Debug, Args)]
struct RunArgs {
    #[command(flatten)]
    manifest: ManifestArg,
    /// QEMU's accelerator
    ///
    /// auto: KVM only if a probe boot proved that it works on this machine
    /// (the verdict is kept in target/), else TCG.
    #[arg(long, verbatim_doc_comment, value_enum, value_name = "ACCEL", default_value = "auto")]
    accel: Accel,
    /// QEMU's machine type
    #[arg(long, value_enum, value_name = "MACHINE", default_value = "microvm")]
    machine: Machine,
    /// Limit of the boot in seconds; 0 = none [default: 60; none when the
    /// serial port reads the terminal]
    #[arg(long, value_name = "S", value_parser = seconds)]
    timeout: Option<Limit>,
    /// What the guest's serial port reads
    ///
    /// auto: the terminal when stdin is one, else nothing. terminal: raw
    /// mode with signals off, so Ctrl-C goes to the guest (Ctrl-] x quits
    /// QEMU); the terminal's settings are put back afterwards.
    #[arg(long, verbatim_doc_comment, value_enum, value_name = "INPUT", default_value = "auto")]
    input: InputChoice,
    /// Words added to the manifest's kernel command line; may be repeated
    ///
    /// log=debug, fault=pf, ...: see docs/architecture.md.
    #[arg(long, verbatim_doc_comment, value_name = "WORDS")]
    append: Vec<String>,
    /// Run with -icount shift=0,align=off (TCG only)
    ///
    /// Timing then depends on the guest alone, and trace timestamps count
    /// instructions.
    #[arg(long, verbatim_doc_comment)]
    icount: bool,
    /// CPUs to give the machine (1 to 8); default: the manifest's
    /// `[kernel] cpus`
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=8))]
    smp: Option<u8>,
    /// With several CPUs under TCG: one host thread per CPU (real
    /// parallelism, costly cross-CPU interrupts) instead of one for all
    #[arg(long)]
    parallel: bool,
    /// Start paused with a GDB server on localhost:1234 (no timeout)
    #[arg(long)]
    gdb: bool,
    /// Exit with 1 if a program ended otherwise than its manifest expects
    ///
    /// A fault, a kill at the CPU limit or an exit with a status other than
    /// 0 (a panic exits with 101) fails the run unless the program's entry
    /// says `expect = "fault"`, `"cpu_limit"`, `"any"` or `expect_exit = N`
    /// (docs/manifest.md).
    #[arg(long, verbatim_doc_comment)]
    strict: bool,
    /// Record the kernel's syscall trace; print it decoded on stderr
    ///
    /// FILE defaults to target/trace/<manifest>.bin. The kernel gets `trace`
    /// on its command line and writes the records to an isa-debugcon device
    /// at port 0xe9; serial output stays on stdout.
    #[arg(long, verbatim_doc_comment, value_name = "FILE", num_args = 0..=1)]
    trace: Option<Option<PathBuf>>,
    /// Show only these programs and syscalls of the trace (implies --trace)
    #[arg(long, value_name = "SPEC", value_parser = filter_spec)]
    trace_filter: Vec<String>,
    /// Write the decoded trace to FILE instead of stderr (implies --trace)
    #[arg(long, value_name = "FILE")]
    trace_out: Option<PathBuf>,
    /// Also write a Chrome trace / Perfetto timeline (implies --trace)
    #[arg(long, value_name = "OUT.json")]
    timeline: Option<PathBuf>,
}

/// Trace filters, lines and timelines, at the end of `cargo xtask help run`
/// and `help trace decode`.
const TRACE_HELP: &str = "\
Trace filters (--trace-filter, --filter): SPEC is a comma-separated list of
values for the keys program (process names or pids; the default key) and
syscall (names from the syscall table); `key=value` switches the key for it
and the values that follow. Repeated filters add up. Examples:
    hello,console            what hello and console do
    syscall=write,call       every program's write and call syscalls
    hello,syscall=write      hello's writes
Process starts, faults and ends ignore the syscall list.

Trace lines:
    hello[3] write(fd=1, buf=0x2037a0 \"Hello from ring 3!\\n\", len=19) = 19
    console[1] reply_recv(handle=0, ...) = 0 <- hello[3] badge=9 {label=1 words=6 len=19 flags=KERNEL} [...]
    pingpong[6] handle_close(handle=261) = -3 EBADHANDLE (no such handle)
    faulty[7] --- page fault at 0x20154a (read of 0x0, not present) ---
    +++ hello[3] exited with status 0 +++
A syscall is printed when it returns (a blocking one after what happened
while it waited); `<- name[pid]` is the process a message or reply came
from, `-> name[pid]` the one a message went to.

Timeline (--timeline): one track per process, one slice per syscall (Enter
to Exit), instants for starts, faults and ends, flow arrows from each
message's sender to its receiver and from each reply to its caller, and a
CPU track. Times are guest TSC counts since the first record / 1000 (so
microseconds at 1 GHz; with --icount, 1 us = 1000 instructions). Open it in
https://ui.perfetto.dev.";

#[derive(Debug, Subcommand)]
enum TraceCommand {
    /// Print a trace file strace-style on stdout
    #[command(after_long_help = TRACE_HELP)]
    Decode(DecodeArgs),
}

#[derive(Debug, Args)]
struct DecodeArgs {
    /// The trace file
    file: PathBuf,
    /// Show only these programs and syscalls
    #[arg(long, visible_alias = "trace-filter", value_name = "SPEC", value_parser = filter_spec)]
    filter: Vec<String>,
    /// Write the lines to FILE instead of stdout
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Also write a Chrome trace / Perfetto timeline
    #[arg(long, value_name = "OUT.json")]
    timeline: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[group(skip)]
#[command(group = clap::ArgGroup::new("format").required(true).args(["markdown", "json"]))]
struct AbiArgs {
    /// The reference as Markdown (the generated part of docs/abi.md)
    #[arg(long)]
    markdown: bool,
    /// With --markdown: rewrite the generated part of docs/abi.md
    #[arg(long, conflicts_with = "json")]
    write: bool,
    /// The whole ABI as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct BenchArgs {
    /// Accelerator of the wall-time boots
    ///
    /// The icount boots are always TCG; kvm and auto use KVM only when a
    /// probe boot shows that it works.
    #[arg(long, verbatim_doc_comment, value_enum, value_name = "ACCEL", default_value = "tcg")]
    accel: Accel,
    /// Only the wall-time boots
    #[arg(long)]
    no_icount: bool,
    /// Also run the Linux peer the same way; print ours/Linux ratios
    ///
    /// The peer boots a stock Debian kernel under the same QEMU (the first
    /// run downloads it).
    #[arg(long, verbatim_doc_comment, conflicts_with = "no_icount")]
    compare: bool,
    /// Boot N times of each kind
    ///
    /// Reports min/median/max and whether the instruction counts were
    /// identical.
    #[arg(long, verbatim_doc_comment, value_name = "N", default_value = "1", value_parser = clap::value_parser!(u16).range(1..=1000))]
    runs: u16,
    /// Where the instructions of one IPC round trip go, per function
    ///
    /// Boots a probe with QEMU's execution log (in target/bench/, deleted
    /// afterwards) and checks the total against ipc_roundtrip.words_0.
    #[arg(long, verbatim_doc_comment, conflicts_with = "no_icount")]
    breakdown: bool,
    /// Skip the two-CPU image (manifests/bench-smp.toml)
    ///
    /// By default it boots too: IPC with the server on the client's CPU
    /// and on the other one, two independent IPC pairs against one, and
    /// the cost of a TLB shootdown (instructions under icount, wall time
    /// under multi-threaded TCG).
    #[arg(long, verbatim_doc_comment)]
    no_smp: bool,
    /// Also write the whole report as JSON to FILE
    #[arg(long, value_name = "FILE", value_parser = non_empty_path)]
    json_out: Option<PathBuf>,
    /// Limit of each boot in seconds; 0 = none
    #[arg(long, value_name = "S", default_value = "120", value_parser = seconds)]
    timeout: Limit,
}

#[derive(Debug, Args)]
struct FuzzArgs {
    /// The first seed
    #[arg(long, value_name = "N", default_value_t = crate::fuzz::DEFAULT_SEED, value_parser = whole_number)]
    seed: u64,
    /// Syscalls per boot (`_` separators allowed: 1_000_000)
    #[arg(long, value_name = "M", default_value_t = crate::fuzz::DEFAULT_CALLS, value_parser = whole_number)]
    calls: u64,
    /// Boot K times, seeds N to N+K-1 (with --cpus C: N to N+K*C-1)
    #[arg(long, value_name = "K", default_value = "1", value_parser = clap::value_parser!(u64).range(1..))]
    seeds: u64,
    /// C CPUs, and a fuzzer on each at once (1 to 3)
    ///
    /// The fuzzer on CPU I of a boot whose first seed is N has seed N+I;
    /// each makes M calls.
    #[arg(long, verbatim_doc_comment, value_name = "C", default_value = "1", value_parser = clap::value_parser!(u8).range(1..=crate::fuzz::MAX_CPUS as i64))]
    cpus: u8,
    /// With several CPUs under TCG: one host thread per CPU
    #[arg(long)]
    parallel: bool,
    /// Limit of each boot in seconds; 0 = none (default: 60 + M*C/1000)
    #[arg(long, value_name = "S", value_parser = seconds)]
    timeout: Option<Limit>,
}

fn seconds(text: &str) -> Result<Limit, String> {
    let seconds = text
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0 && *s < 1e9)
        .ok_or_else(|| "expected seconds (0 for no limit)".to_string())?;
    Ok(Limit((seconds > 0.0).then(|| Duration::from_secs_f64(seconds))))
}

fn whole_number(text: &str) -> Result<u64, String> {
    text.replace('_', "")
        .parse::<u64>()
        .map_err(|_| "expected a whole number".to_string())
}

fn non_empty(text: &str) -> Result<String, String> {
    if text.is_empty() {
        Err("expected a value".into())
    } else {
        Ok(text.into())
    }
}

fn non_empty_path(text: &str) -> Result<PathBuf, String> {
    non_empty(text).map(PathBuf::from)
}

fn filter_spec(text: &str) -> Result<String, String> {
    Filter::parse(text).map(|_| text.to_string())
}

/// The filter of several checked specs.
fn filter_of(specs: &[String]) -> Filter {
    let mut filter = Filter::default();
    for spec in specs {
        // Each spec was checked by `filter_spec` when parsed.
        let _ = filter.add(spec);
    }
    filter
}

/// What `--trace` and its companions ask for.
#[derive(Debug, Default, PartialEq)]
pub struct TraceRequest {
    /// `None`: the default file, `target/trace/<manifest>.bin`.
    pub file: Option<PathBuf>,
    pub output: trace::Output,
}

/// A parsed command line, in the library's option types.
#[derive(Debug, PartialEq)]
pub enum Command {
    /// `cargo xtask` alone: the help.
    Help,
    Setup,
    Build {
        manifest: String,
    },
    Run {
        manifest: String,
        options: RunOptions,
        trace: Option<TraceRequest>,
        strict: bool,
        /// Decided when the command runs (whether stdin is a terminal).
        input: InputChoice,
        /// `--timeout` was given: a run on the terminal keeps it.
        timeout_given: bool,
    },
    TraceDecode {
        file: PathBuf,
        output: trace::Output,
    },
    Abi {
        json: bool,
        write: bool,
    },
    Bench(BenchOptions),
    Fuzz(FuzzOptions),
    New {
        name: String,
        dir: PathBuf,
    },
}

/// A mistake on the command line of `subcommand`, formatted like clap's own.
fn usage_error(subcommand: &str, message: impl std::fmt::Display) -> clap::Error {
    let mut cli = Cli::command();
    match cli.find_subcommand_mut(subcommand) {
        Some(command) => command
            .clone()
            .bin_name(format!("cargo xtask {subcommand}"))
            .error(ErrorKind::ArgumentConflict, message),
        None => cli.error(ErrorKind::ArgumentConflict, message),
    }
}

/// Parses the words after `cargo xtask`. `Err` is a usage error, or the
/// help clap prints for `--help` and `help` (exit status 0).
pub fn parse<I, T>(words: I) -> Result<Command, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = Cli::try_parse_from(std::iter::once("cargo xtask".into()).chain(words.into_iter().map(Into::into)))?;
    let Some(command) = cli.command else {
        return Ok(Command::Help);
    };
    Ok(match command {
        CliCommand::Setup => Command::Setup,
        CliCommand::Build(args) => Command::Build {
            manifest: args.manifest.manifest,
        },
        CliCommand::Run(args) => run_command(args)?,
        CliCommand::Trace(TraceCommand::Decode(args)) => Command::TraceDecode {
            file: args.file,
            output: trace::Output {
                filter: filter_of(&args.filter),
                lines: args.out,
                timeline: args.timeline,
            },
        },
        CliCommand::Abi(args) => Command::Abi {
            json: args.json,
            write: args.write,
        },
        CliCommand::Bench(args) => {
            let options = BenchOptions {
                accel: args.accel,
                icount: !args.no_icount,
                compare: args.compare,
                runs: usize::from(args.runs),
                breakdown: args.breakdown,
                smp: !args.no_smp,
                json: args.json_out,
                timeout: args.timeout.0,
                echo: true,
            };
            options.check().map_err(|message| usage_error("bench", message))?;
            Command::Bench(options)
        }
        CliCommand::New(args) => {
            crate::scaffold::check_name(&args.name).map_err(|message| usage_error("new", message))?;
            Command::New {
                dir: args.path.unwrap_or_else(|| PathBuf::from(&args.name)),
                name: args.name,
            }
        }
        CliCommand::Fuzz(args) => {
            let cpus = u64::from(args.cpus);
            let last = args
                .seeds
                .checked_mul(cpus)
                .and_then(|seeds| args.seed.checked_add(seeds - 1));
            if last.is_none() {
                return Err(usage_error("fuzz", "--seed plus --seeds runs past the largest seed"));
            }
            Command::Fuzz(FuzzOptions {
                seed: args.seed,
                calls: args.calls,
                seeds: args.seeds,
                cpus: usize::from(args.cpus),
                parallel: args.parallel,
                timeout: match args.timeout {
                    Some(limit) => limit.0,
                    None => Some(crate::fuzz::timeout_for(args.calls.saturating_mul(cpus))),
                },
            })
        }
    })
}

fn run_command(args: RunArgs) -> Result<Command, clap::Error> {
    if args.icount && args.accel == Accel::Kvm {
        return Err(usage_error("run", "--icount needs TCG (use --accel tcg or auto)"));
    }
    let append: Vec<&str> = args
        .append
        .iter()
        .map(|words| words.trim())
        .filter(|words| !words.is_empty())
        .collect();
    let options = RunOptions {
        accel: args.accel,
        machine: args.machine,
        timeout: match args.timeout {
            _ if args.gdb => None,
            Some(limit) => limit.0,
            None => Some(crate::qemu::DEFAULT_TIMEOUT),
        },
        append: append.join(" "),
        icount: args.icount,
        gdb: args.gdb,
        smp: args.smp.map(usize::from),
        parallel: args.parallel,
        echo: true,
        ..RunOptions::default()
    };
    let traced =
        args.trace.is_some() || !args.trace_filter.is_empty() || args.trace_out.is_some() || args.timeline.is_some();
    let trace = traced.then(|| TraceRequest {
        file: args.trace.flatten(),
        output: trace::Output {
            filter: filter_of(&args.trace_filter),
            lines: args.trace_out,
            timeline: args.timeline,
        },
    });
    Ok(Command::Run {
        manifest: args.manifest.manifest,
        options,
        trace,
        strict: args.strict,
        input: args.input,
        timeout_given: args.timeout.is_some(),
    })
}

/// The whole help text of `cargo xtask help`.
pub fn help() -> String {
    Cli::command().render_long_help().to_string()
}

/// `cargo xtask`'s `main`: parses the command line, runs the command and
/// returns the exit status.
pub fn main() -> std::process::ExitCode {
    let command = match parse(std::env::args_os().skip(1)) {
        Ok(command) => command,
        Err(error) => {
            let _ = error.print();
            return std::process::ExitCode::from(error.exit_code() as u8);
        }
    };
    match execute(command) {
        Ok(code) => std::process::ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::from(error.exit_code())
        }
    }
}

/// Runs a command; returns the exit status.
pub fn execute(command: Command) -> Result<u8, Error> {
    match command {
        Command::Help => {
            println!("{}", help().trim_end());
            Ok(0)
        }
        Command::Setup => {
            let setup = crate::setup::setup()?;
            println!("toolchain={}", setup.toolchain.channel);
            println!("sysroot={}", setup.sysroot.display());
            println!("targets={}", setup.toolchain.targets.join(","));
            println!("components={}", setup.toolchain.components.join(","));
            println!("qemu={}", setup.qemu.display());
            Ok(0)
        }
        Command::Build { manifest } => {
            let manifest = Manifest::load(&manifest)?;
            let image = crate::build_image(&manifest, &manifest.name)?;
            println!("kernel: {}", image.kernel.display());
            println!("initrd: {}", image.initrd.display());
            Ok(0)
        }
        Command::Run {
            manifest,
            mut options,
            trace,
            strict,
            input,
            timeout_given,
        } => {
            let terminal = match input {
                InputChoice::Auto => std::io::stdin().is_terminal(),
                InputChoice::Terminal => true,
                InputChoice::None => false,
            };
            if terminal {
                // A person types: the run lasts until the guest ends it (or
                // Ctrl-] x), unless a limit was asked for.
                options.input = crate::Input::Terminal;
                if !timeout_given {
                    options.timeout = None;
                }
            }
            let manifest = Manifest::load(&manifest)?;
            let image = crate::build_image(&manifest, &manifest.name)?;
            if let Some(request) = &trace {
                options.trace = Some(request.file.clone().unwrap_or_else(|| trace::default_file(&image.name)));
            }
            let outcome = crate::run(&image, &options)?;
            let mut code = outcome.status.exit_code();
            if let (Some(request), Some(file)) = (&trace, &outcome.trace)
                && let Err(error) = decode(file, &request.output, Stream::Stderr)
            {
                eprintln!("error: {error}");
                code = error.exit_code();
            }
            for line in &outcome.symbolized {
                eprintln!("xtask: {line}");
            }
            match outcome.status {
                crate::GuestStatus::Exited(0) => {}
                crate::GuestStatus::Exited(_) => eprintln!("xtask: {}", outcome.status),
                _ => eprintln!("error: {}", outcome.status),
            }
            if strict {
                let problems = crate::endings::unexpected(&manifest, &outcome.serial);
                for problem in &problems {
                    eprintln!("error: --strict: {problem}");
                }
                if !problems.is_empty() && code == 0 {
                    code = crate::EXIT_UNEXPECTED;
                }
            }
            Ok(code)
        }
        Command::TraceDecode { file, output } => {
            decode(&file, &output, Stream::Stdout)?;
            Ok(0)
        }
        Command::Abi { json: true, .. } => {
            print!("{}", crate::reference::json_text());
            Ok(0)
        }
        Command::Abi { json: false, write } => {
            if !write {
                print!("{}", crate::reference::markdown());
                return Ok(0);
            }
            let path = crate::reference::document_path();
            if crate::reference::write_document()? {
                eprintln!("xtask: rewrote the generated section of {}", path.display());
            } else {
                eprintln!("xtask: {} is up to date", path.display());
            }
            Ok(0)
        }
        Command::Bench(options) => bench(&options),
        Command::New { name, dir } => {
            let written = crate::scaffold::new_crate(&name, &dir)?;
            for path in &written {
                println!("{}", path.display());
            }
            eprintln!(
                "xtask: wrote the crate {name} in {}; build and boot it with: cd {} && cargo build && cargo xtask run --manifest {name}.toml",
                dir.display(),
                dir.display()
            );
            Ok(0)
        }
        Command::Fuzz(options) => crate::fuzz::run_command(&options),
    }
}

/// Runs the benchmarks and prints the `key=value` lines, then the tables.
fn bench(options: &BenchOptions) -> Result<u8, Error> {
    let report = crate::bench::run(options)?;
    let mut out = String::new();
    for (key, value) in report.key_values() {
        out.push_str(&format!("{key}={value}\n"));
    }
    out.push('\n');
    out.push_str(&report.text());
    print!("{out}");
    if let Some(path) = &options.json {
        let text = serde_json::to_string_pretty(&report.json()).unwrap_or_default() + "\n";
        std::fs::write(path, text).map_err(|e| Error::Bench(format!("cannot write {}: {e}", path.display())))?;
        eprintln!("xtask: bench: report written to {}", path.display());
    }
    if let Some(LinuxPeer::Failed { message, .. }) = &report.linux {
        eprintln!("error: --compare: the Linux peer failed: {message}");
        return Ok(crate::EXIT_ERROR);
    }
    Ok(0)
}

/// Decodes a trace file and says where the results went.
fn decode(file: &Path, output: &trace::Output, stream: Stream) -> Result<(), Error> {
    let lines = trace::report(file, output, stream)?;
    if let Some(path) = &output.lines {
        eprintln!("xtask: trace: {lines} lines written to {}", path.display());
    }
    if let Some(path) = &output.timeline {
        eprintln!(
            "xtask: timeline written to {} (open it in https://ui.perfetto.dev)",
            path.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_line(line: &str) -> Result<Command, clap::Error> {
        parse(line.split_whitespace())
    }

    fn run_options(line: &str) -> RunOptions {
        match parse_line(line) {
            Ok(Command::Run { options, .. }) => options,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn the_declaration_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn defaults() {
        assert_eq!(parse_line("").unwrap(), Command::Help);
        assert_eq!(parse_line("setup").unwrap(), Command::Setup);
        assert_eq!(
            parse_line("new kv").unwrap(),
            Command::New {
                name: "kv".into(),
                dir: "kv".into()
            }
        );
        assert_eq!(
            parse_line("new kv --path /tmp/x").unwrap(),
            Command::New {
                name: "kv".into(),
                dir: "/tmp/x".into()
            }
        );
        assert_eq!(
            parse_line("build").unwrap(),
            Command::Build {
                manifest: "demo".into()
            }
        );
        let options = run_options("run");
        assert_eq!(options.accel, Accel::Auto);
        assert_eq!(options.machine, Machine::Microvm);
        assert_eq!(options.timeout, Some(Duration::from_secs(60)));
        assert!(options.echo && !options.icount && !options.gdb);
    }

    #[test]
    fn options() {
        let options =
            run_options("run --accel tcg --machine=q35 --timeout 2.5 --append fault=pf --append log=debug --icount");
        assert_eq!(options.accel, Accel::Tcg);
        assert_eq!(options.machine, Machine::Q35);
        assert_eq!(options.timeout, Some(Duration::from_millis(2500)));
        assert_eq!(options.append, "fault=pf log=debug");
        assert!(options.icount);
        assert_eq!(run_options("run --timeout 0").timeout, None);
        assert_eq!(run_options("run --gdb --timeout 5").timeout, None);
        assert!(matches!(
            parse_line("run --strict"),
            Ok(Command::Run { strict: true, .. })
        ));
        // Whether the terminal is the input is decided when the run starts;
        // a run on the terminal keeps only a timeout that was asked for.
        assert!(matches!(
            parse_line("run --input terminal"),
            Ok(Command::Run {
                input: InputChoice::Terminal,
                timeout_given: false,
                ..
            })
        ));
        assert!(matches!(
            parse_line("run --input none --timeout 5"),
            Ok(Command::Run {
                input: InputChoice::None,
                timeout_given: true,
                ..
            })
        ));
        assert!(parse_line("run --input keyboard").is_err());
        assert_eq!(
            parse_line("run --manifest manifests/x.toml").unwrap(),
            Command::Run {
                manifest: "manifests/x.toml".into(),
                options: run_options("run"),
                trace: None,
                strict: false,
                input: InputChoice::Auto,
                timeout_given: false,
            }
        );
    }

    fn trace_request(line: &str) -> Option<TraceRequest> {
        match parse_line(line) {
            Ok(Command::Run { trace, .. }) => trace,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn trace_options() {
        assert_eq!(trace_request("run"), None);
        assert_eq!(trace_request("run --trace"), Some(TraceRequest::default()));
        assert_eq!(trace_request("run --trace --icount").unwrap().file, None);
        assert_eq!(trace_request("run --trace t.bin").unwrap().file, Some("t.bin".into()));
        assert_eq!(trace_request("run --trace=t.bin").unwrap().file, Some("t.bin".into()));
        let request =
            trace_request("run --trace-filter hello --trace-filter syscall=write --trace-out l.txt --timeline t.json")
                .expect("the trace options imply --trace");
        assert_eq!(request.file, None);
        assert_eq!(request.output.filter.programs, ["hello"]);
        assert_eq!(request.output.filter.syscalls, [abi::Syscall::Write]);
        assert_eq!(request.output.lines, Some("l.txt".into()));
        assert_eq!(request.output.timeline, Some("t.json".into()));
        match parse_line("trace decode t.bin --filter hello,syscall=call --out x --timeline y.json").unwrap() {
            Command::TraceDecode { file, output } => {
                assert_eq!(file, PathBuf::from("t.bin"));
                assert_eq!(output.filter.syscalls, [abi::Syscall::Call]);
                assert_eq!(output.lines, Some("x".into()));
                assert_eq!(output.timeline, Some("y.json".into()));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            parse_line("abi --markdown --write").unwrap(),
            Command::Abi {
                json: false,
                write: true
            }
        );
        assert_eq!(
            parse_line("abi --json").unwrap(),
            Command::Abi {
                json: true,
                write: false
            }
        );
    }

    fn bench_options(line: &str) -> BenchOptions {
        match parse_line(line) {
            Ok(Command::Bench(options)) => options,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn bench_options_parse() {
        assert_eq!(bench_options("bench"), BenchOptions::default());
        let options = bench_options("bench --accel auto --compare --runs 3 --breakdown --json-out=r.json --timeout 30");
        assert_eq!(options.accel, Accel::Auto);
        assert!(options.compare && options.breakdown && options.icount);
        assert_eq!(options.runs, 3);
        assert_eq!(options.json, Some(PathBuf::from("r.json")));
        assert_eq!(options.timeout, Some(Duration::from_secs(30)));
        assert_eq!(bench_options("bench --timeout 0").timeout, None);
        let options = bench_options("bench --no-icount --accel kvm");
        assert!(!options.icount);
        assert_eq!(options.accel, Accel::Kvm);
        assert!(options.smp);
        assert!(!bench_options("bench --no-smp").smp);
    }

    fn fuzz_options(line: &str) -> FuzzOptions {
        match parse_line(line) {
            Ok(Command::Fuzz(options)) => options,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn fuzz_options_parse() {
        assert_eq!(fuzz_options("fuzz"), FuzzOptions::default());
        assert_eq!(
            fuzz_options("fuzz --seed 7 --calls=1_000_000 --seeds 10 --timeout 90"),
            FuzzOptions {
                seed: 7,
                calls: 1_000_000,
                seeds: 10,
                cpus: 1,
                parallel: false,
                timeout: Some(Duration::from_secs(90)),
            }
        );
        let options = fuzz_options("fuzz --cpus 2 --calls 5000 --parallel");
        assert_eq!((options.cpus, options.parallel), (2, true));
        assert_eq!(options.timeout, Some(crate::fuzz::timeout_for(10_000)));
        assert_eq!(fuzz_options("fuzz --timeout 0").timeout, None);
        assert_eq!(
            fuzz_options("fuzz --calls 5000").timeout,
            Some(crate::fuzz::timeout_for(5000))
        );
    }

    /// `--timeout` takes the same values, with the same meaning, wherever
    /// it appears: seconds per boot, 0 for none.
    #[test]
    fn one_meaning_per_option_name() {
        assert_eq!(run_options("run --timeout 0").timeout, None);
        assert_eq!(bench_options("bench --timeout 0").timeout, None);
        assert_eq!(fuzz_options("fuzz --timeout 0").timeout, None);
        for command in ["run", "bench", "fuzz"] {
            let help = Cli::command()
                .find_subcommand_mut(command)
                .unwrap()
                .render_long_help()
                .to_string();
            assert!(help.contains("seconds; 0 = none"), "{command}: {help}");
        }
    }

    #[test]
    fn help_names_every_command_and_nothing_outside_the_repository() {
        let mut command = Cli::command();
        let mut texts = vec![help()];
        for sub in ["setup", "build", "run", "abi", "bench", "fuzz", "new"] {
            texts.push(command.find_subcommand_mut(sub).unwrap().render_long_help().to_string());
        }
        for text in &texts {
            assert!(!text.contains("shared/"), "{text}");
            assert!(!text.to_lowercase().contains("issue "), "{text}");
        }
        for sub in ["setup", "build", "run", "trace", "abi", "bench", "fuzz", "new", "help"] {
            assert!(texts[0].contains(&format!("  {sub}")), "no {sub} in\n{}", texts[0]);
        }
    }

    #[test]
    fn help_is_not_an_error() {
        for line in ["--help", "-h", "help", "help run", "run --help", "trace decode --help"] {
            let error = parse_line(line).unwrap_err();
            assert_eq!(error.exit_code(), 0, "{line}");
        }
    }

    #[test]
    fn mistakes_are_usage_errors() {
        for line in [
            "frobnicate",
            "run --accel fast",
            "run --machine pc",
            "run --timeout soon",
            "run --timeout -1",
            "run --bogus",
            "run --manifest",
            "run --manifest=",
            "build --accel tcg",
            "run --icount --accel kvm",
            "run --gdb=yes",
            "run --trace-filter syscall=nope",
            "run --trace-filter colour=red",
            "run --trace=",
            "run --timeline",
            "setup --bogus",
            "trace",
            "trace encode x.bin",
            "trace decode",
            "trace decode a.bin b.bin",
            "trace decode a.bin --bogus",
            "abi",
            "abi --json --markdown",
            "abi --json --write",
            "abi --yaml",
            "bench --runs 0",
            "bench --runs many",
            "bench --accel fast",
            "bench --no-icount --compare",
            "bench --no-icount --breakdown",
            "bench --json-out",
            "bench --json-out=",
            "bench --json x.json",
            "bench --timeout -1",
            "bench --compare=yes",
            "bench --manifest demo",
            "fuzz --seed",
            "fuzz --seed x",
            "fuzz --calls -1",
            "fuzz --seeds 0",
            "fuzz --timeout soon",
            "fuzz --bogus",
            "fuzz --seed 18446744073709551615 --seeds 2",
            "fuzz --seed 18446744073709551614 --seeds 1 --cpus 3",
            "fuzz --cpus 0",
            "fuzz --cpus 4",
            "new",
            "new Bad",
            "new console",
            "new kv extra",
        ] {
            match parse_line(line) {
                Err(error) => assert_eq!(error.exit_code(), i32::from(crate::EXIT_USAGE), "{line}: {error}"),
                other => panic!("{line}: {other:?}"),
            }
        }
    }
}
