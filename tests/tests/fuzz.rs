//! System tests of the ring-3 syscall fuzzer (`servers/fuzzer`, see
//! `docs/reliability.md`): with a fixed seed, half a million random and
//! edge-case syscalls in one boot must all get a result the ABI table allows
//! (0 violations), the kernel must neither panic nor hang (the guest exits
//! with 0 before the hard timeout), and the checker must find the
//! kernel's resource counters as they were before the fuzzer started. A
//! second, short run uses another seed, and a third runs two fuzzers at
//! once, one pinned to each of two CPUs, against the one kernel.
//!
//! The image is the one `cargo xtask fuzz` boots (`xtask::fuzz`).

use std::time::Duration;
use systests::*;
use xtask::fuzz;

/// The seed and number of calls of the main run. Under TCG the fuzzer
/// makes about 70,000 syscalls per second of wall time.
const SEED: u64 = 1;
const CALLS: u64 = 500_000;

/// Boots the fuzz image of `cpus` fuzzers at once (the one on CPU `I` with
/// seed `seed + I`), each making `calls` calls, and checks everything the
/// run promises: the build tool's verdict (`xtask::fuzz::judge`: each
/// summary's seed, instance, calls and 0 violations, the fuzzers at work
/// at the same time, the checker's counters, every program exited with 0),
/// and the same values read here. Returns the run and the verdict.
fn fuzz_and_judge(name: &str, seed: u64, cpus: usize, calls: u64) -> (RunOutcome, fuzz::Verdict) {
    let outcome = boot(name, &fuzz::smp_manifest_toml(seed, cpus, calls), "");
    assert_exit(&outcome, abi::machine::EXIT_SUCCESS);
    for cpu in 0..cpus {
        let seed = seed + cpu as u64;
        assert_values(
            &outcome,
            &fuzz::program(fuzz::PRINTER, cpu, cpus),
            &[
                (fuzz::INSTANCE, &cpu.to_string()),
                (fuzz::SEED, &seed.to_string()),
                (fuzz::CALLS, &calls.to_string()),
                (fuzz::VIOLATIONS, "0"),
            ],
        );
        assert_exited(&outcome, &fuzz::program("fuzzer", cpu, cpus), 0);
        assert_exited(&outcome, &fuzz::program("pinger", cpu, cpus), 0);
    }
    assert_counters_back(&outcome, fuzz::CHECKER);
    // Nothing was killed but the victims the fuzzers killed themselves:
    // every other program that ended exited with 0.
    for (_, ended) in endings(&outcome) {
        if ended.name.starts_with("victim") && ended.text.contains("] killed by process ") {
            continue;
        }
        assert_eq!(ended.how, Ending::Exited(0), "{}\n{}", ended.text, report(&outcome));
    }
    assert_exited(&outcome, "checker", 0);
    let verdict = fuzz::judge(&outcome, seed, cpus, calls);
    assert!(verdict.passed(), "{:?}\n{}", verdict.all_problems(), report(&outcome));
    (outcome, verdict)
}

/// How many calls of `instance` had `result` (`ok`, `EFAULT`, ...) for
/// `slot` (a syscall's name, `unknown` or `all`).
fn count(instance: &fuzz::Instance, slot: &str, result: &str) -> u64 {
    instance
        .outcomes
        .get(slot)
        .and_then(|counts| counts.get(result))
        .copied()
        .unwrap_or(0)
}

#[test]
fn half_a_million_syscalls_break_nothing_and_leak_nothing() {
    let (outcome, verdict) = fuzz_and_judge("fuzz_main", SEED, 1, CALLS);
    let fuzzer = &verdict.instances[0];
    // Every syscall of the table was made, and unknown numbers too.
    for desc in abi::syscall::SYSCALLS
        .iter()
        .filter(|desc| desc.returns == abi::syscall::Returns::Yes)
    {
        let made: u64 = fuzzer.outcomes.get(desc.name).map_or(0, |counts| counts.values().sum());
        assert!(made > 0, "no {} calls\n{}", desc.name, report(&outcome));
    }
    assert!(count(fuzzer, "unknown", "ENOSYS") > 0, "{}", report(&outcome));
    // The process table filled up during a burst of spawns.
    assert!(count(fuzzer, "spawn", "ETABLEFULL") > 0, "{}", report(&outcome));
    // The peers' short receive buffers made the kernel refuse writes
    // (issue 16), and the calls of ABI 2.0 did their work.
    for (slot, result) in [
        ("write", "ETOOLONG"),
        ("notify_wait", "ok"),
        ("notify_bind", "ok"),
        ("irq_ack", "ok"),
        ("process_wait", "ok"),
        ("process_kill", "ok"),
        ("process_watch", "ok"),
        ("process_info", "ok"),
    ] {
        assert!(
            count(fuzzer, slot, result) > 0,
            "no {slot} with {result}\n{}",
            report(&outcome)
        );
    }
}

#[test]
fn a_short_run_with_another_seed() {
    fuzz_and_judge("fuzz_short", 0x5eed_2024, 1, 20_000);
}

/// Two fuzzers at once, each with its world (printer, sink, mirror,
/// pinger, victims) pinned to its own CPU, against one kernel: each makes
/// its calls with 0 violations while the other runs (their summaries say
/// when they fuzzed, and the judge asks that they overlap), and the
/// counters of the whole run come back.
#[test]
fn two_fuzzers_at_once_on_two_cpus() {
    const CPUS: usize = 2;
    let (outcome, verdict) = fuzz_and_judge("fuzz_two_cpus", 0x5eed_2025, CPUS, 100_000);
    assert_eq!(kernel_line(&outcome, "INFO", "smp: "), "smp: 2 CPUs run threads");
    for fuzzer in &verdict.instances {
        // Each spawned victims, and the process table both share filled up.
        assert!(count(fuzzer, "spawn", "ok") > 0, "{}", report(&outcome));
        assert!(count(fuzzer, "spawn", "ETABLEFULL") > 0, "{}", report(&outcome));
        assert!(count(fuzzer, "process_wait", "ok") > 0, "{}", report(&outcome));
    }
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
