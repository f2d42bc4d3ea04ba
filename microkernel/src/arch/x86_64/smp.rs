//! Other CPUs: bringing them up, and asking them to pick again.
//!
//! Bring-up: the boot CPU copies the real-mode trampoline (`boot.rs`) to a
//! page below 1 MiB and wakes each CPU the MADT lists with INIT, then
//! STARTUP twice, one at a time: it leaves the CPU's number and stack at
//! the end of the page and waits until the CPU says it is up.
//!
//! A *kick* ([`RESCHEDULE_VECTOR`]) makes a CPU enter the kernel and pick
//! again (TLB shootdowns are `tlb`'s).

use super::idt::RESCHEDULE_VECTOR;
use super::layout::{self, phys_to_virt};
use super::{cpus, timer};
use core::sync::atomic::{AtomicBool, Ordering};
use kernel_core::config::MAX_CPUS;
/// Set by a CPU on its way up once it runs on its own tables.
static ALIVE: AtomicBool = AtomicBool::new(false);
/// The boot CPU lets the others schedule once the first programs exist.
static GO: AtomicBool = AtomicBool::new(false);

/// Records the boot CPU's APIC id.
pub fn init_boot_cpu(apic_id: u32) {
    cpus::set_apic_id(0, apic_id);
}

/// Finds the CPUs in the firmware's ACPI tables (the RSDP at `rsdp`, or
/// found by a scan) and starts them, at most `limit` in all. Returns how
/// many run, the boot CPU included.
pub fn start_cpus(rsdp: u64, limit: usize, tsc_hz: u64) -> Result<usize, kernel_core::acpi::AcpiError> {
    let mut read = |address: u64, out: &mut [u8]| {
        // SAFETY: firmware tables lie in the first 4 GiB, all of which the
        // direct map covers; they are only read.
        unsafe { core::ptr::copy_nonoverlapping(phys_to_virt(address) as *const u8, out.as_mut_ptr(), out.len()) }
    };
    let cpus = kernel_core::acpi::find_cpus(rsdp, &mut read)?;
    let ids: heapless::Vec<u32, { kernel_core::acpi::MAX_APICS }> = cpus.iter().map(|c| c.apic_id).collect();
    let boot = cpus::apic_id(0);
    Ok(start_others(&ids, boot, limit, tsc_hz))
}

/// Starts every CPU of `apic_ids` but the boot CPU (`boot_apic`), up to
/// `MAX_CPUS` in all, and `limit` (the `smp=` command-line cap) if it is
/// lower. Returns how many run now, the boot CPU included.
pub fn start_others(apic_ids: &[u32], boot_apic: u32, limit: usize, tsc_hz: u64) -> usize {
    let trampoline = layout::trampoline();
    let page = phys_to_virt(layout::TRAMPOLINE) as *mut u8;
    // SAFETY: the trampoline page lies in low memory the frame allocator
    // never hands out, mapped by the direct map; nothing else uses it.
    unsafe { core::ptr::copy_nonoverlapping(trampoline.as_ptr(), page, trampoline.len()) };
    let mut count = 1;
    for &apic_id in apic_ids.iter().filter(|&&id| id != boot_apic) {
        if count >= MAX_CPUS.min(limit.max(1)) {
            break;
        }
        let index = count;
        let (stacks, _) = layout::ap_stacks_of(index);
        // SAFETY: the two words at the end of the trampoline page belong to
        // the CPU being started, which is not running yet.
        unsafe {
            let slots = page.add(layout::TRAMPOLINE_STACK as usize) as *mut u64;
            slots.write_volatile(stacks.kernel);
            slots.add(1).write_volatile(index as u64);
        }
        ALIVE.store(false, Ordering::Release);
        cpus::set_apic_id(index, apic_id);
        timer::send_ipi(apic_id, timer::ICR_INIT | timer::ICR_ASSERT);
        timer::delay(200, tsc_hz);
        let vector = (layout::TRAMPOLINE >> 12) as u32;
        for _ in 0..2 {
            timer::send_ipi(apic_id, timer::ICR_STARTUP | timer::ICR_ASSERT | vector);
            timer::delay(200, tsc_hz);
        }
        // Up to about a second for the CPU to say it is up.
        let mut waited = 0;
        while !ALIVE.load(Ordering::Acquire) && waited < 1_000_000 {
            timer::delay(1, tsc_hz);
            waited += 1;
        }
        if !ALIVE.load(Ordering::Acquire) {
            cpus::set_apic_id(index, u32::MAX);
            kernel_core::warn!("smp: CPU with APIC id {apic_id} did not come up");
            continue;
        }
        cpus::set_online(index);
        count += 1;
    }
    count
}

/// A CPU on its way up says it runs on its own tables and stacks.
pub fn say_alive() {
    ALIVE.store(true, Ordering::Release);
}

/// Lets the other CPUs schedule.
pub fn release_others() {
    GO.store(true, Ordering::Release);
}

/// Waits until the boot CPU lets this one schedule.
pub fn wait_for_go() {
    while !GO.load(Ordering::Acquire) {
        core::hint::spin_loop();
    }
}

/// Asks the CPUs of `cpus` to enter the kernel and pick again.
pub fn kick(cpus: u8) {
    for cpu in 0..MAX_CPUS {
        if cpus & (1 << cpu) != 0 {
            let apic_id = cpus::apic_id(cpu);
            if apic_id != u32::MAX {
                timer::send_ipi(apic_id, timer::ICR_FIXED | u32::from(RESCHEDULE_VECTOR));
            }
        }
    }
}
