//! The preemption timer: the local APIC timer in periodic mode. Its rate
//! and the TSC's come from CPUID where it gives them (leaf 0x15, or the
//! hypervisor's leaf 0x40000010), and are otherwise measured against PIT
//! channel 0 for as long as it takes to know them within 0.1 % (see
//! `kernel_core::calibrate`; under QEMU's icount about 85 microseconds,
//! where the fixed 10 ms window it replaced cost 10 million instructions).
//! `-M microvm` has no port 0x61, so the PIT's gate trick is out; its
//! latched count is read instead.

use super::idt::{SPURIOUS_VECTOR, TIMER_VECTOR};
use super::layout::phys_to_virt;
use core::arch::x86_64::__cpuid;
use core::sync::atomic::{AtomicU64, Ordering};
use kernel_core::calibrate::{self, CpuidLeaves, Measured, PitCalibrator, Sample, Source, Step};
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
const DIVIDE_BY_1: u32 = 0xb;

const PIT_CHANNEL0: u16 = 0x40;
const PIT_COMMAND: u16 = 0x43;
/// Channel 0, lobyte/hibyte, mode 2 (rate generator): counts down from the
/// reload value and starts again, for ever.
const PIT_MODE_2: u8 = 0b0011_0100;
/// Channel 0, lobyte/hibyte, mode 0 (interrupt on terminal count): counts
/// down once.
const PIT_MODE_0: u8 = 0b0011_0000;
/// Channel 0, latch the count.
const PIT_LATCH: u8 = 0b0000_0000;
/// PIT reads before the calibration proper.
const WARM_UP_SAMPLES: u32 = 32;
/// PIT reads after which a calibration gives up.
const MAX_SAMPLES: u64 = 20_000_000;
/// TSC counts without a change of the PIT's count after which it is taken
/// for absent (50 ms at 1 GHz).
const PIT_DEAD_TSC: u64 = 50_000_000;
/// The APIC timer is measured against a known TSC over this long.
const APIC_AGAINST_TSC_US: u64 = 100;

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

/// The CPUID leaves that describe the clocks.
fn cpuid_leaves() -> CpuidLeaves {
    let zero = __cpuid(0);
    let max_basic = zero.eax;
    let intel = (zero.ebx, zero.edx, zero.ecx) == (0x756e_6547, 0x4965_6e69, 0x6c65_746e);
    let leaf_15 = if max_basic >= 0x15 {
        let leaf = __cpuid(0x15);
        [leaf.eax, leaf.ebx, leaf.ecx]
    } else {
        [0; 3]
    };
    let leaf_16_eax = if max_basic >= 0x16 { __cpuid(0x16).eax } else { 0 };
    // CPUID.1:ECX bit 31: a hypervisor is present and lists its leaves.
    let hypervisor = max_basic >= 1 && __cpuid(1).ecx & (1 << 31) != 0;
    let hypervisor_khz = (hypervisor && __cpuid(0x4000_0000).eax >= 0x4000_0010).then(|| {
        let leaf = __cpuid(0x4000_0010);
        [leaf.eax, leaf.ebx]
    });
    CpuidLeaves {
        max_basic,
        intel,
        leaf_15,
        leaf_16_eax,
        hypervisor_khz,
    }
}

/// Latches channel 0's count.
fn pit_latch() {
    pit_out8(PIT_COMMAND, PIT_LATCH);
}

/// Reads the count latched by [`pit_latch`].
fn pit_latched() -> u16 {
    let low = pit_in8(PIT_CHANNEL0);
    let high = pit_in8(PIT_CHANNEL0);
    u16::from_le_bytes([low, high])
}

/// Stops channel 0 counting round (mode 0 with a count of 1: it runs out
/// once, at once, and then stays quiet).
fn pit_stop() {
    pit_out8(PIT_COMMAND, PIT_MODE_0);
    pit_out8(PIT_CHANNEL0, 1);
    pit_out8(PIT_CHANNEL0, 0);
}

/// Measures the TSC and the APIC timer (divide by 1) against PIT channel 0;
/// `None` if the PIT's count never moves.
fn calibrate_pit() -> Option<Measured> {
    // Reload 0: 65536 counts a turn, 54.9 ms.
    pit_out8(PIT_COMMAND, PIT_MODE_2);
    pit_out8(PIT_CHANNEL0, 0);
    pit_out8(PIT_CHANNEL0, 0);
    apic_write(REG_DIVIDE, DIVIDE_BY_1);
    apic_write(REG_LVT_TIMER, LVT_MASKED);
    apic_write(REG_INITIAL_COUNT, u32::MAX);
    let mut calibrator = PitCalibrator::new();
    let sample = || {
        let before = rdtsc();
        pit_latch();
        let latched = rdtsc();
        let count = pit_latched();
        let apic = apic_read(REG_CURRENT_COUNT);
        let after = rdtsc();
        Sample {
            before,
            latched,
            count,
            apic,
            after,
        }
    };
    // A few reads first, through a calibrator of their own, so that the
    // loop's first run (which TCG translates) is not part of a bracket.
    let mut warm_up = PitCalibrator::new();
    for _ in 0..WARM_UP_SAMPLES {
        warm_up.push(sample());
    }
    let first = sample();
    let mut last = (first.count, first.after);
    let mut result = None;
    for _ in 0..MAX_SAMPLES {
        let sample = sample();
        if sample.count != last.0 {
            last = (sample.count, sample.after);
        } else if sample.after - last.1 > PIT_DEAD_TSC {
            break;
        }
        if let Step::Done(measured) = calibrator.push(sample) {
            result = Some(measured);
            break;
        }
    }
    apic_write(REG_INITIAL_COUNT, 0);
    pit_stop();
    result
}

/// Measures the APIC timer (divide by 1) against the TSC running at
/// `tsc_hz`.
fn apic_against_tsc(tsc_hz: u64) -> Option<u64> {
    apic_write(REG_DIVIDE, DIVIDE_BY_1);
    apic_write(REG_LVT_TIMER, LVT_MASKED);
    apic_write(REG_INITIAL_COUNT, u32::MAX);
    let tsc_start = rdtsc();
    let apic_start = apic_read(REG_CURRENT_COUNT);
    let end = tsc_start + tsc_hz / 1_000_000 * APIC_AGAINST_TSC_US;
    while rdtsc() < end {
        core::hint::spin_loop();
    }
    let tsc_end = rdtsc();
    let apic_end = apic_read(REG_CURRENT_COUNT);
    apic_write(REG_INITIAL_COUNT, 0);
    calibrate::apic_hz_from_tsc(apic_start, apic_end, tsc_end - tsc_start, tsc_hz)
}

/// What [`init`] found.
#[derive(Clone, Copy, Debug)]
pub struct Calibration {
    /// APIC timer counts per tick (divide by 16).
    pub per_tick: u32,
    /// Where the rates came from.
    pub source: Source,
    /// TSC counts per second; 0 when nothing gave a reference.
    pub tsc_hz: u64,
    /// The PIT measurement, when the rates came from it.
    pub measured: Option<Measured>,
    /// The TSC when the periodic timer started: tick 0.
    pub tsc_at_start: u64,
}

/// The rates of the TSC and the APIC timer (divide by 1), and where they
/// came from.
fn rates() -> (u64, u64, Source, Option<Measured>) {
    let clocks = calibrate::from_cpuid(&cpuid_leaves());
    match (clocks.tsc_hz, clocks.apic_hz) {
        (Some(tsc_hz), Some(apic_hz)) => {
            let source = if clocks.hypervisor {
                Source::Hypervisor
            } else {
                Source::Cpuid
            };
            (tsc_hz, apic_hz, source, None)
        }
        (Some(tsc_hz), None) => match apic_against_tsc(tsc_hz) {
            Some(apic_hz) => (tsc_hz, apic_hz, Source::CpuidTsc, None),
            None => (tsc_hz, 1_000_000_000, Source::CpuidTsc, None),
        },
        _ => match calibrate_pit() {
            Some(measured) if measured.apic_hz > 0 => (measured.tsc_hz, measured.apic_hz, Source::Pit, Some(measured)),
            // QEMU's APIC runs at 1 GHz.
            _ => (0, 1_000_000_000, Source::Assumed, None),
        },
    }
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
    let (tsc_hz, apic_hz, source, measured) = rates();
    let per_tick = (apic_hz / 16 / HZ).clamp(1, u64::from(u32::MAX)) as u32;
    PER_TICK.store(u64::from(per_tick), Ordering::Relaxed);
    apic_write(REG_DIVIDE, DIVIDE_BY_16);
    apic_write(REG_LVT_TIMER, LVT_PERIODIC | TIMER_VECTOR as u32);
    let tsc_at_start = rdtsc();
    apic_write(REG_INITIAL_COUNT, per_tick);
    Calibration {
        per_tick,
        source,
        tsc_hz,
        measured,
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

/// Keeps a timer deadline every 10 microseconds (PIT channel 0 in mode 2,
/// its interrupt line masked everywhere) until [`stop_pacing`], while
/// other CPUs come up. Under QEMU's icount (7.2, one thread running the
/// CPUs in turn) a CPU woken by INIT and STARTUP only ran once the virtual
/// clock reached the next timer deadline, to which the clock then jumped:
/// with the 10 ms tick as the next deadline, bringing up one CPU cost 10
/// million instructions; with this pacing, about 12 thousand. On other
/// machines it changes nothing: nothing listens to the PIT.
pub fn pace() {
    pit_out8(PIT_COMMAND, PIT_MODE_2);
    // 12 counts of 1.193182 MHz: 10 microseconds.
    pit_out8(PIT_CHANNEL0, 12);
    pit_out8(PIT_CHANNEL0, 0);
}

/// Ends [`pace`].
pub fn stop_pacing() {
    pit_stop();
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
