//! Time without syscalls: the kernel's time page (`abi::time`), mapped
//! read-only at the same address in every process.
//!
//! [`Instant::now`] reads the TSC where the kernel found it usable (one
//! `rdtsc`, no kernel entry) and the tick count otherwise. [`sleep`] blocks
//! in the kernel until a timeout; it never spins.

use crate::Result;
use abi::time::{TIME_PAGE, offset};
use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;

/// One field of the time page.
#[inline(always)]
fn field(at: usize) -> u64 {
    #[cfg(target_os = "none")]
    {
        // SAFETY: the kernel maps the time page read-only at `TIME_PAGE` in
        // every process before it starts; each field is an aligned u64 the
        // kernel writes whole.
        unsafe { core::ptr::read_volatile((TIME_PAGE as usize + at) as *const u64) }
    }
    #[cfg(not(target_os = "none"))]
    {
        let _ = (TIME_PAGE, at);
        panic!("the time page exists only under the microkernel")
    }
}

/// Timer ticks since boot, from the time page (the same as `get_ticks`,
/// without the syscall).
#[inline(always)]
pub fn ticks() -> u64 {
    field(offset::TICKS)
}

/// Timer ticks per second.
pub fn tick_hz() -> u64 {
    field(offset::TICK_HZ)
}

/// TSC counts per second, or 0 when the clock runs on ticks.
pub fn tsc_hz() -> u64 {
    field(offset::TSC_HZ)
}

#[inline(always)]
fn rdtsc() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: `rdtsc` only reads the time-stamp counter.
        unsafe { core::arch::x86_64::_rdtsc() }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        0
    }
}

/// A moment, for measuring how long something took.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    /// Now: the TSC (or the tick count where the TSC is not usable).
    #[inline(always)]
    pub fn now() -> Instant {
        if field(offset::TSC_HZ) != 0 {
            Instant(rdtsc())
        } else {
            Instant(ticks())
        }
    }

    /// The raw count (TSC counts or ticks).
    pub fn raw(self) -> u64 {
        self.0
    }

    /// How long after `earlier` this is (zero if it is not later).
    pub fn duration_since(self, earlier: Instant) -> Duration {
        let counts = self.0.saturating_sub(earlier.0);
        let hz = match tsc_hz() {
            0 => tick_hz().max(1),
            hz => hz,
        };
        let nanos = u128::from(counts) * 1_000_000_000 / u128::from(hz);
        Duration::from_nanos(nanos.min(u128::from(u64::MAX)) as u64)
    }

    /// How long ago this was.
    pub fn elapsed(self) -> Duration {
        Instant::now().duration_since(self)
    }
}

/// The notification `sleep` waits on (nobody signals it); `u64::MAX` until
/// the first sleep makes it.
static SLEEPER: AtomicU64 = AtomicU64::new(u64::MAX);

/// Ticks of at least `duration` (rounded up; at least one for a non-zero
/// duration).
pub fn ticks_for(duration: Duration) -> u64 {
    let hz = u128::from(tick_hz().max(1));
    let ticks = (duration.as_nanos() * hz).div_ceil(1_000_000_000);
    ticks.min(u128::from(u64::MAX)) as u64
}

/// Blocks for at least `duration`, and at most about one timer tick more.
/// The thread waits in the kernel on a notification nobody signals, with a
/// timeout; it uses one handle, made at the first sleep.
///
/// A timeout of `n` ticks ends at the `n`-th tick after the call, which
/// comes after `n - 1` whole tick periods and whatever was left of the
/// current one: so the wait is one tick longer than the whole ticks that
/// `duration` spans ([`ticks_for`]).
pub fn sleep(duration: Duration) -> Result<()> {
    let ticks = ticks_for(duration);
    if ticks == 0 {
        return Ok(());
    }
    let ticks = ticks.saturating_add(1);
    let mut handle = SLEEPER.load(Ordering::Relaxed);
    if handle == u64::MAX {
        handle = crate::sys::notify_create()?;
        SLEEPER.store(handle, Ordering::Relaxed);
    }
    match crate::sys::notify_wait(handle, ticks, 0) {
        Err(abi::Error::TIMEDOUT) | Ok(_) => Ok(()),
        Err(error) => Err(error),
    }
}
