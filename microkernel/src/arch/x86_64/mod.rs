//! x86_64: boot, CPU tables, entry paths, paging, timer, serial.
//!
//! `frame` and `selectors` are pure and also build on the host for tests;
//! everything else touches the hardware and exists only on the bare-metal
//! target.

pub mod frame;
pub mod selectors;

#[cfg(target_os = "none")]
mod boot;
#[cfg(target_os = "none")]
mod contexts;
#[cfg(target_os = "none")]
mod cpu;
#[cfg(target_os = "none")]
mod entry;
#[cfg(target_os = "none")]
mod gdt;
#[cfg(target_os = "none")]
mod idt;
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
mod timer;
#[cfg(target_os = "none")]
mod trap;
#[cfg(target_os = "none")]
mod usercopy;

pub use frame::TrapFrame;

#[cfg(target_os = "none")]
pub use self::{
    contexts::{Switch, frame, frame_pointer, frames_pair, idle_frame, switch_to, switch_to_kernel},
    entry::resume,
    paging::{AddressSpace, FrameSource, MapError, PageFlags, init_kernel_space, phys_to_virt},
    pvh::BootInfo,
    qemu::exit,
    serial::write_bytes as serial_write,
    timer::{HZ as TIMER_HZ, init as init_timer},
    trap::Event,
    usercopy::copy as user_copy,
};

/// The time-stamp counter (guest instructions under `-icount shift=0`).
#[cfg(target_os = "none")]
pub fn timestamp() -> u64 {
    // SAFETY: rdtsc reads a counter; CR4.TSD is clear so it is allowed.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Writes bytes to the trace channel (QEMU's debug console port).
#[cfg(target_os = "none")]
pub fn trace_write(bytes: &[u8]) {
    // SAFETY: `rep outsb` reads `bytes` (valid for its length) and writes an
    // I/O port that only the debug console device decodes.
    unsafe {
        core::arch::asm!(
            "rep outsb",
            in("dx") abi::trace::TRACE_PORT,
            inout("rsi") bytes.as_ptr() => _,
            inout("rcx") bytes.len() => _,
            options(nostack, preserves_flags, readonly)
        )
    }
}

/// Physical address of the active PML4.
#[cfg(target_os = "none")]
pub fn active_root() -> u64 {
    paging::active_root()
}

/// Stops this CPU for good.
#[cfg(target_os = "none")]
pub fn halt_forever() -> ! {
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}

/// Brings up this CPU and hands over to the generic kernel.
#[cfg(target_os = "none")]
fn start(start_info: u64) -> ! {
    serial::init();
    let boot = match pvh::read(start_info) {
        Ok(boot) => boot,
        Err(error) => {
            crate::error!("boot: unusable PVH start info: {error}");
            qemu::exit(abi::machine::EXIT_BAD_IMAGE)
        }
    };
    crate::log::configure(&boot.cmdline);

    let cpu = percpu::cpu0();
    // SAFETY: this is CPU 0's block and GS does not point at it yet.
    unsafe {
        gdt::load(cpu);
        (*cpu).self_pointer = cpu as u64;
        (*cpu).cpu_id = 0;
    }
    idt::load();
    let features = cpu::init_control_registers();
    let msrs = cpu::init_syscall_msrs(cpu, features.nx);
    // SAFETY: GS now points at the block; the flag is read by entry stubs.
    // Only the console's serial port is ever opened in the I/O bitmap.
    unsafe {
        (*cpu).smap_enabled = features.smap as u64;
        (*cpu).tss.allow_ports(serial::COM1, serial::COM1_PORTS);
    }
    crate::info!(
        "cpu: NX {} SMEP {} SMAP {} UMIP {}",
        on_off(features.nx),
        on_off(features.smep),
        on_off(features.smap),
        on_off(features.umip)
    );
    crate::info!(
        "cpu: EFER {:#x} STAR {:#018x} LSTAR {:#x} FMASK {:#x}",
        msrs.efer,
        msrs.star,
        msrs.lstar,
        msrs.fmask
    );
    crate::startup::main(boot)
}

#[cfg(target_os = "none")]
fn on_off(value: bool) -> &'static str {
    if value { "on" } else { "off" }
}
