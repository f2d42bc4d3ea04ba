//! What the benchmark programs share: timing with the TSC, batches and
//! medians, and the protocol between the coordinator and its helpers.
//!
//! Under QEMU TCG with `-icount shift=0,align=off` the guest TSC advances by
//! exactly one per executed guest instruction, so a TSC delta is an
//! instruction count: the same on every run. Without icount it counts time.

#![no_std]

/// Timed batches per benchmark (odd, so the median is one of them).
pub const BATCHES: usize = 11;

/// Labels of the benchmark protocol.
pub mod label {
    /// Coordinator to helper: run your benchmark; reply with the median.
    pub const RUN: u32 = 1;
    /// Coordinator to the IPC server: echo (reply with the same message).
    pub const ECHO: u32 = 2;
    /// Coordinator to the bulk server: take these bytes (empty reply).
    pub const TAKE: u32 = 3;
    /// Coordinator to the bulk server: map the memory object passed.
    pub const SHARE: u32 = 4;
    /// Coordinator to the bulk server: words `[offset, len]` of the shared
    /// object are ready; read them.
    pub const NOTIFY: u32 = 5;
    /// SMP coordinator to the second pair's client: word 0 round trips
    /// with your server; reply at once, then start.
    pub const START: u32 = 6;
    /// SMP coordinator to the second pair's client: when done, reply with
    /// the TSC at your first and after your last round trip.
    pub const RESULT: u32 = 7;
}

/// Reads the time-stamp counter, ordered against surrounding instructions.
#[inline(always)]
pub fn tsc() -> u64 {
    #[cfg(target_os = "none")]
    {
        let low: u32;
        let high: u32;
        // SAFETY: rdtsc reads a counter (allowed in ring 3: CR4.TSD is
        // clear); lfence orders it; no memory is touched.
        unsafe {
            core::arch::asm!("lfence", "rdtsc", "lfence", out("eax") low, out("edx") high, options(nomem, nostack, preserves_flags))
        };
        ((high as u64) << 32) | low as u64
    }
    #[cfg(not(target_os = "none"))]
    0
}

/// Runs `op` `iterations` times per batch, after one warm-up batch, and
/// returns the median per-iteration cost over [`BATCHES`] batches, in TSC
/// units (times 100, for two decimals).
pub fn measure(iterations: u64, mut op: impl FnMut()) -> u64 {
    for _ in 0..iterations {
        op();
    }
    let mut costs = [0u64; BATCHES];
    for cost in costs.iter_mut() {
        let start = tsc();
        for _ in 0..iterations {
            op();
        }
        *cost = (tsc() - start) * 100 / iterations;
    }
    costs.sort_unstable();
    costs[BATCHES / 2]
}

/// TSC units per timer tick (10 ms): turns TSC counts into time when
/// icount is off.
pub fn tsc_per_tick() -> u64 {
    let start_tick = libsys::get_ticks();
    while libsys::get_ticks() == start_tick {}
    let start = tsc();
    let first = libsys::get_ticks();
    while libsys::get_ticks() < first + 5 {}
    (tsc() - start) / 5
}

/// Prints `key=value` with two decimals from a value times 100.
pub fn report(key: &str, hundredths: u64) {
    libsys::println!("{key}={}.{:02}", hundredths / 100, hundredths % 100);
}
