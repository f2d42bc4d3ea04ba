//! The preemption timer: the local APIC timer in periodic mode, calibrated
//! against PIT channel 0 (`-M microvm` has no port 0x61, so the PIT's gate
//! trick is out; its read-back status still tells when a count has run out).

use super::idt::{SPURIOUS_VECTOR, TIMER_VECTOR};
use super::layout::phys_to_virt;
use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::instructions::port::Port;
use x86_64::registers::model_specific::Msr;

/// Timer interrupts per second.
pub const HZ: u64 = 100;

const IA32_APIC_BASE: u32 = 0x1b;
const APIC_GLOBAL_ENABLE: u64 = 1 << 11;

const REG_EOI: u64 = 0xb0;
const REG_SPURIOUS: u64 = 0xf0;
const REG_LVT_TIMER: u64 = 0x320;
const REG_LVT_LINT1: u64 = 0x360;
/// LVT delivery mode NMI (edge-triggered, unmasked).
const LVT_DELIVERY_NMI: u32 = 0b100 << 8;
const REG_INITIAL_COUNT: u64 = 0x380;
const REG_CURRENT_COUNT: u64 = 0x390;
const REG_DIVIDE: u64 = 0x3e0;
const LVT_MASKED: u32 = 1 << 16;
const LVT_PERIODIC: u32 = 1 << 17;
const DIVIDE_BY_16: u32 = 0x3;

const PIT_HZ: u64 = 1_193_182;
const PIT_CHANNEL0: u16 = 0x40;
const PIT_COMMAND: u16 = 0x43;
/// Calibration window: 10 ms of PIT counts.
const CALIBRATION_COUNT: u16 = (PIT_HZ / 100) as u16;

/// The direct-map address of the local APIC's registers (every CPU's is at
/// the same address), set once at boot by [`init`] before any use.
static APIC_BASE: AtomicU64 = AtomicU64::new(0);
/// APIC timer counts per tick, measured by the boot CPU; the others use it.
static PER_TICK: AtomicU64 = AtomicU64::new(0);

const REG_ICR_LOW: u64 = 0x300;
const REG_ICR_HIGH: u64 = 0x310;
/// ICR: the interrupt is still being sent.
const ICR_PENDING: u32 = 1 << 12;
/// ICR delivery modes.
pub const ICR_FIXED: u32 = 0;
pub const ICR_INIT: u32 = 0b101 << 8;
pub const ICR_STARTUP: u32 = 0b110 << 8;
/// ICR: level assert (required for INIT and STARTUP).
pub const ICR_ASSERT: u32 = 1 << 14;

fn apic_read(register: u64) -> u32 {
    let base = APIC_BASE.load(Ordering::Relaxed);
    assert_ne!(base, 0, "the local APIC is used before init");
    // SAFETY: the base is the direct-map address of the local APIC page
    // (uncached in the kernel's tables), set before the timer is used.
    unsafe { core::ptr::read_volatile((base + register) as *const u32) }
}

fn apic_write(register: u64, value: u32) {
    let base = APIC_BASE.load(Ordering::Relaxed);
    assert_ne!(base, 0, "the local APIC is used before init");
    // SAFETY: as for `apic_read`; these registers only affect the local APIC.
    unsafe { core::ptr::write_volatile((base + register) as *mut u32, value) }
}

fn pit_out8(port: u16, value: u8) {
    // SAFETY: PIT ports; programming channel 0 affects only the PIT, whose
    // interrupt line is not routed anywhere (the PIC is masked).
    unsafe { Port::new(port).write(value) }
}

fn pit_in8(port: u16) -> u8 {
    // SAFETY: reading the PIT's latched status or count has no side effect
    // beyond the latch.
    unsafe { Port::new(port).read() }
}

/// Masks the legacy 8259 PICs so that only the APIC delivers interrupts.
fn mask_legacy_pic() {
    // SAFETY: writing the PIC data ports masks all of their lines; on
    // machines without a PIC the writes go nowhere.
    unsafe {
        Port::<u8>::new(0x21).write(0xff);
        Port::<u8>::new(0xa1).write(0xff);
    }
}

/// Reads the time-stamp counter.
fn rdtsc() -> u64 {
    // SAFETY: `rdtsc` reads a counter; CR4.TSD is clear, so it is allowed.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Counts APIC timer ticks (divide by 16) and TSC counts across 10 ms of
/// PIT time; `None` if the PIT never reported its terminal count.
fn calibrate() -> Option<(u32, u64)> {
    // Channel 0, lobyte/hibyte, mode 0 (interrupt on terminal count).
    pit_out8(PIT_COMMAND, 0b0011_0000);
    apic_write(REG_DIVIDE, DIVIDE_BY_16);
    apic_write(REG_LVT_TIMER, LVT_MASKED);
    apic_write(REG_INITIAL_COUNT, u32::MAX);
    let tsc_start = rdtsc();
    pit_out8(PIT_CHANNEL0, CALIBRATION_COUNT as u8);
    pit_out8(PIT_CHANNEL0, (CALIBRATION_COUNT >> 8) as u8);
    for _ in 0..50_000_000u64 {
        // Read-back: latch the status of channel 0; bit 7 is the OUT pin,
        // which mode 0 raises at terminal count.
        pit_out8(PIT_COMMAND, 0b1110_0010);
        if pit_in8(PIT_CHANNEL0) & 0x80 != 0 {
            let elapsed = u32::MAX - apic_read(REG_CURRENT_COUNT);
            let tsc = rdtsc() - tsc_start;
            apic_write(REG_INITIAL_COUNT, 0);
            return (elapsed > 0).then_some((elapsed, tsc));
        }
    }
    apic_write(REG_INITIAL_COUNT, 0);
    None
}

/// What [`init`] measured.
#[derive(Clone, Copy, Debug)]
pub struct Calibration {
    /// APIC timer counts per tick.
    pub per_tick: u32,
    /// Whether the counts came from calibration (else 1 GHz is assumed).
    pub calibrated: bool,
    /// TSC counts per second; 0 when the PIT gave no reference.
    pub tsc_hz: u64,
    /// The TSC when the periodic timer started: tick 0.
    pub tsc_at_start: u64,
}

/// Enables the local APIC and starts the periodic timer at [`HZ`].
pub fn init() -> Calibration {
    // SAFETY: IA32_APIC_BASE exists on every x86_64 CPU; setting the global
    // enable bit keeps the APIC at its current address.
    let base = unsafe {
        let mut msr = Msr::new(IA32_APIC_BASE);
        let value = msr.read() | APIC_GLOBAL_ENABLE;
        msr.write(value);
        value & 0x000f_ffff_ffff_f000
    };
    APIC_BASE.store(phys_to_virt(base), Ordering::Relaxed);
    mask_legacy_pic();
    apic_write(REG_SPURIOUS, 0x100 | SPURIOUS_VECTOR as u32);
    // LINT1 delivers an NMI: QEMU's monitor raises it when the host asks a
    // run that timed out for its threads (the kernel prints them and stops).
    apic_write(REG_LVT_LINT1, LVT_DELIVERY_NMI);
    let (per_10ms, calibrated, tsc_per_10ms) = match calibrate() {
        Some((count, tsc)) => (count, true, tsc),
        // QEMU's APIC runs at 1 GHz: 10 ms is 10^7 cycles, 625,000 after /16.
        None => (625_000, false, 0),
    };
    let per_tick = (per_10ms as u64 * 100 / HZ) as u32;
    PER_TICK.store(u64::from(per_tick), Ordering::Relaxed);
    apic_write(REG_DIVIDE, DIVIDE_BY_16);
    apic_write(REG_LVT_TIMER, LVT_PERIODIC | TIMER_VECTOR as u32);
    let tsc_at_start = rdtsc();
    apic_write(REG_INITIAL_COUNT, per_tick.max(1));
    Calibration {
        per_tick,
        calibrated,
        tsc_hz: tsc_per_10ms * 100,
        tsc_at_start,
    }
}

/// Enables this CPU's local APIC (another CPU's, after the boot CPU's
/// [`init`]) and starts its periodic timer at the rate the boot CPU
/// measured.
pub fn init_ap() {
    // SAFETY: as in `init`: the global enable bit keeps the APIC where the
    // boot CPU found it (every CPU's is at the same address).
    unsafe {
        let mut msr = Msr::new(IA32_APIC_BASE);
        let value = msr.read() | APIC_GLOBAL_ENABLE;
        msr.write(value);
    }
    apic_write(REG_SPURIOUS, 0x100 | SPURIOUS_VECTOR as u32);
    apic_write(REG_LVT_LINT1, LVT_DELIVERY_NMI);
    apic_write(REG_DIVIDE, DIVIDE_BY_16);
    apic_write(REG_LVT_TIMER, LVT_PERIODIC | TIMER_VECTOR as u32);
    apic_write(REG_INITIAL_COUNT, (PER_TICK.load(Ordering::Relaxed) as u32).max(1));
}

/// Sends an inter-processor interrupt: `command` (vector and delivery
/// mode) to the CPU whose local APIC id is `apic_id`. Waits until the APIC
/// has sent it.
pub fn send_ipi(apic_id: u32, command: u32) {
    apic_write(REG_ICR_HIGH, apic_id << 24);
    apic_write(REG_ICR_LOW, command);
    while apic_read(REG_ICR_LOW) & ICR_PENDING != 0 {
        core::hint::spin_loop();
    }
}

/// Spins for about `micros` microseconds, by the TSC at `tsc_hz`.
pub fn delay(micros: u64, tsc_hz: u64) {
    let hz = if tsc_hz == 0 { 1_000_000_000 } else { tsc_hz };
    let end = rdtsc() + hz / 1_000_000 * micros;
    while rdtsc() < end {
        core::hint::spin_loop();
    }
}

/// Signals end of interrupt to the local APIC.
pub fn acknowledge() {
    apic_write(REG_EOI, 0);
}
