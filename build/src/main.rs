//! `cargo xtask`: the command line of the build tool (the work is in the
//! library, `build/src/lib.rs`).
//!
//! ```text
//! cargo xtask setup
//! cargo xtask build [--manifest NAME|PATH]
//! cargo xtask run   [--manifest NAME|PATH] [--accel tcg|kvm|auto] [--machine microvm|q35]
//!                   [--gdb] [--timeout S] [--append "kernel cmdline"] [--icount]
//!                   [--trace [FILE]] [--trace-filter SPEC] [--trace-out FILE] [--timeline OUT.json]
//! cargo xtask trace decode FILE [--filter SPEC] [--out FILE] [--timeline OUT.json]
//! cargo xtask abi --markdown [--write] | --json
//! cargo xtask fuzz [--seed N] [--calls M] [--seeds K] [--timeout S]
//! cargo xtask bench [--accel tcg|kvm|auto] [--no-icount] [--compare] [--runs N]
//!                   [--breakdown] [--json FILE] [--timeout S]
//! ```
//!
//! Exit status of `cargo xtask run`: the guest's exit value (0 = every
//! program finished; see `abi::machine`), 124 when the run timed out, 126
//! when QEMU stopped without a guest exit status. Any command: 125 for an
//! error of the tool itself (bad manifest, failed build, QEMU missing or not
//! startable), 2 for a mistake on the command line.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use xtask::bench::{BenchOptions, LinuxPeer};
use xtask::trace::{self, Filter, Stream};
use xtask::{Accel, Error, Machine, Manifest, RunOptions};

const HELP: &str = "\
cargo xtask: build the kernel and programs, pack boot images, run them in QEMU

USAGE:
    cargo xtask setup
    cargo xtask build [--manifest NAME|PATH]
    cargo xtask run [--manifest NAME|PATH] [--accel tcg|kvm|auto] [--machine microvm|q35]
                    [--gdb] [--timeout S] [--append \"kernel cmdline\"] [--icount]
                    [--trace [FILE]] [--trace-filter SPEC] [--trace-out FILE]
                    [--timeline OUT.json]
    cargo xtask trace decode FILE [--filter SPEC] [--out FILE] [--timeline OUT.json]
    cargo xtask abi --markdown [--write]
    cargo xtask abi --json
    cargo xtask bench [--accel tcg|kvm|auto] [--no-icount] [--compare] [--runs N]
                      [--breakdown] [--json FILE] [--timeout S]
    cargo xtask fuzz [--seed N] [--calls M] [--seeds K] [--timeout S]
    cargo xtask help (or --help, -h, after any command too)

COMMANDS:
    setup    make sure the pinned toolchain (rust-toolchain.toml) has the
             x86_64-unknown-none target and its components, and that QEMU is
             installed; installs what is missing (rustup; apt-get as root).
             Every command that builds does the target part by itself
    build    Cross-build the kernel and every program of the manifest, and write
             target/image/<manifest>/kernel and target/image/<manifest>/initrd.cpio
             (and a copy of each program's ELF in target/image/<manifest>/elf/)
    run      build, then boot the image in QEMU; serial output goes to stdout.
             Afterwards, fault reports in the output (a program killed by a
             fault, a kernel fault, a kernel panic) are resolved to function and
             source line from the ELF debug info, on stderr, innermost first:
               xtask: faulty[7] at 0x20154a: core::ptr::read_volatile at .../ptr/mod.rs:2091:9
               xtask:     inlined into faulty::main at servers/demo/src/bin/faulty.rs:12:26
    trace decode
             print a trace file (from run --trace) strace-style on stdout
    abi      print the ABI reference generated from the abi crate: --markdown
             (the generated part of docs/abi.md; --write rewrites it there) or
             --json (the whole ABI for other tools; its schema is
             docs/abi.schema.json)
    fuzz     boot the ring-3 syscall fuzzer under TCG: M random and edge-case
             syscalls from seed N, each result checked against the ABI table,
             then the kernel's resource counters compared with the start (see
             docs/reliability.md). Serial output goes to stdout, then a table
             (seed, calls, violations, counters, ticks, wall time)
    bench    build manifests/bench.toml and boot it under TCG with
             -icount shift=0,align=off, where the guest TSC counts executed
             instructions: every figure is an exact number of guest
             instructions per operation, the same on every run. Then boot it
             once more without icount for wall time (TSC units turned into ns
             with the guest's bench.tsc_per_tick). Prints key=value lines
             (null_syscall.instructions=47, null_syscall.ns=61.2, ...), then
             tables: the benchmarks beside the seL4 reference, the targets of
             issue 7, and what the options add. See docs/performance.md

OPTIONS (build, run):
    --manifest NAME|PATH   manifests/NAME.toml, or a TOML file (default: demo)

OPTIONS (run):
    --accel tcg|kvm|auto   QEMU accelerator (default: auto = KVM only if a probe
                           boot proves it works, else TCG)
    --machine microvm|q35  QEMU machine type (default: microvm)
    --timeout S            kill QEMU after S seconds; 0 = never (default: 60)
    --append \"...\"         added to the manifest's kernel command line
                           (e.g. log=debug, fault=pf)
    --icount               -icount shift=0,align=off (TCG only); makes trace
                           timestamps count instructions
    --gdb                  start paused with a GDB server on :1234 (no timeout)
    --trace [FILE]         record the kernel's syscall trace in FILE (default:
                           target/trace/<manifest>.bin): adds `trace` to the
                           kernel command line and an isa-debugcon device at
                           port 0xe9; after the run, the decoded trace goes to
                           stderr (serial output stays on stdout)
    --trace-filter SPEC    show only these programs and syscalls (implies --trace)
    --trace-out FILE       write the decoded trace to FILE instead of stderr
                           (implies --trace)
    --timeline OUT.json    also write a Chrome trace / Perfetto timeline (open it
                           in https://ui.perfetto.dev) (implies --trace)

OPTIONS (bench):
    --accel tcg|kvm|auto   accelerator of the wall-time boots (default: tcg; kvm
                           only when a probe boot shows it works; the icount
                           boots are always TCG)
    --no-icount            only the wall-time boots
    --runs N               boot N times of each kind; report min/median/max and
                           whether the instruction counts were identical
                           (default: 1)
    --compare              also run the Linux peer under the same method
                           (../shared/peers/linux/run.sh --tcg --icount --boot pvh
                           --scale 0.2, beside the workspace; skipped with a note
                           when missing) and print ours/Linux ratios
    --breakdown            where the instructions of one IPC round trip go, per
                           function and direction: boots a probe with QEMU's
                           execution log (target/bench/, deleted afterwards) and
                           checks the total against ipc_roundtrip.words_0
    --json FILE            also write the whole report as JSON to FILE
    --timeout S            limit for each boot in seconds (default: 120)

OPTIONS (fuzz):
    --seed N               the first seed (default: 1)
    --calls M              syscalls per boot (default: 100000)
    --seeds K              boot K times, seeds N to N+K-1 (default: 1)
    --timeout S            limit of each boot in seconds; 0 = scaled with M
                           (default: 60 + M/1000)

OPTIONS (trace decode):
    --filter SPEC          as --trace-filter
    --out FILE             write the lines to FILE instead of stdout
    --timeline OUT.json    also write a Chrome trace / Perfetto timeline

TRACE FILTERS:
    SPEC is a comma-separated list of values for the keys program (process
    names or pids; the default key) and syscall (names from the syscall table);
    `key=value` switches the key for it and the values that follow. Repeated
    filters add up. Examples:
        hello,console            what hello and console do
        syscall=write,call       every program's write and call syscalls
        hello,syscall=write      hello's writes
    Process starts, faults and ends ignore the syscall list.

TRACE LINES:
    hello[3] write(fd=1, buf=0x2037a0 \"Hello from ring 3!\\n\", len=19) = 19
    console[1] reply_recv(handle=0, ...) = 0 <- hello[3] badge=9 {label=1 words=6 len=19 flags=KERNEL} [...]
    pingpong[6] handle_close(handle=261) = -3 EBADHANDLE (no such handle)
    faulty[7] --- page fault at 0x20154a (read of 0x0, not present) ---
    +++ hello[3] exited with status 0 +++
    A syscall is printed when it returns (a blocking one after what happened
    while it waited); `<- name[pid]` is the process a message or reply came
    from, `-> name[pid]` the one a message went to.

TIMELINE:
    One track per process, one slice per syscall (Enter to Exit), instants for
    starts, faults and ends, flow arrows from each message's sender to its
    receiver and from each reply to its caller, and a CPU track. Times are
    guest TSC counts since the first record / 1000 (so microseconds at 1 GHz;
    with --icount, 1 us = 1000 instructions).

EXIT STATUS (fuzz):
    0 when every boot exited 0 with 0 violations, every call made and the
    counters unchanged; 1 otherwise; 125 when the image could not be built
    or QEMU not started

EXIT STATUS (run):
    the guest's exit value: 0 = all programs finished, 16 kernel panic,
    17 kernel fault, 18 deadlock, 19 unusable boot image
    124  timed out
    125  error of the tool itself (bad manifest, build failed, QEMU missing,
         unreadable trace)
    126  QEMU stopped without a guest exit status (triple fault, QEMU error)
    2    bad command line

EXIT STATUS (bench):
    0 when every boot printed its figures; 125 when a boot failed, timed out
    or never printed bench.status=done (the error quotes its last lines), or
    when --compare's Linux peer failed (after printing everything else)
";

/// What `--trace` and its companions ask for.
#[derive(Debug, Default, PartialEq)]
struct TraceRequest {
    /// `None`: the default file, `target/trace/<manifest>.bin`.
    file: Option<PathBuf>,
    output: trace::Output,
}

#[derive(Debug, PartialEq)]
enum Command {
    Help,
    Setup,
    Build {
        manifest: String,
    },
    Run {
        manifest: String,
        options: RunOptions,
        trace: Option<TraceRequest>,
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
    Fuzz(xtask::fuzz::FuzzOptions),
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match parse(&args) {
        Ok(command) => command,
        Err(error) => {
            eprintln!("error: {error}");
            eprintln!("(see `cargo xtask help`)");
            return ExitCode::from(error.exit_code());
        }
    };
    match execute(command) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

fn execute(command: Command) -> Result<u8, Error> {
    match command {
        Command::Help => {
            print!("{HELP}");
            Ok(0)
        }
        Command::Setup => {
            let setup = xtask::setup::setup()?;
            println!("toolchain={}", setup.toolchain.channel);
            println!("sysroot={}", setup.sysroot.display());
            println!("targets={}", setup.toolchain.targets.join(","));
            println!("components={}", setup.toolchain.components.join(","));
            println!("qemu={}", setup.qemu.display());
            Ok(0)
        }
        Command::Build { manifest } => {
            let manifest = Manifest::load(&manifest)?;
            let image = xtask::build_image(&manifest, &manifest.name)?;
            println!("kernel: {}", image.kernel.display());
            println!("initrd: {}", image.initrd.display());
            Ok(0)
        }
        Command::Run {
            manifest,
            mut options,
            trace,
        } => {
            let manifest = Manifest::load(&manifest)?;
            let image = xtask::build_image(&manifest, &manifest.name)?;
            if let Some(request) = &trace {
                options.trace = Some(request.file.clone().unwrap_or_else(|| trace::default_file(&image.name)));
            }
            let outcome = xtask::run(&image, &options)?;
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
                xtask::GuestStatus::Exited(0) => {}
                xtask::GuestStatus::Exited(_) => eprintln!("xtask: {}", outcome.status),
                _ => eprintln!("error: {}", outcome.status),
            }
            Ok(code)
        }
        Command::TraceDecode { file, output } => {
            decode(&file, &output, Stream::Stdout)?;
            Ok(0)
        }
        Command::Abi { json: true, .. } => {
            print!("{}", xtask::reference::json_text());
            Ok(0)
        }
        Command::Bench(options) => bench(&options),
        Command::Fuzz(options) => xtask::fuzz::run_command(&options),
        Command::Abi { json: false, write } => {
            if !write {
                print!("{}", xtask::reference::markdown());
                return Ok(0);
            }
            let path = xtask::reference::document_path();
            if xtask::reference::write_document()? {
                eprintln!("xtask: rewrote the generated section of {}", path.display());
            } else {
                eprintln!("xtask: {} is up to date", path.display());
            }
            Ok(0)
        }
    }
}

/// Runs the benchmarks and prints the `key=value` lines, then the tables.
fn bench(options: &BenchOptions) -> Result<u8, Error> {
    let report = xtask::bench::run(options)?;
    let mut out = String::new();
    for (key, value) in report.key_values() {
        out.push_str(&format!("{key}={value}\n"));
    }
    out.push('\n');
    out.push_str(&report.text());
    print!("{out}");
    if let Some(path) = &options.json {
        let text = serde_json::to_string_pretty(&report.json()).unwrap_or_default() + "\n";
        std::fs::write(path, text).map_err(|e| xtask::Error::Bench(format!("cannot write {}: {e}", path.display())))?;
        eprintln!("xtask: bench: report written to {}", path.display());
    }
    if let Some(LinuxPeer::Failed { message, .. }) = &report.linux {
        eprintln!("error: --compare: the Linux peer failed: {message}");
        return Ok(xtask::EXIT_ERROR);
    }
    Ok(0)
}

/// Decodes a trace file and says where the results went.
fn decode(file: &std::path::Path, output: &trace::Output, stream: Stream) -> Result<(), Error> {
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

fn usage(message: impl Into<String>) -> Error {
    Error::Usage(message.into())
}

/// Splits `--flag=value` and fetches the value of a flag that takes one.
struct Arguments<'a> {
    rest: std::iter::Peekable<std::slice::Iter<'a, String>>,
}

impl<'a> Arguments<'a> {
    fn new(args: &'a [String]) -> Self {
        Self {
            rest: args.iter().peekable(),
        }
    }

    /// The next flag and its inline value (`--flag=value`).
    fn next_flag(&mut self) -> Option<(&'a str, Option<String>)> {
        let arg = self.rest.next()?;
        Some(match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_string())),
            _ => (arg.as_str(), None),
        })
    }

    /// The value of `flag`: inline, or the next argument.
    fn value(&mut self, flag: &str, inline: Option<String>) -> Result<String, Error> {
        match inline {
            Some(value) => Ok(value),
            None => self
                .rest
                .next()
                .cloned()
                .ok_or_else(|| usage(format!("{flag} needs a value"))),
        }
    }

    /// The value of a flag whose value is optional: inline, or the next
    /// argument unless it is another flag.
    fn optional_value(&mut self, inline: Option<String>) -> Option<String> {
        inline.or_else(|| self.rest.next_if(|next| !next.starts_with('-')).cloned())
    }
}

fn no_value(flag: &str, inline: &Option<String>) -> Result<(), Error> {
    match inline {
        Some(_) => Err(usage(format!("{flag} takes no value"))),
        None => Ok(()),
    }
}

fn add_filter(filter: &mut Filter, flag: &str, spec: &str) -> Result<(), Error> {
    filter.add(spec).map_err(|message| usage(format!("{flag}: {message}")))
}

fn parse(args: &[String]) -> Result<Command, Error> {
    let Some((name, rest)) = args.split_first() else {
        return Ok(Command::Help);
    };
    if rest.iter().any(|arg| matches!(arg.as_str(), "--help" | "-h")) {
        return Ok(Command::Help);
    }
    match name.as_str() {
        "help" | "--help" | "-h" => Ok(Command::Help),
        "setup" if rest.is_empty() => Ok(Command::Setup),
        "setup" => Err(usage("`setup` takes no options")),
        "build" | "run" => parse_build_or_run(name == "run", rest),
        "trace" => parse_trace(rest),
        "abi" => parse_abi(rest),
        "bench" => parse_bench(rest),
        "fuzz" => xtask::fuzz::parse_args(rest).map(Command::Fuzz),
        other => Err(usage(format!(
            "unknown command `{other}` (expected setup, build, run, trace, abi, bench, fuzz or help)"
        ))),
    }
}

fn parse_build_or_run(is_run: bool, args: &[String]) -> Result<Command, Error> {
    let mut manifest = String::from("demo");
    let mut options = RunOptions {
        accel: Accel::Auto,
        echo: true,
        ..RunOptions::default()
    };
    let mut trace: Option<TraceRequest> = None;
    let mut arguments = Arguments::new(args);
    while let Some((flag, inline)) = arguments.next_flag() {
        if !is_run && flag != "--manifest" {
            return Err(usage(format!("`build` takes only --manifest, not `{flag}`")));
        }
        match flag {
            "--manifest" => manifest = arguments.value(flag, inline)?,
            "--accel" => {
                let value = arguments.value(flag, inline)?;
                options.accel = Accel::parse(&value)
                    .ok_or_else(|| usage(format!("--accel must be tcg, kvm or auto, not `{value}`")))?
            }
            "--machine" => {
                let value = arguments.value(flag, inline)?;
                options.machine = Machine::parse(&value)
                    .ok_or_else(|| usage(format!("--machine must be microvm or q35, not `{value}`")))?
            }
            "--timeout" => {
                let value = arguments.value(flag, inline)?;
                let seconds = value
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s >= 0.0 && *s < 1e9)
                    .ok_or_else(|| usage(format!("--timeout takes seconds, not `{value}`")))?;
                options.timeout = (seconds > 0.0).then(|| Duration::from_secs_f64(seconds));
            }
            "--append" => {
                let value = arguments.value(flag, inline)?;
                if !options.append.is_empty() {
                    options.append.push(' ');
                }
                options.append.push_str(value.trim());
            }
            "--icount" => {
                no_value(flag, &inline)?;
                options.icount = true;
            }
            "--gdb" => {
                no_value(flag, &inline)?;
                options.gdb = true;
            }
            "--trace" => {
                let file = arguments.optional_value(inline);
                if file.as_deref() == Some("") {
                    return Err(usage("--trace= needs a file name"));
                }
                trace.get_or_insert_default().file = file.map(PathBuf::from);
            }
            "--trace-filter" => {
                let spec = arguments.value(flag, inline)?;
                add_filter(&mut trace.get_or_insert_default().output.filter, flag, &spec)?;
            }
            "--trace-out" => {
                trace.get_or_insert_default().output.lines = Some(arguments.value(flag, inline)?.into());
            }
            "--timeline" => {
                trace.get_or_insert_default().output.timeline = Some(arguments.value(flag, inline)?.into());
            }
            other => return Err(usage(format!("unknown option `{other}`"))),
        }
    }
    if manifest.is_empty() {
        return Err(usage("--manifest needs a name or a path"));
    }
    if options.icount && options.accel == Accel::Kvm {
        return Err(usage("--icount needs TCG (use --accel tcg or auto)"));
    }
    if options.gdb {
        options.timeout = None;
    }
    Ok(if is_run {
        Command::Run {
            manifest,
            options,
            trace,
        }
    } else {
        Command::Build { manifest }
    })
}

fn parse_trace(args: &[String]) -> Result<Command, Error> {
    let Some((action, rest)) = args.split_first() else {
        return Err(usage("`trace` needs an action: trace decode FILE"));
    };
    if action != "decode" {
        return Err(usage(format!("unknown trace action `{action}` (expected decode)")));
    }
    let mut file: Option<PathBuf> = None;
    let mut output = trace::Output::default();
    let mut arguments = Arguments::new(rest);
    while let Some((flag, inline)) = arguments.next_flag() {
        match flag {
            "--filter" | "--trace-filter" => {
                let spec = arguments.value(flag, inline)?;
                add_filter(&mut output.filter, flag, &spec)?;
            }
            "--out" => output.lines = Some(arguments.value(flag, inline)?.into()),
            "--timeline" => output.timeline = Some(arguments.value(flag, inline)?.into()),
            other if other.starts_with('-') && other.len() > 1 => {
                return Err(usage(format!("unknown option `{other}`")));
            }
            path if file.is_none() => file = Some(path.into()),
            extra => return Err(usage(format!("trace decode takes one file, not also `{extra}`"))),
        }
    }
    let file = file.ok_or_else(|| usage("trace decode needs a trace file"))?;
    Ok(Command::TraceDecode { file, output })
}

fn parse_abi(args: &[String]) -> Result<Command, Error> {
    let (mut markdown, mut json, mut write) = (false, false, false);
    let mut arguments = Arguments::new(args);
    while let Some((flag, inline)) = arguments.next_flag() {
        no_value(flag, &inline)?;
        match flag {
            "--markdown" => markdown = true,
            "--json" => json = true,
            "--write" => write = true,
            other => return Err(usage(format!("unknown option `{other}`"))),
        }
    }
    match (markdown, json) {
        (true, true) => Err(usage("give either --markdown or --json, not both")),
        (false, false) => Err(usage("`abi` needs --markdown or --json")),
        (_, true) if write => Err(usage("--write goes with --markdown (it rewrites docs/abi.md)")),
        _ => Ok(Command::Abi { json, write }),
    }
}

fn parse_bench(args: &[String]) -> Result<Command, Error> {
    let mut options = BenchOptions::default();
    let mut arguments = Arguments::new(args);
    while let Some((flag, inline)) = arguments.next_flag() {
        match flag {
            "--accel" => {
                let value = arguments.value(flag, inline)?;
                options.accel = Accel::parse(&value)
                    .ok_or_else(|| usage(format!("--accel must be tcg, kvm or auto, not `{value}`")))?
            }
            "--no-icount" => {
                no_value(flag, &inline)?;
                options.icount = false;
            }
            "--compare" => {
                no_value(flag, &inline)?;
                options.compare = true;
            }
            "--breakdown" => {
                no_value(flag, &inline)?;
                options.breakdown = true;
            }
            "--runs" => {
                let value = arguments.value(flag, inline)?;
                options.runs = value
                    .parse::<usize>()
                    .ok()
                    .filter(|runs| (1..=1000).contains(runs))
                    .ok_or_else(|| usage(format!("--runs takes a number from 1 to 1000, not `{value}`")))?;
            }
            "--json" => {
                let value = arguments.value(flag, inline)?;
                if value.is_empty() {
                    return Err(usage("--json needs a file name"));
                }
                options.json = Some(value.into());
            }
            "--timeout" => {
                let value = arguments.value(flag, inline)?;
                options.timeout = value
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s > 0.0 && *s < 1e9)
                    .map(Duration::from_secs_f64)
                    .ok_or_else(|| usage(format!("--timeout takes seconds (more than 0), not `{value}`")))?;
            }
            other => return Err(usage(format!("unknown option `{other}`"))),
        }
    }
    options.check().map_err(usage)?;
    Ok(Command::Bench(options))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_line(line: &str) -> Result<Command, Error> {
        let args: Vec<String> = line.split_whitespace().map(String::from).collect();
        parse(&args)
    }

    fn run_options(line: &str) -> RunOptions {
        match parse_line(line) {
            Ok(Command::Run { options, .. }) => options,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        assert_eq!(parse_line("").unwrap(), Command::Help);
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
        assert_eq!(
            parse_line("run --manifest manifests/x.toml").unwrap(),
            Command::Run {
                manifest: "manifests/x.toml".into(),
                options: run_options("run"),
                trace: None,
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
        let options = bench_options("bench --accel auto --compare --runs 3 --breakdown --json=r.json --timeout 30");
        assert_eq!(options.accel, Accel::Auto);
        assert!(options.compare && options.breakdown && options.icount);
        assert_eq!(options.runs, 3);
        assert_eq!(options.json, Some(PathBuf::from("r.json")));
        assert_eq!(options.timeout, Duration::from_secs(30));
        let options = bench_options("bench --no-icount --accel kvm");
        assert!(!options.icount);
        assert_eq!(options.accel, Accel::Kvm);
    }

    #[test]
    fn help_lists_every_flag() {
        let source = include_str!("main.rs");
        let mut flags: Vec<&str> = source
            .split('"')
            .filter(|piece| piece.starts_with("--") && piece.len() > 2 && !piece.contains(' '))
            .collect();
        flags.sort_unstable();
        flags.dedup();
        for flag in flags {
            let flag = flag.trim_end_matches('=');
            assert!(HELP.contains(flag), "`cargo xtask help` does not mention {flag}");
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
            "build --accel tcg",
            "run --icount --accel kvm",
            "run --gdb=yes",
            "run --trace-filter syscall=nope",
            "run --trace-filter colour=red",
            "run --trace=",
            "run --timeline",
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
            "bench --json",
            "bench --json=",
            "bench --timeout 0",
            "bench --compare=yes",
            "bench --manifest demo",
        ] {
            match parse_line(line) {
                Err(error @ Error::Usage(_)) => assert_eq!(error.exit_code(), xtask::EXIT_USAGE),
                other => panic!("{line}: {other:?}"),
            }
        }
    }
}
