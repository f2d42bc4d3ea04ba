//! probe: the client of `cargo xtask bench --breakdown`, booted in the
//! benchmark coordinator's place (same handles, same system). Repeats the
//! `ipc_roundtrip.words_0` operation (one `Exchange`, a 0-word echo call to
//! benchserver) with an `abi_version` system call before each call: the
//! marker that shows in QEMU's execution log where each round trip starts.
//! It times its own loop the way the benchmarks do, so the host can check
//! that the instructions it counts in the log are all there is.
//!
//! `cargo xtask bench --breakdown` boots it twice: in `bench`'s place in
//! `manifests/bench.toml` (the server on the same CPU), and in `smpbench`'s
//! place in `manifests/bench-smp.toml` with `args = "server=2"` (the server
//! pinned on the other CPU: `smp.ipc_roundtrip.cross_cpu`).
//!
//! Handles: 0 console, then the coordinator's; the server is handle 1, or
//! the one its `server` argument names.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use bench::{label, measure, report};
use libsys::MsgInfo;
use libsys::ipc::Exchange;

libsys::entry!(main);

/// The server's handle when no argument names one.
const SERVER: libsys::Handle = 1;
/// Round trips per batch (`measure` runs a warm-up batch and
/// `bench::BATCHES` timed ones).
const ITERATIONS: u64 = 100;

fn main() {
    let server = libsys::arg("server").map_or(SERVER, |handle| handle.parse().expect("server=<handle>"));
    let mut exchange = Exchange::new(&mut []);
    exchange.set_info(MsgInfo::new(label::ECHO, 0, 0));
    *exchange.words_mut() = [1, 2, 3, 4, 5, 6];
    let cost = measure(ITERATIONS, || {
        core::hint::black_box(libsys::abi_version());
        exchange.call(server).expect("echo call");
    });
    // Instructions per loop (marker + round trip), times 100.
    report("probe.loop", cost);
    libsys::println!("probe.status=done");
}
