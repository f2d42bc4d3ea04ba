//! The benchmark image boots under icount and its coordinator prints every
//! figure `cargo xtask bench` reports. Not a timed test and no thresholds:
//! a benchmark is never a test of speed; this only checks that the figures
//! are there (the numbers themselves are in docs/performance.md).

use std::time::Duration;
use systests::{Accel, Manifest, RunOptions, assert_exit, report, run_image};
use xtask::bench::{self, BENCHMARKS};

#[test]
fn every_figure_is_printed() {
    let manifest = Manifest::load(bench::MANIFEST).unwrap_or_else(|error| panic!("{error}"));
    let options = xtask::BuildOptions { echo_cargo: false };
    let image = xtask::build_image_with(&manifest, "systest-bench", &options)
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
    for key in BENCHMARKS {
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
