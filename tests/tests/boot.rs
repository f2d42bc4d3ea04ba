//! System tests: the kernel boots, reports its version, ABI, command line
//! and memory, and stops with exit value 0 on both QEMU machine types.

use systests::*;

/// What the kernel's banner says: `microkernel VERSION (ABI MAJOR.MINOR),
/// command line "..."` → (ABI version, command line).
#[track_caller]
fn banner(outcome: &RunOutcome) -> (u32, String) {
    let line = kernel_line(outcome, "INFO", "microkernel ");
    let parsed = (|| {
        let (_, rest) = line.split_once(" (ABI ")?;
        let (version, rest) = rest.split_once("), command line \"")?;
        let (major, minor) = version.split_once('.')?;
        let version = major.parse::<u32>().ok()? << 16 | minor.parse::<u32>().ok()?;
        Some((version, rest.strip_suffix('"')?.to_string()))
    })();
    parsed.unwrap_or_else(|| panic!("a banner without ABI or command line: {line:?}\n{}", report(outcome)))
}

/// What the kernel reports of memory at boot: `... N free frames of M ...`
/// → (N, M).
#[track_caller]
fn frames(outcome: &RunOutcome) -> (u64, u64) {
    let line = kernel_line(outcome, "INFO", "memory: map has ");
    let parsed = (|| {
        let (before, after) = line.split_once(" free frames of ")?;
        let free = before.rsplit(' ').next()?.parse().ok()?;
        let total = after.split(' ').next()?.parse().ok()?;
        Some((free, total))
    })();
    parsed.unwrap_or_else(|| panic!("no frame counts in {line:?}\n{}", report(outcome)))
}

/// Asserts the boot reported the ABI it was built for, `cmdline`, and some
/// free memory.
#[track_caller]
fn assert_booted(outcome: &RunOutcome, cmdline: &str) {
    assert_exit(outcome, abi::machine::EXIT_SUCCESS);
    assert_eq!(
        banner(outcome),
        (abi::ABI_VERSION, cmdline.to_string()),
        "{}",
        report(outcome)
    );
    let (free, total) = frames(outcome);
    assert!(
        0 < free && free <= total,
        "{free} free frames of {total}\n{}",
        report(outcome)
    );
}

#[test]
fn boot_banner() {
    let outcome = boot("boot_banner", NO_PROGRAMS, "");
    assert_booted(&outcome, "");
}

#[test]
fn q35_machine_boots() {
    let options = RunOptions {
        machine: Machine::Q35,
        ..options("")
    };
    let outcome = boot_with("q35_machine_boots", NO_PROGRAMS, options);
    assert_booted(&outcome, "");
}

#[test]
fn manifest_cmdline_reaches_the_kernel() {
    let toml = format!("[kernel]\ncmdline = \"log=info\"\n{NO_PROGRAMS}");
    let outcome = boot("manifest_cmdline", &toml, "extra=1");
    assert_booted(&outcome, "log=info extra=1");
}
