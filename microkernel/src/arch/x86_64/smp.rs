//! Other CPUs: bringing them up, and asking them to pick again.

/// Asks the CPUs of `cpus` to enter the kernel and pick again.
pub fn kick(cpus: u8) {
    // Only the boot CPU runs threads yet.
    let _ = cpus;
}
