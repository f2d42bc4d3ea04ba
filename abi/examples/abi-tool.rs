//! abi-tool: a host tool built on the `abi` crate alone (with its `std`
//! feature), as a model for tools in Rust.
//!
//! ```text
//! cargo run -p abi --example abi-tool -- table
//! cargo run -p abi --example abi-tool -- decode abi/examples/hello.trace
//! ```
//!
//! `table` prints the syscall table: number, name, whether it blocks and
//! returns, and each argument's name, kind and register. `decode FILE`
//! decodes a trace file (`cargo xtask run --trace` writes one; `hello.trace`
//! beside this file is a traced boot of the console server and `hello`):
//! the ABI version its header names, then one strace-style line per
//! syscall and process event. Damaged input is reported on stderr and
//! skipped; a trace of another ABI major version is refused (exit status
//! 1).

use abi::syscall::SYSCALLS;
use abi::trace::Trace;
use std::io::Write;

/// Runs the tool with `args` (without the program name), writing results
/// to `out` and warnings to `errors`.
pub fn run(args: &[String], out: &mut dyn Write, errors: &mut dyn Write) -> Result<(), String> {
    let io = |e: std::io::Error| e.to_string();
    match args {
        [command] if command == "table" => {
            writeln!(
                out,
                "{:<6} {:<16} {:<6} {:<7} arguments",
                "number", "name", "blocks", "returns"
            )
            .map_err(io)?;
            for entry in SYSCALLS {
                let arguments: Vec<String> = entry
                    .args
                    .iter()
                    .filter(|field| field.name != "-")
                    .map(|field| format!("{}: {} in {}", field.name, field.kind, field.reg))
                    .collect();
                let blocks = if entry.blocks { "yes" } else { "no" };
                let line = format!(
                    "{:<6} {:<16} {:<6} {:<7} {}",
                    entry.number as u64,
                    entry.number,
                    blocks,
                    entry.returns,
                    arguments.join(", ")
                );
                writeln!(out, "{}", line.trim_end()).map_err(io)?;
            }
            Ok(())
        }
        [command, file] if command == "decode" => {
            let bytes = std::fs::read(file).map_err(|e| format!("cannot read {file}: {e}"))?;
            let trace = Trace::read(&bytes).map_err(|e| format!("{file}: {e}"))?;
            for warning in &trace.warnings {
                writeln!(errors, "warning: {file}: {warning}").map_err(io)?;
            }
            match trace.version {
                Some(version) => writeln!(out, "trace of ABI {}.{}", version >> 16, version & 0xffff),
                None => writeln!(out, "trace of an unknown ABI version"),
            }
            .map_err(io)?;
            for line in trace.lines() {
                writeln!(out, "{line}").map_err(io)?;
            }
            Ok(())
        }
        _ => Err("usage: abi-tool table | abi-tool decode FILE".into()),
    }
}

#[allow(dead_code)] // The tests include this file for `run`.
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(message) = run(&args, &mut std::io::stdout().lock(), &mut std::io::stderr().lock()) {
        eprintln!("abi-tool: {message}");
        std::process::exit(1);
    }
}
