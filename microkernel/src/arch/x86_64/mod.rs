//! x86_64: boot, CPU tables, entry paths, paging, timer, serial.
//!
//! This file only routes. `gdt` is pure and also builds on the host for its
//! tests; everything else touches the hardware and exists only on the
//! bare-metal target. The generic kernel reaches the machine through
//! [`X86`], its `kernel_core::machine::Machine`; the entry stubs reach the
//! kernel through the upcalls declared in `upcalls`.

pub mod gdt;

#[cfg(target_os = "none")]
mod boot;
#[cfg(target_os = "none")]
mod cpu;
#[cfg(target_os = "none")]
mod cpus;
#[cfg(target_os = "none")]
mod entry;
#[cfg(target_os = "none")]
mod idt;
#[cfg(target_os = "none")]
mod inject;
#[cfg(target_os = "none")]
mod ioapic;
#[cfg(target_os = "none")]
mod layout;
#[cfg(target_os = "none")]
mod log;
#[cfg(target_os = "none")]
mod machine;
#[cfg(target_os = "none")]
mod paging;
#[cfg(target_os = "none")]
mod percpu;
#[cfg(target_os = "none")]
mod pvh;
#[cfg(target_os = "none")]
mod qemu;
#[cfg(target_os = "none")]
mod serial;
#[cfg(target_os = "none")]
mod setup;
#[cfg(target_os = "none")]
mod smp;
#[cfg(target_os = "none")]
mod timer;
#[cfg(target_os = "none")]
mod tlb;
#[cfg(target_os = "none")]
mod trap;
#[cfg(target_os = "none")]
mod tss;
#[cfg(target_os = "none")]
mod upcalls;
#[cfg(target_os = "none")]
mod usercopy;

#[cfg(target_os = "none")]
pub use self::{
    entry::resume,
    inject::{InjectedFault, inject_fault, user_copy_faults},
    ioapic::init as init_ioapic,
    layout::phys_to_virt,
    log::force_unlock_log,
    machine::{X86, idle_frame},
    paging::init_kernel_space,
    percpu::{cpu_id_in_kernel as cpu_id_raw, ipc_prefers_lock},
    pvh::BootInfo,
    qemu::exit,
    setup::halt_forever,
    smp::{release_others as release_other_cpus, start_cpus},
    timer::{HZ as TIMER_HZ, init as init_timer},
    tlb::serve_shootdown as serve_shootdown_raw,
};

/// This CPU's number (read through GS).
#[cfg(target_os = "none")]
#[inline(always)]
pub fn cpu_id() -> usize {
    cpu_id_raw() as usize
}

/// Serves a TLB shootdown aimed at this CPU, if one waits.
#[cfg(target_os = "none")]
#[inline(always)]
pub fn serve_shootdown() {
    serve_shootdown_raw();
}
