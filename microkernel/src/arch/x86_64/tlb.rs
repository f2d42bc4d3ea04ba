//! TLB shootdowns: making every other CPU that runs an address space
//! forget some of its pages, or leave it before it is freed.
//!
//! The sender interrupts each such CPU ([`SHOOTDOWN_VECTOR`]) and waits
//! until each has done it. Only the holder of the kernel lock sends
//! shootdowns, so one request slot is enough; a CPU waiting for the lock
//! has interrupts off and serves the request from its spin loop instead
//! ([`serve_shootdown`]).

use super::idt::SHOOTDOWN_VECTOR;
use super::{cpus, layout, percpu, timer};
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use kernel_core::config::MAX_CPUS;

/// The one shootdown request: which address space, which pages (all when
/// `pages` is 0), and whether to leave the space (it is being freed).
struct Request {
    root: AtomicU64,
    start: AtomicU64,
    pages: AtomicU64,
    leave: AtomicBool,
}

static REQUEST: Request = Request {
    root: AtomicU64::new(0),
    start: AtomicU64::new(0),
    pages: AtomicU64::new(0),
    leave: AtomicBool::new(false),
};
/// CPUs that have still to serve the request, one bit each.
static PENDING: AtomicU32 = AtomicU32::new(0);

/// Makes every other CPU that has `root` in CR3 forget `pages` pages from
/// `start` (0 pages: all of them), or leave the address space if `leave`,
/// and waits until each has. Called with the kernel lock held.
pub fn shootdown(root: u64, start: u64, pages: u64, leave: bool) {
    let me = percpu::cpu_id() as usize;
    let online = cpus::online();
    let mut targets = 0;
    for cpu in (0..MAX_CPUS).filter(|&cpu| cpu != me && online & (1 << cpu) != 0) {
        if percpu::active_root_of(cpu) == root {
            targets |= 1 << cpu;
        }
    }
    if targets == 0 {
        return;
    }
    REQUEST.root.store(root, Ordering::Relaxed);
    REQUEST.start.store(start, Ordering::Relaxed);
    REQUEST.pages.store(pages, Ordering::Relaxed);
    REQUEST.leave.store(leave, Ordering::Relaxed);
    PENDING.store(targets, Ordering::Release);
    for cpu in 0..MAX_CPUS {
        if targets & (1 << cpu) != 0 {
            timer::send_ipi(cpus::apic_id(cpu), timer::ICR_FIXED | u32::from(SHOOTDOWN_VECTOR));
        }
    }
    while PENDING.load(Ordering::Acquire) != 0 {
        core::hint::spin_loop();
    }
}

/// Serves a shootdown request aimed at this CPU, if there is one. Returns
/// whether this CPU left the address space it ran (it must not return to
/// that space's user code).
pub fn serve_shootdown() -> bool {
    let me = 1u32 << percpu::cpu_id();
    if PENDING.load(Ordering::Acquire) & me == 0 {
        return false;
    }
    let root = REQUEST.root.load(Ordering::Relaxed);
    let mut left = false;
    if percpu::active_root() == root {
        if REQUEST.leave.load(Ordering::Relaxed) {
            layout::load_kernel_root();
            percpu::set_active_root(layout::kernel_root());
            left = true;
        } else {
            let (start, pages) = (
                REQUEST.start.load(Ordering::Relaxed),
                REQUEST.pages.load(Ordering::Relaxed),
            );
            if pages == 0 || pages > 32 {
                // SAFETY: reloading CR3 with the same root flushes this CPU's
                // non-global TLB entries and changes nothing else.
                unsafe {
                    core::arch::asm!("mov {0}, cr3", "mov cr3, {0}", out(reg) _, options(nostack, preserves_flags))
                };
            } else {
                for page in 0..pages {
                    x86_64::instructions::tlb::flush(x86_64::VirtAddr::new_truncate(start + page * 4096));
                }
            }
        }
    }
    PENDING.fetch_and(!me, Ordering::AcqRel);
    left
}
