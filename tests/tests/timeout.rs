//! System test of a run that times out: before QEMU is killed, the build
//! tool sends the guest an NMI through QEMU's monitor and gives it
//! `DUMP_GRACE` to print every thread's state and exit with `EXIT_DUMPED`;
//! a guest that ignores the NMI is killed after the grace period. The run is
//! reported as timed out either way.
//!
//! QEMU's `nmi` command raises the local APIC's LINT1 pin, which the kernel
//! programs for NMI delivery; its NMI handler prints one `dump:` line per
//! thread and exits with `EXIT_DUMPED`.

use std::time::Duration;
use systests::*;
use xtask::qemu::DUMP_GRACE;

/// `hog` spins forever without a syscall and has no `cpu_limit`: the
/// system never finishes by itself.
fn never_ends() -> String {
    scenario(
        "\n[[program]]\nname = \"hog\"\ncrate = \"hostile\"\npriority = 2\n\
         handles = [{ endpoint = \"console\", rights = [\"send\"] }]\n",
    )
}

#[test]
fn a_run_that_times_out_is_asked_for_its_threads_first() {
    let limit = Duration::from_secs(3);
    let options = RunOptions {
        timeout: Some(limit),
        ..options("")
    };
    let outcome = boot_with("timeout_nmi", &never_ends(), options);
    let GuestStatus::TimedOut {
        limit: reported,
        after_nmi,
    } = outcome.status
    else {
        panic!("expected a timeout\n{}", report(&outcome));
    };
    assert_eq!(reported, limit);
    assert_eq!(outcome.status.exit_code(), xtask::EXIT_TIMEOUT);
    assert_values(&outcome, "hog", &[("spinning", "true")]);
    // The kernel answered the NMI within the grace period and printed its
    // threads: one `dump:` line for hog at least, which was running.
    let Some(value) = after_nmi else {
        panic!(
            "the guest ignored the NMI and was killed after {DUMP_GRACE:?}\n{}",
            report(&outcome)
        );
    };
    assert_eq!(
        value,
        abi::machine::EXIT_DUMPED,
        "after the NMI: {}\n{}",
        abi::machine::describe(value),
        report(&outcome)
    );
    assert!(outcome.status.dumped());
    assert_line_with_all(&outcome, &["[kernel] ERROR dump: ", "hog[", "is Running"]);
}
