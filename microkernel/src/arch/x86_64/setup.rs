//! Bringing up the boot CPU, then handing over to the kernel.

use super::{cpu, entry, idt, log, percpu, pvh, qemu, serial, upcalls};

/// Brings up this CPU and hands over to the generic kernel: the serial port,
/// the boot information, the GDT, TSS and IDT, the control registers, the
/// syscall MSRs and GS.
pub fn start(start_info: u64) -> ! {
    serial::init();
    let boot = match pvh::read(start_info) {
        Ok(boot) => boot,
        Err(error) => {
            kernel_core::error!("boot: unusable PVH start info: {error}");
            qemu::exit(abi::machine::EXIT_BAD_IMAGE)
        }
    };
    log::init_log(&boot.cmdline);

    let cpu = percpu::init_cpu0();
    idt::load();
    let features = cpu::init_control_registers();
    let msrs = cpu::init_syscall_msrs(cpu as u64, entry::syscall_entry as *const () as u64, features.nx);
    percpu::set_smap(features.smap);
    // Only the console's serial port is ever opened in the I/O bitmap.
    percpu::allow_ports(serial::COM1, serial::COM1_PORTS);
    kernel_core::info!(
        "cpu {}: NX {} SMEP {} SMAP {} UMIP {}",
        percpu::cpu_id(),
        on_off(features.nx),
        on_off(features.smep),
        on_off(features.smap),
        on_off(features.umip)
    );
    kernel_core::info!(
        "cpu: EFER {:#x} STAR {:#018x} LSTAR {:#x} FMASK {:#x}",
        msrs.efer,
        msrs.star,
        msrs.lstar,
        msrs.fmask
    );
    // SAFETY: the kernel defines the upcall; this CPU is set up as it
    // expects.
    unsafe { upcalls::kernel_main(boot) }
}

fn on_off(value: bool) -> &'static str {
    if value { "on" } else { "off" }
}

/// Stops this CPU for good.
pub fn halt_forever() -> ! {
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}
