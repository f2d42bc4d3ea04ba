//! The benchmark images boot under icount and their coordinators print
//! every figure `cargo xtask bench` reports. Not timed tests and no
//! thresholds: a benchmark is never a test of speed; this only checks that
//! the figures are there (the numbers themselves are in
//! docs/performance.md).

use std::time::Duration;
use systests::{Accel, Manifest, RunOptions, assert_exit, report, run_image};
use xtask::bench::{self, BENCHMARKS, SMP_BENCHMARKS};

/// Builds `manifest` as image `name`, boots it under icount and checks its
/// coordinator printed each of `keys` (positive) and a usable
/// `bench.tsc_per_tick` before `bench.status=done`.
fn prints_every_figure(manifest: &str, name: &str, keys: &[&str]) {
    let manifest = Manifest::load(manifest).unwrap_or_else(|error| panic!("{error}"));
    let options = xtask::BuildOptions { echo_cargo: false };
    let image = xtask::build_image_with(&manifest, name, &options)
        .unwrap_or_else(|error| panic!("building the benchmark image: {error}"));
    let outcome = run_image(
        &image,
        RunOptions {
            accel: Accel::Tcg,
            icount: true,
            timeout: Some(Duration::from_secs(60)),
            ..RunOptions::default()
        },
    );
    assert_exit(&outcome, abi::machine::EXIT_SUCCESS);
    let figures = bench::parse_guest(&outcome.serial)
        .unwrap_or_else(|error| panic!("{error} (`bench.status=done` is the last line)\n{}", report(&outcome)));
    for key in keys {
        match figures.get(key) {
            Some(value) if value.0 > 0 => {}
            Some(value) => panic!("{key}={value}: not positive\n{}", report(&outcome)),
            None => panic!("the coordinator printed no {key}\n{}", report(&outcome)),
        }
    }
    assert!(
        figures.tsc_per_tick().is_some(),
        "no usable bench.tsc_per_tick\n{}",
        report(&outcome)
    );
}

#[test]
fn every_figure_is_printed() {
    prints_every_figure(bench::MANIFEST, "systest-bench", BENCHMARKS);
}

/// The two-CPU image: the cross-CPU round trips, the second pair on the
/// other CPU and the unmaps with a thread spinning there all complete.
#[test]
fn every_two_cpu_figure_is_printed() {
    prints_every_figure(bench::SMP_MANIFEST, "systest-bench-smp", SMP_BENCHMARKS);
}
