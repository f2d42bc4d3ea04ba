//! The time page: one read-only page the kernel maps at [`TIME_PAGE`] in
//! every process, from which a program computes the time without a
//! syscall.
//!
//! The kernel stores the tick count at every timer tick. Where the TSC is
//! usable (the kernel measured its rate at boot) `tsc_hz` is non-zero and
//! `tsc_at_boot` is its value when the tick count was 0, so
//! `(rdtsc - tsc_at_boot) / tsc_hz` seconds have passed since boot: a clock
//! read is one `rdtsc` and no kernel entry.

/// Where the page lies in every address space: just below
/// [`crate::USER_BASE`], outside the range `mem_map` hands out.
pub const TIME_PAGE: u64 = crate::USER_BASE - crate::PAGE_SIZE;

/// Byte offsets of the page's fields. Each is a little-endian `u64` the
/// program reads with one aligned load.
pub mod offset {
    /// Timer ticks since boot (the same count as `get_ticks`).
    pub const TICKS: usize = 0;
    /// Timer ticks per second.
    pub const TICK_HZ: usize = 8;
    /// TSC counts per second; 0 when the TSC is not usable as a clock.
    pub const TSC_HZ: usize = 16;
    /// The TSC at boot, when the tick count started.
    pub const TSC_AT_BOOT: usize = 24;
}

/// The page's fields, as the kernel writes them.
#[repr(C)]
#[derive(Debug, Default)]
pub struct TimePage {
    /// Timer ticks since boot.
    pub ticks: u64,
    /// Timer ticks per second.
    pub tick_hz: u64,
    /// TSC counts per second; 0 when the TSC is not usable as a clock.
    pub tsc_hz: u64,
    /// The TSC at boot.
    pub tsc_at_boot: u64,
}

const _: () = assert!(core::mem::offset_of!(TimePage, ticks) == offset::TICKS);
const _: () = assert!(core::mem::offset_of!(TimePage, tick_hz) == offset::TICK_HZ);
const _: () = assert!(core::mem::offset_of!(TimePage, tsc_hz) == offset::TSC_HZ);
const _: () = assert!(core::mem::offset_of!(TimePage, tsc_at_boot) == offset::TSC_AT_BOOT);
const _: () = assert!(TIME_PAGE.is_multiple_of(crate::PAGE_SIZE));
