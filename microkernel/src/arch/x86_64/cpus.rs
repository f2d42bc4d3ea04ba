//! Which CPUs are up, and their local APIC ids: what inter-processor
//! interrupts need.

use core::sync::atomic::{AtomicU32, Ordering};
use kernel_core::config::MAX_CPUS;

/// Each CPU's local APIC id, by CPU number (`u32::MAX`: no such CPU).
static APIC_IDS: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(u32::MAX) }; MAX_CPUS];
/// CPUs that are up, one bit each.
static ONLINE: AtomicU32 = AtomicU32::new(1);

/// Records that CPU `cpu` has local APIC id `apic_id` (`u32::MAX`: forget
/// it).
pub fn set_apic_id(cpu: usize, apic_id: u32) {
    APIC_IDS[cpu].store(apic_id, Ordering::Relaxed);
}

/// The local APIC id of CPU `cpu` (`u32::MAX` if there is none).
pub fn apic_id(cpu: usize) -> u32 {
    APIC_IDS[cpu].load(Ordering::Relaxed)
}

/// CPU `cpu` is up.
pub fn set_online(cpu: usize) {
    ONLINE.fetch_or(1 << cpu, Ordering::AcqRel);
}

/// CPUs that are up, one bit each.
pub fn online() -> u32 {
    ONLINE.load(Ordering::Acquire)
}
