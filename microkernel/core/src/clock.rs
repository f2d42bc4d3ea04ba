//! The time page (`abi::time`): one frame the kernel fills at boot with the
//! clock's rates, maps read-only into every process, and updates at every
//! tick, so that programs read the time without a syscall.

use crate::kernel::Kernel;
use crate::machine::Machine;
use abi::Error;
use abi::time::offset;

/// What the machine measured at boot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rates {
    /// Timer ticks per second.
    pub tick_hz: u64,
    /// TSC counts per second; 0 when the TSC cannot serve as a clock.
    pub tsc_hz: u64,
    /// The TSC when the tick count was 0.
    pub tsc_at_boot: u64,
    /// The machine's timestamp (`Machine::timestamp`) per tick: the unit
    /// CPU time is charged in.
    pub clock_per_tick: u64,
}

/// Makes the time page, and sets the length of a tick for CPU accounting.
/// Call it before the first process starts: processes started earlier do
/// not map it.
pub fn make_time_page<M: Machine>(k: &mut Kernel<M>, rates: Rates) -> Result<(), Error> {
    let frame = k.frames.alloc().ok_or(Error::NOMEM)?;
    // SAFETY: the frame was just allocated, so the kernel owns it and no
    // address space maps it yet.
    unsafe { k.machine.zero_frame(frame) };
    let now = k.now();
    for (at, value) in [
        (offset::TICKS, now),
        (offset::TICK_HZ, rates.tick_hz),
        (offset::TSC_HZ, rates.tsc_hz),
        (offset::TSC_AT_BOOT, rates.tsc_at_boot),
    ] {
        k.machine.store_word(frame, at, value);
    }
    k.time_page = Some(frame);
    k.clock_per_tick = rates.clock_per_tick.max(1);
    k.sched.set_tick_length(k.clock_per_tick);
    Ok(())
}
