//! System test of a run that times out: before QEMU is killed, the build
//! tool sends the guest an NMI through QEMU's monitor and gives it
//! `DUMP_GRACE` to print every thread's state and exit with `EXIT_DUMPED`;
//! a guest that ignores the NMI is killed after the grace period. The run is
//! reported as timed out either way.
//!
//! QEMU's `nmi` command raises the local APIC's LINT1 pin, which reaches the
//! CPU only once the kernel programs LVT LINT1 for NMI delivery; until then
//! the NMI is dropped and this test sees the "ignored" path.

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
    // A guest that answered the NMI within the grace period printed its
    // threads: one `dump:` line for hog at least.
    match after_nmi {
        None => println!("the guest ignored the NMI and was killed after {DUMP_GRACE:?}"),
        Some(value) => {
            assert_eq!(
                value,
                abi::machine::EXIT_DUMPED,
                "after the NMI: {}\n{}",
                abi::machine::describe(value),
                report(&outcome)
            );
            assert!(outcome.status.dumped());
            assert_line_with_all(&outcome, &["[kernel] ERROR dump: ", "hog["]);
        }
    }
}
