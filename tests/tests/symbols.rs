//! System tests of symbolized fault reports: after a run, the addresses in
//! fault reports are resolved to functions and source lines.

use abi::machine::{EXIT_KERNEL_FAULT, EXIT_KERNEL_PANIC, EXIT_SUCCESS};
use systests::*;

/// The console server and the demo's program that reads address 0.
fn faulty() -> String {
    scenario(
        r#"
[[program]]
name = "faulty"
crate = "demo"
priority = 2
handles = [{ endpoint = "console", rights = ["send"], badge = 1 }]
"#,
    )
}

#[test]
fn user_fault_is_symbolized() {
    let outcome = boot("user_fault_symbolized", &faulty(), "");
    assert_exit(&outcome, EXIT_SUCCESS);
    assert_page_fault(&outcome, "faulty", Access::Read, 0, Cause::NotPresent);
    let first = outcome.symbolized.first().map(String::as_str).unwrap_or_default();
    assert!(
        first.starts_with("faulty["),
        "{:?}\n{}",
        outcome.symbolized,
        report(&outcome)
    );
    assert_symbolized(&outcome, &["faulty::main", "servers/demo/src/bin/faulty.rs:"]);
}

#[test]
fn kernel_fault_is_symbolized() {
    let outcome = boot("kernel_fault_symbolized", NO_PROGRAMS, "fault=pf");
    assert_exit(&outcome, EXIT_KERNEL_FAULT);
    assert_symbolized(&outcome, &["kernel page fault at 0xffffffff8"]);
    assert_symbolized(
        &outcome,
        &["microkernel::startup::inject_fault", "microkernel/src/startup.rs:"],
    );
}

#[test]
fn kernel_panic_names_its_function() {
    let outcome = boot("kernel_panic_symbolized", NO_PROGRAMS, "fault=panic");
    assert_exit(&outcome, EXIT_KERNEL_PANIC);
    assert_symbolized(
        &outcome,
        &[
            "kernel panic at microkernel/src/startup.rs:",
            " in microkernel::startup::inject_fault: injected panic",
        ],
    );
}

#[test]
fn clean_runs_have_nothing_to_symbolize() {
    let outcome = boot("nothing_to_symbolize", NO_PROGRAMS, "");
    assert_exit(&outcome, EXIT_SUCCESS);
    assert!(outcome.symbolized.is_empty(), "{:?}", outcome.symbolized);
}
