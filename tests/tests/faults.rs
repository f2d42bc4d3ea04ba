//! System tests: faults injected with `fault=` on the kernel command line are
//! reported on the serial port and stop the machine with the right exit value,
//! long before the hard timeout.

use abi::machine::{EXIT_KERNEL_FAULT, EXIT_KERNEL_PANIC};
use std::time::Duration;
use systests::*;

/// A kernel fault stops the machine at once; this is far below the timeout.
const QUICK: Duration = Duration::from_secs(20);

#[test]
fn injected_page_fault() {
    let outcome = boot("injected_page_fault", NO_PROGRAMS, "fault=pf");
    assert_exit(&outcome, EXIT_KERNEL_FAULT);
    assert_serial_contains(&outcome, "unexpected page fault (vector 14) in kernel mode");
    assert_serial_contains(&outcome, "rip 0x");
    assert_serial_contains(&outcome, "cr2 0xffffc000deadb000");
    assert_quick(&outcome, QUICK);
}

#[test]
fn injected_general_protection_fault() {
    let outcome = boot("injected_gp_fault", NO_PROGRAMS, "fault=gp");
    assert_exit(&outcome, EXIT_KERNEL_FAULT);
    assert_serial_contains(
        &outcome,
        "unexpected general protection fault (vector 13) in kernel mode",
    );
    assert_quick(&outcome, QUICK);
}

#[test]
fn injected_invalid_opcode() {
    let outcome = boot("injected_ud", NO_PROGRAMS, "fault=ud");
    assert_exit(&outcome, EXIT_KERNEL_FAULT);
    assert_serial_contains(&outcome, "unexpected invalid opcode (vector 6) in kernel mode");
    assert_quick(&outcome, QUICK);
}

#[test]
fn injected_panic() {
    let outcome = boot("injected_panic", NO_PROGRAMS, "fault=panic");
    assert_exit(&outcome, EXIT_KERNEL_PANIC);
    assert_serial_contains(&outcome, "PANIC at");
    assert_serial_contains(&outcome, "injected panic");
    assert_quick(&outcome, QUICK);
}
