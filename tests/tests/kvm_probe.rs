//! System test of `--accel auto`: the KVM probe must end (its boot has its
//! own hard timeout, `PROBE_TIMEOUT`) and only say "KVM works" when the
//! guest proved it.

use systests::*;
use xtask::qemu::{PROBE_LINE, probe_kvm};

#[test]
fn kvm_probe_ends_cleanly_and_needs_proof() {
    let image = image("kvm_probe", NO_PROGRAMS);
    let probe = probe_kvm(&image, Machine::Microvm).expect("the probe itself must not fail");
    println!(
        "KVM probe: works = {}, {} ({:.2} s)",
        probe.works,
        probe.reason,
        probe.wall.as_secs_f64()
    );
    // With no ring-3 program in the image, nothing can print the probe line:
    // KVM must not be declared working.
    assert!(
        !probe.works,
        "KVM declared working without `{PROBE_LINE}`: {}",
        probe.reason
    );
}

#[test]
fn auto_resolves_to_a_real_accelerator_and_boots() {
    let image = image("accel_auto", NO_PROGRAMS);
    let outcome = run_image(
        &image,
        RunOptions {
            accel: Accel::Auto,
            ..options("")
        },
    );
    // TCG on these machines; KVM only where a probe (possibly cached from
    // another image) proved it.
    assert_ne!(outcome.accel, Accel::Auto, "{}", report(&outcome));
    assert_exit(&outcome, abi::machine::EXIT_SUCCESS);
}
