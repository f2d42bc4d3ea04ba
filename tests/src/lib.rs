//! Helpers for the system tests in `tests/tests/`: build a scenario's image
//! from inline TOML, boot it under TCG with a hard timeout, and assert on the
//! guest's exit value and serial output. Every failed assertion prints the
//! whole serial log, QEMU's stderr and the QEMU command.

use std::path::Path;
use std::time::Duration;

pub use xtask::{Accel, GuestStatus, Image, Machine, Manifest, RunOptions, RunOutcome};

/// Hard limit for one boot. A boot that ends normally takes well under a
/// second under TCG; nothing a test does may hang past this.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// A system with no programs: the kernel boots and stops by itself.
pub const NO_PROGRAMS: &str = r#"
[[endpoint]]
name = "console"
notices = true
"#;

/// Parses scenario TOML; relative crate paths are relative to `manifests/`.
pub fn manifest(toml: &str) -> Manifest {
    let base = xtask::workspace_root().join("manifests");
    Manifest::from_toml_str(toml, &base).unwrap_or_else(|error| panic!("scenario manifest: {error}"))
}

/// Builds the scenario's image into `target/image/systest-<name>/` (its own
/// directory, so tests running in parallel never share an initrd). Cargo's
/// output is shown only if the build fails.
pub fn image(name: &str, toml: &str) -> Image {
    let options = xtask::BuildOptions { echo_cargo: false };
    xtask::build_image_with(&manifest(toml), &format!("systest-{name}"), &options)
        .unwrap_or_else(|error| panic!("building scenario `{name}`: {error}"))
}

/// The options every test starts from: TCG, microvm, [`TIMEOUT`], no echo.
pub fn options(append: &str) -> RunOptions {
    RunOptions {
        accel: Accel::Tcg,
        timeout: Some(TIMEOUT),
        append: append.into(),
        ..RunOptions::default()
    }
}

/// Builds and boots a scenario with `append` added to the kernel command line.
pub fn boot(name: &str, toml: &str, append: &str) -> RunOutcome {
    boot_with(name, toml, options(append))
}

/// Builds and boots a scenario with explicit options (a missing timeout is
/// replaced by [`TIMEOUT`]: a test never waits forever).
pub fn boot_with(name: &str, toml: &str, options: RunOptions) -> RunOutcome {
    let image = image(name, toml);
    run_image(&image, options)
}

/// Boots a built image (see [`boot_with`]).
pub fn run_image(image: &Image, mut options: RunOptions) -> RunOutcome {
    if options.timeout.is_none_or(|t| t.is_zero() || t > TIMEOUT) {
        options.timeout = Some(TIMEOUT);
    }
    options.gdb = false;
    let outcome = xtask::run(image, &options).unwrap_or_else(|error| panic!("running `{}`: {error}", image.name));
    println!(
        "{} booted in {:.2} s: {}",
        image.name,
        outcome.wall.as_secs_f64(),
        outcome.status
    );
    outcome
}

/// Everything known about a run, for failure messages.
pub fn report(outcome: &RunOutcome) -> String {
    format!(
        "status: {}\nwall: {:.2} s\ncommand: {}\n----- serial -----\n{}\n----- QEMU stderr -----\n{}------------------",
        outcome.status,
        outcome.wall.as_secs_f64(),
        outcome.command,
        outcome.serial.trim_end(),
        outcome.stderr
    )
}

/// Asserts the guest wrote `value` to `isa-debug-exit`.
#[track_caller]
pub fn assert_exit(outcome: &RunOutcome, value: u32) {
    if outcome.status != GuestStatus::Exited(value) {
        panic!(
            "expected guest exit value {value} ({}), got: {}\n{}",
            abi::machine::describe(value),
            outcome.status,
            report(outcome)
        );
    }
}

/// Asserts some serial line contains `needle`.
#[track_caller]
pub fn assert_serial_contains(outcome: &RunOutcome, needle: &str) {
    if !outcome.serial.lines().any(|line| line.contains(needle)) {
        panic!("no serial line contains {needle:?}\n{}", report(outcome));
    }
}

/// Asserts one serial line contains every one of `pieces`.
#[track_caller]
pub fn assert_line_with_all(outcome: &RunOutcome, pieces: &[&str]) {
    if !outcome
        .serial
        .lines()
        .any(|line| pieces.iter().all(|piece| line.contains(piece)))
    {
        panic!("no serial line contains all of {pieces:?}\n{}", report(outcome));
    }
}

/// Asserts no serial line contains `needle`.
#[track_caller]
pub fn assert_serial_lacks(outcome: &RunOutcome, needle: &str) {
    if let Some(line) = outcome.serial.lines().find(|line| line.contains(needle)) {
        panic!("unexpected serial line {line:?}\n{}", report(outcome));
    }
}

/// Asserts the run stopped by itself well before the hard timeout.
#[track_caller]
pub fn assert_quick(outcome: &RunOutcome, limit: Duration) {
    if outcome.wall > limit {
        panic!(
            "the run took {:.2} s, more than {:.0} s\n{}",
            outcome.wall.as_secs_f64(),
            limit.as_secs_f64(),
            report(outcome)
        );
    }
}

/// Whether `program` is on PATH (for tests that use optional host tools).
pub fn have_program(program: &str) -> bool {
    xtask::install::find_on_path(program).is_some()
}

/// Reads a file of a built image.
pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|error| panic!("reading {}: {error}", path.display()))
}
