//! System tests: faults injected with `fault=` on the kernel command line are
//! reported on the serial port and stop the machine with the right exit
//! value. The reports are read with the build tool's reader of fault
//! reports (`xtask::symbols::find_sites`), which symbolizes them.

use abi::fault::{vector, vector_name};
use abi::machine::{EXIT_KERNEL_FAULT, EXIT_KERNEL_PANIC, EXIT_SUCCESS};
use systests::*;
use xtask::symbols::{Site, find_sites};

/// Where the kernel's text lies: the top 2 GiB.
const KERNEL_HALF: u64 = 0xffff_ffff_8000_0000;

/// Asserts the run stopped for the kernel's own exception `vector`,
/// reported once at an instruction of the kernel.
#[track_caller]
fn assert_kernel_fault(outcome: &RunOutcome, vector: u8) {
    assert_exit(outcome, EXIT_KERNEL_FAULT);
    match find_sites(&outcome.serial).as_slice() {
        [Site::Kernel { fault, rip }] if fault == vector_name(vector) && *rip >= KERNEL_HALF => {}
        sites => panic!(
            "expected one kernel {} in kernel text, found {sites:?}\n{}",
            vector_name(vector),
            report(outcome)
        ),
    }
}

#[test]
fn injected_page_fault() {
    let outcome = boot("injected_page_fault", NO_PROGRAMS, "fault=pf");
    assert_kernel_fault(&outcome, vector::PAGE_FAULT);
    // The address the injected fault touches (microkernel's inject.rs).
    let cr2 = kernel_line(&outcome, "ERROR", "cr2 ");
    let address = cr2.split_whitespace().nth(1).unwrap_or("");
    assert_eq!(address, "0xffffc000deadb000", "{}", report(&outcome));
}

#[test]
fn injected_general_protection_fault() {
    let outcome = boot("injected_gp_fault", NO_PROGRAMS, "fault=gp");
    assert_kernel_fault(&outcome, vector::GENERAL_PROTECTION);
}

#[test]
fn injected_invalid_opcode() {
    let outcome = boot("injected_ud", NO_PROGRAMS, "fault=ud");
    assert_kernel_fault(&outcome, vector::INVALID_OPCODE);
}

#[test]
fn injected_panic() {
    let outcome = boot("injected_panic", NO_PROGRAMS, "fault=panic");
    assert_exit(&outcome, EXIT_KERNEL_PANIC);
    match find_sites(&outcome.serial).as_slice() {
        [Site::Panic { file, message, .. }] if message == "injected panic" && file.ends_with(".rs") => {}
        sites => panic!("expected one kernel panic, found {sites:?}\n{}", report(&outcome)),
    }
}

#[test]
fn a_frame_with_a_kernel_rip_is_never_resumed_and_only_its_process_ends() {
    // The kernel gives hello's thread a kernel-half RIP before it runs (a
    // test hook: no syscall can): the exit path refuses to resume it, and
    // hello ends as if it had taken a general protection fault; the kernel
    // and the console go on.
    let toml = scenario(&format!("{}{}", hello(1), test_program("args", 1)));
    let outcome = boot("bad_return_frame", &toml, "bad_return=hello");
    assert_exit(&outcome, EXIT_SUCCESS);
    let fault = assert_fault(&outcome, "hello", vector::GENERAL_PROTECTION, FaultDetail::None);
    assert_eq!(fault.rip, 0xffff_8000_0000_1000, "{}", report(&outcome));
    assert_silent(&outcome, "hello");
    assert_exited(&outcome, "args", 0);
}

/// A user copy that faults (a page gone between a syscall's check and its
/// copy) is an error for that syscall, not a kernel fault: the page-fault
/// handler resumes the copy routine at its failure exit, and the kernel
/// boots on.
#[test]
fn a_faulting_user_copy_is_reported_and_the_kernel_goes_on() {
    let outcome = boot("user_copy_fault", NO_PROGRAMS, "fault=copy");
    assert_exit(&outcome, EXIT_SUCCESS);
    let line = kernel_line(&outcome, "INFO", "boot: user_copy.fault_reported=");
    assert_eq!(line, "boot: user_copy.fault_reported=yes", "{}", report(&outcome));
    assert!(
        find_sites(&outcome.serial).is_empty(),
        "no fault report\n{}",
        report(&outcome)
    );
}
