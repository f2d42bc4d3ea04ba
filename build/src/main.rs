//! `cargo xtask`: the command line of the build tool (the work is in the
//! library, `build/src/lib.rs`).
//!
//! ```text
//! cargo xtask build [--manifest NAME|PATH]
//! cargo xtask run   [--manifest NAME|PATH] [--accel tcg|kvm|auto] [--machine microvm|q35]
//!                   [--gdb] [--timeout S] [--append "kernel cmdline"] [--icount]
//! ```
//!
//! Exit status of `cargo xtask run`: the guest's exit value (0 = every
//! program finished; see `abi::machine`), 124 when the run timed out, 126
//! when QEMU stopped without a guest exit status. Any command: 125 for an
//! error of the tool itself (bad manifest, failed build, QEMU missing or not
//! startable), 2 for a mistake on the command line.

use std::process::ExitCode;
use std::time::Duration;
use xtask::{Accel, Error, Machine, Manifest, RunOptions};

const HELP: &str = "\
cargo xtask: build the kernel and programs, pack boot images, run them in QEMU

USAGE:
    cargo xtask build [--manifest NAME|PATH]
    cargo xtask run [--manifest NAME|PATH] [--accel tcg|kvm|auto] [--machine microvm|q35]
                    [--gdb] [--timeout S] [--append \"kernel cmdline\"] [--icount]
    cargo xtask help

COMMANDS:
    build    Cross-build the kernel and every program of the manifest, and write
             target/image/<manifest>/kernel and target/image/<manifest>/initrd.cpio
    run      build, then boot the image in QEMU; serial output goes to stdout

OPTIONS:
    --manifest NAME|PATH   manifests/NAME.toml, or a TOML file (default: demo)
    --accel tcg|kvm|auto   QEMU accelerator (default: auto = KVM only if a probe
                           boot proves it works, else TCG)
    --machine microvm|q35  QEMU machine type (default: microvm)
    --timeout S            kill QEMU after S seconds; 0 = never (default: 60)
    --append \"...\"         added to the manifest's kernel command line
                           (e.g. log=debug, fault=pf)
    --icount               -icount shift=0,align=off (TCG only)
    --gdb                  start paused with a GDB server on :1234 (no timeout)

EXIT STATUS (run):
    the guest's exit value: 0 = all programs finished, 16 kernel panic,
    17 kernel fault, 18 deadlock, 19 unusable boot image
    124  timed out
    125  error of the tool itself (bad manifest, build failed, QEMU missing)
    126  QEMU stopped without a guest exit status (triple fault, QEMU error)
    2    bad command line
";

#[derive(Debug, PartialEq)]
enum Command {
    Help,
    Build { manifest: String },
    Run { manifest: String, options: RunOptions },
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
        Command::Build { manifest } => {
            let manifest = Manifest::load(&manifest)?;
            let image = xtask::build_image(&manifest, &manifest.name)?;
            println!("kernel: {}", image.kernel.display());
            println!("initrd: {}", image.initrd.display());
            Ok(0)
        }
        Command::Run { manifest, options } => {
            let manifest = Manifest::load(&manifest)?;
            let image = xtask::build_image(&manifest, &manifest.name)?;
            let outcome = xtask::run(&image, &options)?;
            match outcome.status {
                xtask::GuestStatus::Exited(0) => {}
                xtask::GuestStatus::Exited(_) => eprintln!("xtask: {}", outcome.status),
                _ => eprintln!("error: {}", outcome.status),
            }
            Ok(outcome.status.exit_code())
        }
    }
}

fn parse(args: &[String]) -> Result<Command, Error> {
    let usage = |message: String| Error::Usage(message);
    let Some((name, rest)) = args.split_first() else {
        return Ok(Command::Help);
    };
    let is_run = match name.as_str() {
        "help" | "--help" | "-h" => return Ok(Command::Help),
        "build" => false,
        "run" => true,
        other => {
            return Err(usage(format!("unknown command `{other}` (expected build or run)")));
        }
    };
    let mut manifest = String::from("demo");
    let mut options = RunOptions {
        accel: Accel::Auto,
        echo: true,
        ..RunOptions::default()
    };
    let mut rest = rest.iter();
    while let Some(arg) = rest.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_string())),
            _ => (arg.as_str(), None),
        };
        if matches!(flag, "--help" | "-h") {
            return Ok(Command::Help);
        }
        let takes_value = matches!(flag, "--manifest" | "--accel" | "--machine" | "--timeout" | "--append");
        if !is_run && flag != "--manifest" {
            return Err(usage(format!("`build` takes only --manifest, not `{flag}`")));
        }
        let value = if takes_value {
            match inline {
                Some(value) => value,
                None => rest
                    .next()
                    .cloned()
                    .ok_or_else(|| usage(format!("{flag} needs a value")))?,
            }
        } else if inline.is_some() {
            return Err(usage(format!("{flag} takes no value")));
        } else {
            String::new()
        };
        match flag {
            "--manifest" => manifest = value,
            "--accel" => {
                options.accel = Accel::parse(&value)
                    .ok_or_else(|| usage(format!("--accel must be tcg, kvm or auto, not `{value}`")))?
            }
            "--machine" => {
                options.machine = Machine::parse(&value)
                    .ok_or_else(|| usage(format!("--machine must be microvm or q35, not `{value}`")))?
            }
            "--timeout" => {
                let seconds = value
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s >= 0.0 && *s < 1e9)
                    .ok_or_else(|| usage(format!("--timeout takes seconds, not `{value}`")))?;
                options.timeout = (seconds > 0.0).then(|| Duration::from_secs_f64(seconds));
            }
            "--append" => {
                if !options.append.is_empty() {
                    options.append.push(' ');
                }
                options.append.push_str(value.trim());
            }
            "--icount" => options.icount = true,
            "--gdb" => options.gdb = true,
            other => return Err(usage(format!("unknown option `{other}`"))),
        }
    }
    if manifest.is_empty() {
        return Err(usage("--manifest needs a name or a path".into()));
    }
    if options.icount && options.accel == Accel::Kvm {
        return Err(usage("--icount needs TCG (use --accel tcg or auto)".into()));
    }
    if options.gdb {
        options.timeout = None;
    }
    Ok(if is_run {
        Command::Run { manifest, options }
    } else {
        Command::Build { manifest }
    })
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
                options: run_options("run")
            }
        );
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
        ] {
            match parse_line(line) {
                Err(error @ Error::Usage(_)) => assert_eq!(error.exit_code(), xtask::EXIT_USAGE),
                other => panic!("{line}: {other:?}"),
            }
        }
    }
}
