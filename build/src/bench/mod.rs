//! `cargo xtask bench`: boots `manifests/bench.toml`, collects the `key=value`
//! lines its coordinator prints, and reports them beside reference figures.
//!
//! The method: QEMU TCG with `-icount shift=0,align=off`. The guest TSC then
//! advances by exactly one per executed guest instruction, so the in-guest
//! benchmarks' TSC medians are instruction counts, identical on every run
//! and on every host. Wall time comes from a second boot without icount,
//! whose TSC counts are turned into nanoseconds with the coordinator's
//! `bench.tsc_per_tick` (TSC units per timer tick).
//!
//! - [`linux`]: the Linux peer, for `--compare`.
//! - [`breakdown`]: where the instructions of one IPC round trip go, per
//!   function, from QEMU's execution log (`--breakdown`).
//! - [`figures`]: the coordinator's output and the figures made of it.
//! - [`runs`]: the options, and the boots that produce a [`Report`].
//! - [`compare`]: the seL4 reference and the performance targets.
//! - [`report`]: the `key=value` lines, tables and JSON of a report.
//! - [`smp`]: the two-CPU image (`manifests/bench-smp.toml`): IPC on one
//!   CPU and across two, two independent pairs against one, shootdowns.

pub mod breakdown;
pub mod compare;
pub mod figures;
pub mod linux;
pub mod report;
pub mod runs;
pub mod smp;

pub use breakdown::Breakdown;
pub use compare::{Target, sel4, targets};
pub use figures::{
    BEGIN, BENCHMARKS, DEFAULT_TICK_HZ, DONE, GuestFigures, Hundredths, IcountFigures, Spread, WallFigures, parse_guest,
};
pub use linux::LinuxPeer;
pub use report::{Report, number, table};
pub use runs::{BenchOptions, MANIFEST, TIMEOUT, boot, commit, run};
pub use smp::{SMP_BENCHMARKS, SMP_MANIFEST, SmpFigures};
