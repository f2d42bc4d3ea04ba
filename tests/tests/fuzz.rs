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
/// run promises: the build tool's verdict (`xtask::fuzz::judge`: the
/// summary's seed, calls and 0 violations, the checker's counters, every
/// program exited with 0), and the same values read here. Returns the run
/// and the verdict.
fn fuzz_and_judge(name: &str, seed: u64, calls: u64) -> (RunOutcome, fuzz::Verdict) {
    let outcome = boot(name, &fuzz::manifest_toml(seed, calls), "");
    assert_exit(&outcome, abi::machine::EXIT_SUCCESS);
    assert_values(
        &outcome,
        fuzz::PRINTER,
        &[
            (fuzz::SEED, &seed.to_string()),
            (fuzz::CALLS, &calls.to_string()),
            (fuzz::VIOLATIONS, "0"),
        ],
    );
    assert_counters_back(&outcome, fuzz::CHECKER);
    // Nothing was killed: every program that ended exited with 0.
    for (_, ended) in endings(&outcome) {
        assert_eq!(ended.how, Ending::Exited(0), "{}\n{}", ended.text, report(&outcome));
    }
    assert_exited(&outcome, "fuzzer", 0);
    assert_exited(&outcome, "checker", 0);
    assert_exited(&outcome, "pinger", 0);
    let verdict = fuzz::judge(&outcome, seed, calls);
    assert!(verdict.passed(), "{:?}\n{}", verdict.problems, report(&outcome));
    (outcome, verdict)
}

#[test]
fn half_a_million_syscalls_break_nothing_and_leak_nothing() {
    let (outcome, verdict) = fuzz_and_judge("fuzz_main", SEED, CALLS);
    let count = |slot: &str, result: &str| {
        verdict
            .outcomes
            .get(slot)
            .and_then(|counts| counts.get(result))
            .copied()
            .unwrap_or(0)
    };
    // Every syscall of the table was made, and unknown numbers too.
    for desc in abi::syscall::SYSCALLS.iter().filter(|desc| desc.name != "exit") {
        let made: u64 = verdict
            .outcomes
            .get(desc.name)
            .map_or(0, |counts| counts.values().sum());
        assert!(made > 0, "no {} calls\n{}", desc.name, report(&outcome));
    }
    assert!(count("unknown", "ENOSYS") > 0, "{}", report(&outcome));
    // The process table filled up during a burst of spawns.
    assert!(count("spawn", "ETABLEFULL") > 0, "{}", report(&outcome));
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
    // The reproducer ran its case and found the ABI kept.
    let printer = assert_checks(&outcome, fuzz::PRINTER, &[case]);
    value(&outcome, &printer, &format!("repro.{case}"));
    assert_exited(&outcome, "fuzzer", 0);
    assert_counters_back(&outcome, fuzz::CHECKER);
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
