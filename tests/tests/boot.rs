//! System tests: the kernel boots, reports its memory and stops with exit
//! value 0 on both QEMU machine types.

use std::time::Duration;
use systests::*;

#[test]
fn boot_banner() {
    let outcome = boot("boot_banner", NO_PROGRAMS, "");
    assert_exit(&outcome, abi::machine::EXIT_SUCCESS);
    assert_serial_contains(&outcome, "[kernel] INFO  microkernel");
    assert_serial_contains(&outcome, "free frames");
    assert_serial_lacks(&outcome, "PANIC");
    assert_quick(&outcome, Duration::from_secs(30));
}

#[test]
fn q35_machine_boots() {
    let options = RunOptions {
        machine: Machine::Q35,
        ..options("")
    };
    let outcome = boot_with("q35_machine_boots", NO_PROGRAMS, options);
    assert_exit(&outcome, abi::machine::EXIT_SUCCESS);
    assert_serial_contains(&outcome, "[kernel] INFO  microkernel");
    assert_serial_contains(&outcome, "free frames");
}

#[test]
fn manifest_cmdline_reaches_the_kernel() {
    let toml = format!("[kernel]\ncmdline = \"log=info\"\n{NO_PROGRAMS}");
    let outcome = boot("manifest_cmdline", &toml, "extra=1");
    assert_exit(&outcome, abi::machine::EXIT_SUCCESS);
    assert_serial_contains(&outcome, "command line \"log=info extra=1\"");
}
