//! System tests of the ring-3 syscall fuzzer (`servers/fuzzer`, see
//! `docs/reliability.md`): with a fixed seed, half a million random and
//! edge-case syscalls in one boot must all get a result the ABI table allows
//! (0 violations), the kernel must neither panic nor hang (the guest exits
//! with 0 before the hard timeout), and the checker must find the
//! kernel's resource counters as they were before the fuzzer started. A
//! second, short run uses another seed.
//!
//! The image is the one `cargo xtask fuzz` boots (`xtask::fuzz`).

use std::time::Duration;
use systests::*;
use xtask::fuzz;

/// The seed and number of calls of the main run. Under TCG the fuzzer
/// makes about 70,000 syscalls per second of wall time.
const SEED: u64 = 1;
const CALLS: u64 = 500_000;

/// Boots the fuzz image for `seed` and `calls` and checks everything the
/// run promises.
fn fuzz_and_judge(name: &str, seed: u64, calls: u64) -> RunOutcome {
    let outcome = boot(name, &fuzz::manifest_toml(seed, calls), "");
    assert_exit(&outcome, abi::machine::EXIT_SUCCESS);
    assert_line_with_all(
        &outcome,
        &[
            fuzz::SUMMARY,
            &format!("seed {seed} "),
            &format!("calls {calls} "),
            "violations 0 ",
        ],
    );
    assert_serial_lacks(&outcome, fuzz::VIOLATION);
    assert_line_with_all(&outcome, &["checker[", fuzz::UNCHANGED]);
    assert_exited(&outcome, "fuzzer", 0);
    assert_exited(&outcome, "checker", 0);
    assert_exited(&outcome, "pinger", 0);
    assert_serial_lacks(&outcome, "] killed: ");
    let verdict = fuzz::judge(&outcome, seed, calls);
    assert!(verdict.passed(), "{:?}\n{}", verdict.problems, report(&outcome));
    outcome
}

#[test]
fn half_a_million_syscalls_break_nothing_and_leak_nothing() {
    let outcome = fuzz_and_judge("fuzz_main", SEED, CALLS);
    // Every syscall of the table was made, and unknown numbers too.
    for desc in abi::syscall::SYSCALLS.iter().filter(|desc| desc.name != "exit") {
        assert_line_with_all(&outcome, &[&format!("fuzz: {} ", desc.name)]);
    }
    assert_line_with_all(&outcome, &["fuzz: unknown ", " ENOSYS "]);
    // The process table filled up during a burst of spawns.
    assert_line_with_all(&outcome, &["fuzz: spawn ", " ETABLEFULL "]);
}

#[test]
fn a_short_run_with_another_seed() {
    fuzz_and_judge("fuzz_short", 0x5eed_2024, 20_000);
}

/// Boots the reproducer `case` of a kernel bug the fuzzer found
/// (`fuzz-repro` in the fuzzer's place) and asserts the kernel kept the
/// ABI: the machine halts with 0, the reproducer exits with 0 and nothing
/// leaked. All four are fixed; these are their regression tests. A new bug
/// gets a case in `fuzz-repro` and a test here, ignored until it is fixed.
/// See docs/reliability.md.
fn repro(case: &str) {
    let options = RunOptions {
        timeout: Some(Duration::from_secs(20)),
        ..options("")
    };
    let outcome = boot_with(&format!("fuzz_repro_{case}"), &fuzz::repro_manifest_toml(case), options);
    assert_exit(&outcome, abi::machine::EXIT_SUCCESS);
    assert_line_with_all(&outcome, &[&format!("fuzz: repro {case}: ")]);
    assert_exited(&outcome, "fuzzer", 0);
    assert_line_with_all(&outcome, &["checker[", fuzz::UNCHANGED]);
}

/// A thread woken by an IPC fast path kept the deadline of its timed wait;
/// once it exited the kernel idled forever instead of halting.
#[test]
fn regression_stale_deadline() {
    repro("stale-deadline");
}

/// `recv` checked the whole MsgInfo (EINVAL/ETOOLONG, not in its table).
#[test]
fn regression_recv_checks_msginfo() {
    repro("recv-checks-msginfo");
}

/// `reply` failed with EBADHANDLE/ENORIGHTS, not in its table (the table
/// now lists them: a reply may pass a handle).
#[test]
fn regression_reply_handle_errors() {
    repro("reply-handle-errors");
}

/// `write` returned any error the console answered with.
#[test]
fn regression_write_passes_console_errors() {
    repro("write-passes-console-errors");
}
